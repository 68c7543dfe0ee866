package unionpaysandbox

import (
	"context"
	"net/url"
	"reflect"
	"testing"

	"im2pay/payment"
	"im2pay/payment/unionpay"
)

// FuzzParseReturn feeds the merchant side arbitrary front notifications
// (the browser's POST to frontUrl, or the query the sandbox hands out),
// seeded with two genuine signed ones: paid, and timed out (cancelled). A
// Return that verifies must carry exactly the fields the sandbox signed,
// in the form or in the query, and read as that genuine one does.
func FuzzParseReturn(f *testing.F) {
	cfg, p, sb := offlinePair(f)
	e := &env{sb: sb}
	var genuine []url.Values
	for _, code := range []string{unionpay.CodeSuccess, unionpay.CodeTimedOut} {
		v := toValues(e.genuine(cfg.MerID, code))
		if ret, err := p.ParseReturn(context.Background(), nil, v); err != nil || ret.OutTradeNo == "" {
			f.Fatalf("the genuine front notification %s read as %+v, %v", code, ret, err)
		}
		genuine = append(genuine, v)
		f.Add("", v.Encode())
		f.Add(v.Encode(), "")
	}
	f.Add("orderId=UPTAMPER00000000000001&respCode=00", "")
	f.Add("", "signature=AAAA&merId=1")
	f.Fuzz(func(t *testing.T, rawQuery, rawForm string) {
		query, _ := url.ParseQuery(rawQuery)
		form, _ := url.ParseQuery(rawForm)
		ret, err := p.ParseReturn(context.Background(), query, form)
		if err != nil {
			if ret != (payment.Return{}) {
				t.Fatalf("ParseReturn = %+v alongside %v", ret, err)
			}
			return
		}
		for _, g := range genuine {
			if reflect.DeepEqual(query, g) || reflect.DeepEqual(form, g) {
				want := payment.Return{OutTradeNo: g.Get("orderId"), Cancelled: g.Get("respCode") == unionpay.CodeTimedOut}
				if ret != want {
					t.Fatalf("the genuine front notification read as %+v, want %+v", ret, want)
				}
				return
			}
		}
		t.Fatalf("a front notification the sandbox never signed verified as %+v: query %q, form %q", ret, rawQuery, rawForm)
	})
}
