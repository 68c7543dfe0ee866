package paypal

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"im2pay/payment"
)

// A Transaction Search page as PayPal's samples show it (+0000 offsets,
// negative fees): a payment, our partial refund, a T1201 chargeback; a
// pending payment, a withdrawal (T0400) and a denied one are skipped.
func TestBillLinesFromTransactionInfo(t *testing.T) {
	page := `{"transaction_details":[
 {"transaction_info":{"transaction_id":"5TY05013RG002845M","transaction_event_code":"T0006","transaction_initiation_date":"2027-03-05T10:15:00+0000","transaction_amount":{"currency_code":"USD","value":"68.00"},"fee_amount":{"currency_code":"USD","value":"-2.72"},"transaction_status":"S","invoice_id":"IM0000000000001000001","custom_field":"IM0000000000001000001"}},
 {"transaction_info":{"transaction_id":"1JU08902781691411","paypal_reference_id":"5TY05013RG002845M","paypal_reference_id_type":"TXN","transaction_event_code":"T1107","transaction_initiation_date":"2027-03-05T15:30:00+0000","transaction_amount":{"currency_code":"USD","value":"-20.00"},"fee_amount":{"currency_code":"USD","value":"0.80"},"transaction_status":"S","invoice_id":"RF0000000000001000001","custom_field":"IM0000000000001000001"}},
 {"transaction_info":{"transaction_id":"9XB73512JD4556312","paypal_reference_id":"5TY05013RG002845M","transaction_event_code":"T1201","transaction_initiation_date":"2027-03-05T16:00:00Z","transaction_amount":{"currency_code":"USD","value":"-48.00"},"transaction_status":"S","custom_field":"IM0000000000001000001"}},
 {"transaction_info":{"transaction_id":"2AB00000000000001","transaction_event_code":"T0006","transaction_initiation_date":"2027-03-05T17:00:00+0000","transaction_amount":{"currency_code":"USD","value":"10.00"},"transaction_status":"P"}},
 {"transaction_info":{"transaction_id":"2AB00000000000002","transaction_event_code":"T0400","transaction_initiation_date":"2027-03-05T18:00:00+0000","transaction_amount":{"currency_code":"USD","value":"-100.00"},"transaction_status":"S"}},
 {"transaction_info":{"transaction_id":"2AB00000000000003","transaction_event_code":"T0006","transaction_initiation_date":"2027-03-05T19:00:00+0000","transaction_amount":{"currency_code":"USD","value":"5.00"},"transaction_status":"D"}}]}`
	var sp searchPage
	if err := json.Unmarshal([]byte(page), &sp); err != nil {
		t.Fatal(err)
	}
	var got []payment.BillLine
	for _, d := range sp.Details {
		l, ok, err := billLine(d.Info)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			got = append(got, l)
		}
	}
	want := []payment.BillLine{
		{Kind: payment.BillPayment, OutTradeNo: "IM0000000000001000001", TradeNo: "5TY05013RG002845M", Amount: 6800, Fee: 272,
			Currency: "USD", At: time.Date(2027, 3, 5, 10, 15, 0, 0, time.UTC)},
		{Kind: payment.BillRefund, OutTradeNo: "IM0000000000001000001", TradeNo: "5TY05013RG002845M", RequestNo: "RF0000000000001000001",
			RefundID: "1JU08902781691411", Amount: 2000, Fee: -80, Currency: "USD", At: time.Date(2027, 3, 5, 15, 30, 0, 0, time.UTC)},
		{Kind: payment.BillReversal, OutTradeNo: "IM0000000000001000001", TradeNo: "5TY05013RG002845M", RefundID: "9XB73512JD4556312",
			Amount: 4800, Currency: "USD", At: time.Date(2027, 3, 5, 16, 0, 0, 0, time.UTC)},
	}
	if len(got) != len(want) {
		t.Fatalf("%d lines: %+v", len(got), got)
	}
	for i := range want {
		if !got[i].At.Equal(want[i].At) {
			t.Fatalf("line %d at %v, want %v", i, got[i].At, want[i].At)
		}
		got[i].At = want[i].At
		if got[i] != want[i] {
			t.Fatalf("line %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	// A refund with a positive amount has the sign the other way: refused.
	bad := sp.Details[1].Info
	bad.Amount.Value = "20.00"
	if _, _, err := billLine(bad); !errors.Is(err, payment.ErrMalformed) {
		t.Fatalf("positive refund: %v", err)
	}
}
