package paypalsandbox

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
)

func TestAnUnacknowledgedWebhookIsRetriedOnPayPalsSchedule(t *testing.T) {
	h := newHarness(t)
	o := h.order(6800)
	next := h.start(t, o)
	h.hook.refuseNext(o.OutTradeNo, 2)
	if _, _, err := h.sb.Simulate(context.Background(), o.OutTradeNo, sim.Success); err != nil {
		t.Fatal(err)
	}
	if _, err := h.prov.Complete(context.Background(), o.OutTradeNo, next.ProviderRef); err != nil {
		t.Fatal(err)
	}
	got := h.hook.wait(t, o.OutTradeNo, 3)
	time.Sleep(100 * time.Millisecond) // an acknowledged delivery is the last
	if n := len(h.hook.deliveries(o.OutTradeNo)); n != 3 {
		t.Fatalf("%d attempts, want 3 (two refused, one acknowledged)", n)
	}
	for i, d := range got {
		if d.err != nil || d.n.EventID != got[0].n.EventID || d.acked != (i == 2) {
			t.Fatalf("attempt %d: acked %v, %+v, %v", i+1, d.acked, d.n, d.err)
		}
		if i > 0 && d.header.Get("PAYPAL-TRANSMISSION-ID") == got[i-1].header.Get("PAYPAL-TRANSMISSION-ID") {
			t.Fatal("a retry reused the transmission id")
		}
	}
	for i, gap := range sim.PayPalSchedule[:2] {
		if d := got[i+1].at.Sub(got[i].at); d < h.n.Scaled(gap) {
			t.Fatalf("retry %d after %v, want at least %v", i+1, d, h.n.Scaled(gap))
		}
	}
}

func TestTamperedWebhooksAreRefused(t *testing.T) {
	h := newHarness(t)
	_, _, genuine := h.paid(t)
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	replace := func(old, new string) []byte {
		b := bytes.Replace(genuine.body, []byte(old), []byte(new), 1)
		if bytes.Equal(b, genuine.body) {
			t.Fatalf("%q not in the body", old)
		}
		return b
	}
	cases := []struct {
		name   string
		body   []byte
		header func(http.Header)
		want   error
	}{
		{"a genuine redelivery verifies", genuine.body, nil, nil},
		{"a changed amount", replace(`"value":"68.00"`, `"value":"0.68"`), nil, payment.ErrBadSignature},
		{"a changed status", replace(`"event_type":"PAYMENT.CAPTURE.COMPLETED"`, `"event_type":"PAYMENT.CAPTURE.DENIED"`), nil, payment.ErrBadSignature},
		{"a signature from another key", genuine.body, func(hd http.Header) {
			msg := signedString(hd.Get("PAYPAL-TRANSMISSION-ID"), hd.Get("PAYPAL-TRANSMISSION-TIME"), h.cfg.WebhookID, genuine.body)
			sum := sha256.Sum256([]byte(msg))
			sig, _ := rsa.SignPKCS1v15(nil, otherKey, crypto.SHA256, sum[:])
			hd.Set("PAYPAL-TRANSMISSION-SIG", base64.StdEncoding.EncodeToString(sig))
		}, payment.ErrBadSignature},
		{"a missing signature", genuine.body, func(hd http.Header) { hd.Del("PAYPAL-TRANSMISSION-SIG") }, payment.ErrBadSignature},
		// PayPal signs each app's webhook id into the signature, so another
		// app's genuine event fails verification with ours: there is no
		// "valid but for someone else" to tell apart.
		{"another app's valid message", genuine.body, func(hd http.Header) {
			for k, v := range h.sb.transmission(genuine.body, "OTHERAPPWEBHOOK01") {
				hd[k] = v
			}
		}, payment.ErrBadSignature},
		{"a certificate from elsewhere", genuine.body, func(hd http.Header) {
			hd.Set("PAYPAL-CERT-URL", "https://evil.example/v1/notifications/certs/CERT-1")
		}, payment.ErrBadSignature},
		{"a weaker algorithm", genuine.body, func(hd http.Header) { hd.Set("PAYPAL-AUTH-ALGO", "SHA1withRSA") }, payment.ErrBadSignature},
		{"a body that is not JSON", []byte("amount=68.00"), nil, payment.ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hd := genuine.header.Clone()
			if c.header != nil {
				c.header(hd)
			}
			n, err := h.prov.ParseNotification(context.Background(), hd, c.body)
			if !errors.Is(err, c.want) || (err == nil && n.Result != genuine.n.Result) {
				t.Fatalf("ParseNotification = %+v, %v; want %v", n, err, c.want)
			}
		})
	}
}

// The signature covers only a CRC32 of the body, which a forger can match.
// These bodies are signed by the sandbox itself, as a CRC32 collision would
// be: reading the capture back still tells the truth.
func TestASignedBodyIsNotTrustedForPaymentState(t *testing.T) {
	h := newHarness(t)
	o, paid, genuine := h.paid(t)
	other := h.order(6800)
	cases := []struct {
		name, old, new string
		want           error
	}{
		{"a lying amount still reports the captured amount", `"value":"68.00"`, `"value":"6800.00"`, nil},
		{"a lying order number is caught", `"custom_id":"` + o.OutTradeNo + `"`, `"custom_id":"` + other.OutTradeNo + `"`, payment.ErrWrongMerchant},
		{"an event we do not handle is ignored", `"event_type":"PAYMENT.CAPTURE.COMPLETED"`, `"event_type":"CHECKOUT.ORDER.APPROVED"`, payment.ErrIgnored},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := bytes.Replace(genuine.body, []byte(c.old), []byte(c.new), -1)
			n, err := h.prov.ParseNotification(context.Background(), h.sb.transmission(body, h.cfg.WebhookID), body)
			if !errors.Is(err, c.want) || (err == nil && (n.Amount != paid.Amount || n.TradeNo != paid.TradeNo)) {
				t.Fatalf("ParseNotification = %+v, %v; want %v", n, err, c.want)
			}
		})
	}
}

func TestAHeldCaptureIsPendingUntilPayPalDeniesIt(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	o := h.order(6800)
	next := h.start(t, o)
	if _, _, err := h.sb.Simulate(ctx, o.OutTradeNo, sim.Success); err != nil {
		t.Fatal(err)
	}
	h.sb.holdCapture(o.OutTradeNo, "PENDING_REVIEW")
	r, err := h.prov.Complete(ctx, o.OutTradeNo, next.ProviderRef)
	if err != nil || r.Status != payment.StatusProcessing || r.Final || r.TradeNo == "" {
		t.Fatalf("Complete = %+v, %v; want a pending capture", r, err)
	}
	if d := h.hook.wait(t, o.OutTradeNo, 1)[0]; d.err != nil || d.n.Status != payment.StatusProcessing {
		t.Fatalf("PAYMENT.CAPTURE.PENDING = %+v, %v", d.n, d.err)
	}
	h.sb.resolvePending(o.OutTradeNo, false)
	d := h.hook.wait(t, o.OutTradeNo, 2)[1]
	if d.err != nil || d.n.Status != payment.StatusFailed || d.n.Reason != payment.ReasonDeclined || d.n.TradeNo != r.TradeNo {
		t.Fatalf("PAYMENT.CAPTURE.DENIED = %+v, %v", d.n, d.err)
	}
	if q, err := h.prov.Query(ctx, o.OutTradeNo, next.ProviderRef); err != nil || q.Status != payment.StatusFailed || q.Reason != payment.ReasonDeclined {
		t.Fatalf("Query = %+v, %v", q, err)
	}
}
