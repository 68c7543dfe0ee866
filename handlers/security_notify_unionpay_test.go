package handlers_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	unionpaysandbox "im2pay/payment/sandbox/unionpay"
)

// unionpayForger signs ACP back notifications (signMethod 01): RSA over the
// SHA-256 of the hex SHA-256 of the sorted fields, with the signing
// certificate sent along in signPubKeyCert.
type unionpayForger struct {
	acpKey, merKey   *rsa.PrivateKey
	acpCert, merCert string
	merID            string
}

func newUnionpayForger(t *testing.T, dir string) unionpayForger {
	t.Helper()
	d := filepath.Join(dir, "unionpay")
	var mer struct {
		MerID string `json:"mer_id"`
	}
	raw, err := os.ReadFile(filepath.Join(d, "merchant.json"))
	if err != nil || json.Unmarshal(raw, &mer) != nil {
		t.Fatalf("unionpay sandbox merchant: %v", err)
	}
	cert := func(name string) string {
		b, err := os.ReadFile(filepath.Join(d, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	return unionpayForger{acpKey: readKey(t, filepath.Join(d, "acp-sign-key.pem")),
		merKey: readKey(t, filepath.Join(d, "merchant-sign-key.pem")), acpCert: cert("acp-sign-cert.pem"),
		merCert: cert("merchant-sign-cert.pem"), merID: mer.MerID}
}

// fields is a paid consumption result for no, unsigned.
func (f unionpayForger) fields(no, fen string) map[string]string {
	now := time.Now().In(time.FixedZone("CST", 8*3600))
	return map[string]string{"version": "5.1.0", "encoding": "UTF-8", "accessType": "0", "bizType": "000201",
		"txnType": "01", "txnSubType": "01", "merId": f.merID, "orderId": no, "txnTime": now.Format("20060102150405"),
		"txnAmt": fen, "currencyCode": "156", "respCode": "00", "respMsg": "成功[0000000]",
		"queryId": randomDigits(21), "traceNo": randomDigits(6), "traceTime": now.Format("0102150405"),
		"settleAmt": fen, "settleCurrencyCode": "156", "settleDate": now.Format("0102"), "payCardType": "01"}
}

// sign completes fields with signMethod, cert and signature under key.
func acpSign(fields map[string]string, key *rsa.PrivateKey, certPEM string) map[string]string {
	fields["signMethod"] = "01"
	fields["signPubKeyCert"] = certPEM
	var keys []string
	for k := range fields {
		if k != "signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + fields[k]
	}
	first := sha256.Sum256([]byte(strings.Join(parts, "&")))
	second := sha256.Sum256([]byte(hex.EncodeToString(first[:])))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, second[:])
	if err != nil {
		panic(err)
	}
	fields["signature"] = base64.StdEncoding.EncodeToString(sig)
	return fields
}

func acpNotice(fields map[string]string, kv ...string) notice {
	v := url.Values{}
	for k, x := range fields {
		v.Set(k, x)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			v.Del(kv[i])
		} else {
			v.Set(kv[i], kv[i+1])
		}
	}
	return formNotice(v.Encode())
}

// selfSignedUnionPay is a certificate naming UnionPay's signing CN that
// no trusted root issued.
func selfSignedUnionPay(t *testing.T) string {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: unionpaysandbox.SandboxCN},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &strangerKey().PublicKey, strangerKey())
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestSecurityForgedUnionPayNotificationsCreditNothing(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("card_victim", goodPassword)
	no, declined := p.order(b, "card", "68"), p.order(b, "card", "30")
	p.pay(b, no)
	p.pay(b, declined)
	f := newUnionpayForger(t, p.gw.Dir)
	paid := func(kv ...string) map[string]string {
		m := f.fields(no, "6800")
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	genuine := func(kv ...string) map[string]string { return acpSign(paid(kv...), f.acpKey, f.acpCert) }
	failed := func(code string) notice {
		m := f.fields(declined, "3000")
		m["respCode"], m["respMsg"] = code, "失败"
		return acpNotice(acpSign(m, f.acpKey, f.acpCert))
	}
	probes := []probe{
		{kind: "bad signature", notices: []notice{acpNotice(genuine(), "txnAmt", "680000"),
			acpNotice(genuine(), "signature", base64.StdEncoding.EncodeToString([]byte("forged"))),
			acpNotice(genuine(), "respCode", "00", "orderId", "T"+randomDigits(23))}},
		{kind: "missing signature", notices: []notice{acpNotice(genuine(), "signature", ""),
			acpNotice(genuine(), "signature", "", "signPubKeyCert", "")}},
		{kind: "wrong key", notices: []notice{
			acpNotice(acpSign(paid(), f.merKey, f.merCert)),                  // chains to the root, but is the merchant's
			acpNotice(acpSign(paid(), f.merKey, f.acpCert)),                  // UnionPay's certificate, another key
			acpNotice(acpSign(paid(), strangerKey(), selfSignedUnionPay(t))), // UnionPay's name, nobody's root
		}},
		{kind: "switched signMethod", notices: []notice{acpNotice(genuine(), "signMethod", "11"),
			acpNotice(genuine(), "signMethod", "02"), acpNotice(genuine(), "signMethod", "")}},
		{kind: "valid signature for another merchant", notices: []notice{acpNotice(genuine("merId", "777290058000001"))}},
		{kind: "amount or currency different from the order", notices: []notice{acpNotice(genuine("txnAmt", "1")),
			acpNotice(genuine("txnAmt", "680000")), acpNotice(genuine("currencyCode", "840")),
			acpNotice(genuine("txnAmt", "-6800"))}},
		// Genuine, so acknowledged (see TestVerifiedNotificationsForUnknownOrders).
		{kind: "unknown order", mayAck: true, notices: []notice{acpNotice(genuine("orderId", "T"+randomDigits(23)))}},
		{kind: "repeated field", notices: []notice{formNotice(string(acpNotice(genuine()).body) + "&txnAmt=1")}},
		{kind: "unpaid status (pending respCode 03, 05, 70)", mayAck: true, notices: []notice{
			acpNotice(genuine("respCode", "03")), acpNotice(genuine("respCode", "05")), acpNotice(genuine("respCode", "70"))}},
		{kind: "unpaid status (failed respCode 61, 64, 30)", mayAck: true, notices: []notice{
			failed("61"), failed("64"), failed("30")}},
	}
	p.runProbes(t, unionpayProtocol, repeatKinds, probes)
	p.expectUncredited(t, b, no, declined)
	p.expectGenuineCredits(t, unionpayProtocol, acpNotice(genuine()))
}
