package alipaysandbox

import (
	"context"
	"net/url"
	"reflect"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/alipay"
)

// FuzzParseReturn feeds the merchant side arbitrary return queries and
// forms, seeded with one genuine signed return of each flow. A Return that
// names an order must come from exactly the parameters the sandbox signed;
// anything else may at most say the person came back (cancelled when the
// quit marker says so), never which order or payment.
func FuzzParseReturn(f *testing.F) {
	_, p, sb := offlinePair(f)
	now := time.Now()
	paid := trade{outTradeNo: "T1234567890123456", tradeNo: "2026010122001000000000000001", amount: 6800,
		status: statusSuccess, created: now, paidAt: now, returnURL: "https://pay.example/recharge/orders/T1234567890123456/return"}
	var genuine []url.Values
	for _, wap := range []bool{false, true} {
		paid.wap = wap
		u, err := url.Parse(sb.returnURL(paid))
		if err != nil {
			f.Fatal(err)
		}
		if ret, err := p.ParseReturn(context.Background(), u.Query(), nil); err != nil || ret.OutTradeNo != paid.outTradeNo {
			f.Fatalf("the genuine return read as %+v, %v", ret, err)
		}
		genuine = append(genuine, u.Query())
		f.Add(u.RawQuery, "")
		f.Add("", u.RawQuery)
	}
	f.Add(alipay.QuitParam+"=1", "")
	f.Add("out_trade_no=T1234567890123456&trade_no=1", "")
	f.Add("", "sign=AAAA&sign_type=RSA2&out_trade_no=T1234567890123456")
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
		if ret.ProviderRef != "" {
			t.Fatalf("ParseReturn gave a provider ref %q", ret.ProviderRef)
		}
		if ret.OutTradeNo == "" {
			if ret.Cancelled && query.Get(alipay.QuitParam) != "1" && form.Get(alipay.QuitParam) != "1" {
				t.Fatalf("ParseReturn(%q, %q) cancelled without the quit marker", rawQuery, rawForm)
			}
			return
		}
		for _, g := range genuine {
			if reflect.DeepEqual(query, g) || reflect.DeepEqual(form, g) {
				if ret.OutTradeNo != g.Get("out_trade_no") || ret.Cancelled {
					t.Fatalf("the genuine return read as %+v", ret)
				}
				return
			}
		}
		t.Fatalf("a return the sandbox never signed named order %q: query %q, form %q", ret.OutTradeNo, rawQuery, rawForm)
	})
}
