package paypal

import (
	"context"
	"net/url"
	"testing"

	"im2pay/payment"
)

// FuzzParseReturn checks PayPal's redirect back (?token=…&PayerID=…, and
// our cancel=1 marker). Nothing in it is signed, so the most it may yield
// is a well-formed order id to Complete: never an order number of ours,
// never a token of another shape, and cancelled only when marked so.
func FuzzParseReturn(f *testing.F) {
	for _, q := range []string{"token=5O190127TN364715T&PayerID=QYR5Z8XDVJNXQ", "token=5O190127TN364715T&cancel=1",
		"token=5O190127TN364715T&token=AAAAAAAA", "token=../../v2/checkout", "token=5o190127tn364715t", "PayerID=QYR5Z8XDVJNXQ",
		"token=5O190127TN364715T&PayerID=%00", "token=5O190127TN364715T%0A", "token=5O190127TN364715T&cancel=1&cancel=0", "%zz"} {
		f.Add(q)
	}
	p := &Provider{}
	f.Fuzz(func(t *testing.T, raw string) {
		// Echo reads the query leniently (url.Values from URL.Query), keeping
		// the pairs that parse; so does this test.
		q, _ := url.ParseQuery(raw)
		ret, err := p.ParseReturn(context.Background(), q, url.Values{})
		if err != nil {
			if ret != (payment.Return{}) {
				t.Fatalf("ParseReturn(%q) = %+v alongside %v", raw, ret, err)
			}
			return
		}
		switch {
		case ret.OutTradeNo != "":
			t.Fatalf("ParseReturn(%q) named our order %q from unsigned input", raw, ret.OutTradeNo)
		case ret.ProviderRef != q.Get("token") || !idRe.MatchString(ret.ProviderRef):
			t.Fatalf("ParseReturn(%q) = ref %q", raw, ret.ProviderRef)
		case ret.Cancelled != (q.Get("cancel") == "1"):
			t.Fatalf("ParseReturn(%q) = cancelled %v", raw, ret.Cancelled)
		}
		if id := q.Get("PayerID"); id != "" && !idRe.MatchString(id) {
			t.Fatalf("ParseReturn(%q) accepted PayerID %q", raw, id)
		}
	})
}
