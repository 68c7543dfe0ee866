package unionpay

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"im2pay/payment"
)

const fixtureMer = "777290058110097"

var fixtureDay = time.Date(2027, 3, 5, 0, 0, 0, 0, beijing)

// testdata/INN27030588ZM_777290058110097 is a ZM file written by a separate
// script from PROVIDERS.md §3.5's widths, in GBK with Chinese in 二级商户简称:
// a consumption (fee D 41), a partial refund (04) naming it by origQryId,
// with our order number in 商户自定义域 and a returned fee (C 12), and a
// consumption from 31 December (the year before the settlement day).
func TestParseZMFixtureGBK(t *testing.T) {
	data, err := os.ReadFile("testdata/INN27030588ZM_" + fixtureMer)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := ParseZM(data, fixtureMer, fixtureDay)
	if err != nil {
		t.Fatal(err)
	}
	want := []payment.BillLine{
		{Kind: payment.BillPayment, OutTradeNo: "UP0123456789abcdef", TradeNo: "202703051015001234567", Amount: 6800, Fee: 41,
			Currency: "CNY", At: time.Date(2027, 3, 5, 10, 15, 0, 0, beijing)},
		{Kind: payment.BillRefund, OutTradeNo: "UP0123456789abcdef", TradeNo: "202703051015001234567", RequestNo: "RF0123456789abcdefB",
			RefundID: "202703051530007654321", Amount: 2000, Fee: -12, Currency: "CNY", At: time.Date(2027, 3, 5, 15, 30, 0, 0, beijing)},
		{Kind: payment.BillPayment, OutTradeNo: "UP0000000000000000dec", TradeNo: "202612312359591111111", Amount: 100, Fee: 1,
			Currency: "CNY", At: time.Date(2026, 12, 31, 23, 59, 59, 0, beijing)},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines: %+v", len(lines), lines)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Fatalf("line %d:\n got %+v\nwant %+v", i, lines[i], want[i])
		}
	}
}

// The answer's fileContent is base64 of a zlib-deflated zip (§3.5); the ZM
// file is found by its documented name.
func TestSettlementZipFromFileContent(t *testing.T) {
	data, err := os.ReadFile("testdata/INN27030588ZM_" + fixtureMer)
	if err != nil {
		t.Fatal(err)
	}
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for name, body := range map[string][]byte{ZMName(fixtureMer, fixtureDay): data, "RD201027030501_" + fixtureMer: []byte("RD")} {
		w, _ := zw.Create(name)
		_, _ = w.Write(body)
	}
	_ = zw.Close()
	var deflated bytes.Buffer
	fw := zlib.NewWriter(&deflated)
	_, _ = fw.Write(zb.Bytes())
	_ = fw.Close()
	zipped, err := InflateFileContent(base64.StdEncoding.EncodeToString(deflated.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseSettlementZip(zipped, fixtureMer, fixtureDay)
	if err != nil {
		t.Fatal(err)
	}
	if b.Count != 3 || b.Gross != 6900 || b.Refund != 2000 || b.Fees != 30 || b.Method != payment.Card {
		t.Fatalf("bill %+v", b)
	}
	// Another day's name is not this day's file.
	if _, err := ParseSettlementZip(zipped, fixtureMer, fixtureDay.AddDate(0, 0, 1)); !errors.Is(err, payment.ErrMalformed) {
		t.Fatalf("wrong day: %v", err)
	}
	// A plain (not deflated) zip is not what UnionPay sends.
	if _, err := InflateFileContent(base64.StdEncoding.EncodeToString(zb.Bytes())); !errors.Is(err, payment.ErrMalformed) {
		t.Fatalf("undeflated: %v", err)
	}
}

// Records that cannot be placed fail the file rather than vanish: another
// merchant's, a shifted field, an unknown txnType, a bad amount.
func TestParseZMRefusesWhatItCannotPlace(t *testing.T) {
	data, err := os.ReadFile("testdata/INN27030588ZM_" + fixtureMer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseZM(data, "898000000000002", fixtureDay); !errors.Is(err, payment.ErrWrongMerchant) {
		t.Fatalf("other merchant: %v", err)
	}
	first := string(data[:bytes.Index(data, []byte("\r\n"))])
	for name, bad := range map[string]string{
		"shifted":    " " + first,
		"txnType 71": strings.Replace(first, " 01 01 000201", " 71 01 000201", 1),
		"amount":     strings.Replace(first, "000000006800", "0000000068x0", 1),
		"fee sign":   strings.Replace(first, "D000000000041", "X000000000041", 1),
	} {
		if _, err := ParseZM([]byte(bad), fixtureMer, fixtureDay); !errors.Is(err, payment.ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
