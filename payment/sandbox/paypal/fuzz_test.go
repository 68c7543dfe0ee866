package paypalsandbox

import (
	"bytes"
	"context"
	"testing"
)

// FuzzParseNotification feeds random bodies (and signatures) under the
// headers of one genuine delivery: nothing but that exact delivery may
// verify, and nothing may panic.
func FuzzParseNotification(f *testing.F) {
	h := newHarness(f)
	_, _, genuine := h.paid(f)
	f.Add(genuine.body, "")
	f.Add(genuine.body, genuine.header.Get("PAYPAL-TRANSMISSION-SIG")+"A")
	f.Add(bytes.Replace(genuine.body, []byte("68.00"), []byte("99.00"), 1), "")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		hd := genuine.header.Clone()
		if sig != "" {
			hd.Set("PAYPAL-TRANSMISSION-SIG", sig)
		}
		n, err := h.prov.ParseNotification(context.Background(), hd, body)
		if err != nil {
			return
		}
		if !bytes.Equal(body, genuine.body) || (sig != "" && sig != genuine.header.Get("PAYPAL-TRANSMISSION-SIG")) {
			t.Fatalf("a forged delivery verified: %+v\n%s", n, body)
		}
		if n.Result != genuine.n.Result {
			t.Fatalf("genuine delivery read as %+v, want %+v", n.Result, genuine.n.Result)
		}
	})
}
