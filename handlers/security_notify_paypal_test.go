package handlers_test

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"hash/crc32"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"im2pay/payment/sandbox/sim"
)

// paypalForger signs webhook deliveries as PayPal does: SHA256withRSA over
// transmission_id|transmission_time|webhook_id|crc32(body), with the key
// of the certificate at PAYPAL-CERT-URL. The app has the sandbox's
// verify-webhook-signature endpoint check them, as it would PayPal.
type paypalForger struct {
	key                *rsa.PrivateKey
	webhookID, certURL string
}

func newPaypalForger(t *testing.T, dir string) paypalForger {
	t.Helper()
	d := filepath.Join(dir, "paypal")
	var app struct {
		BaseURL   string `json:"base_url"`
		WebhookID string `json:"webhook_id"`
		CertID    string `json:"cert_id"`
	}
	raw, err := os.ReadFile(filepath.Join(d, "sandbox.json"))
	if err != nil || json.Unmarshal(raw, &app) != nil {
		t.Fatalf("paypal sandbox app: %v", err)
	}
	return paypalForger{key: readKey(t, filepath.Join(d, "webhook_signing_key.pem")), webhookID: app.WebhookID,
		certURL: app.BaseURL + "/paypal/v1/notifications/certs/" + app.CertID}
}

// event is a capture webhook event naming capture for order no.
func (f paypalForger) event(typ, capture, no, value string) []byte {
	b, _ := json.Marshal(map[string]any{"id": "WH-" + randomDigits(17), "event_version": "1.0",
		"create_time": time.Now().UTC().Format(time.RFC3339), "resource_type": "capture", "resource_version": "2.0",
		"event_type": typ, "summary": "Payment completed", "resource": map[string]any{"id": capture,
			"status": "COMPLETED", "amount": map[string]string{"currency_code": "CNY", "value": value},
			"custom_id": no, "invoice_id": no, "final_capture": true}})
	return b
}

// sign makes one transmission of body for webhookID, signed by key.
func (f paypalForger) sign(body []byte, key *rsa.PrivateKey, webhookID string) notice {
	tid, at := "tx-"+randomDigits(20), time.Now().UTC().Format(time.RFC3339)
	msg := tid + "|" + at + "|" + webhookID + "|" + strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10)
	h := http.Header{"Content-Type": {"application/json"}}
	h.Set("PAYPAL-TRANSMISSION-ID", tid)
	h.Set("PAYPAL-TRANSMISSION-TIME", at)
	h.Set("PAYPAL-TRANSMISSION-SIG", signSHA256(key, []byte(msg)))
	h.Set("PAYPAL-CERT-URL", f.certURL)
	h.Set("PAYPAL-AUTH-ALGO", "SHA256withRSA")
	return notice{header: h, body: body}
}

func TestSecurityForgedPayPalNotificationsCreditNothing(t *testing.T) {
	p := newPaySite(t)
	f := newPaypalForger(t, p.gw.Dir)
	// A genuine capture of someone else's smaller order, to be passed off
	// as payment of the victim's.
	other := p.browser()
	other.register("pp_other", goodPassword)
	small := p.order(other, "paypal", "10")
	p.pay(other, small)
	p.settle(other, small, sim.Success)
	if state, _ := p.result(other, small, 10*time.Second); state != "paid" {
		t.Fatalf("the other order is %s, want paid", state)
	}
	var capture string
	if err := p.store.DB().GetContext(context.Background(), &capture,
		`SELECT provider_trade_no FROM recharge_orders WHERE out_trade_no = $1`, small); err != nil {
		t.Fatal(err)
	}
	b := p.browser()
	b.register("pp_victim", goodPassword)
	no := p.order(b, "paypal", "68")
	p.pay(b, no)
	unknownCapture := "9" + randomDigits(16)
	signed := func(body []byte) notice { return f.sign(body, f.key, f.webhookID) }
	completed := func(capture, no, value string) notice {
		return signed(f.event("PAYMENT.CAPTURE.COMPLETED", capture, no, value))
	}
	tampered := completed(unknownCapture, no, "68.00")
	tampered.body = f.event("PAYMENT.CAPTURE.COMPLETED", capture, no, "68.00")
	probes := []probe{
		{kind: "bad signature", notices: []notice{tampered,
			completed(capture, no, "68.00").with("PAYPAL-TRANSMISSION-SIG", base64.StdEncoding.EncodeToString([]byte("forged"))),
			completed(capture, no, "68.00").with("PAYPAL-TRANSMISSION-TIME", time.Now().Add(time.Hour).UTC().Format(time.RFC3339))}},
		{kind: "missing signature", notices: []notice{completed(capture, no, "68.00").with("PAYPAL-TRANSMISSION-SIG", ""),
			{header: http.Header{"Content-Type": {"application/json"}}, body: f.event("PAYMENT.CAPTURE.COMPLETED", capture, no, "68.00")}}},
		{kind: "wrong key", notices: []notice{f.sign(f.event("PAYMENT.CAPTURE.COMPLETED", capture, no, "68.00"), strangerKey(), f.webhookID)}},
		{kind: "switched auth algorithm or certificate", notices: []notice{
			completed(capture, no, "68.00").with("PAYPAL-AUTH-ALGO", "SHA1withRSA"),
			completed(capture, no, "68.00").with("PAYPAL-CERT-URL", "https://attacker.example/cert.pem")}},
		{kind: "valid signature for another merchant's webhook", notices: []notice{
			f.sign(f.event("PAYMENT.CAPTURE.COMPLETED", capture, no, "68.00"), f.key, "8PT597110X687430LKGECATA")}},
		{kind: "another order's capture (amount different from the order)", notices: []notice{
			completed(capture, no, "68.00"), completed(capture, no, "0.01")}},
		{kind: "unknown order or capture", notices: []notice{completed(capture, "T"+randomDigits(23), "68.00"),
			completed(unknownCapture, no, "68.00")}},
		{kind: "non-COMPLETED capture events", notices: []notice{
			signed(f.event("PAYMENT.CAPTURE.PENDING", unknownCapture, no, "68.00")),
			signed(f.event("PAYMENT.CAPTURE.DENIED", unknownCapture, no, "68.00"))}},
		{kind: "events that are no capture (CHECKOUT.ORDER.APPROVED)", mayAck: true, notices: []notice{
			signed(f.event("CHECKOUT.ORDER.APPROVED", p.orderRef(no), no, "68.00"))}},
	}
	p.runProbes(t, paypalProtocol, repeatKinds, probes)
	p.expectUncredited(t, b, no)
	// The control: the other order's own capture, honestly signed, is
	// verified and read back (and, already paid, credits nothing again).
	// The sandbox's own delivery of that event took the order's turn to
	// have PayPal verify a webhook a moment ago: give it back.
	if _, err := p.store.DB().ExecContext(context.Background(),
		`UPDATE recharge_orders SET notify_call_at = NULL WHERE out_trade_no = $1`, small); err != nil {
		t.Fatal(err)
	}
	if a := p.notify("paypal", completed(capture, small, "10.00")); !paypalProtocol.acked(a) {
		t.Fatalf("control: the genuine PayPal event was refused: %d %q", a.status, a.body)
	}
}
