package alipaysandbox

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"testing"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
)

// paidTrade is a trade paid without notification, for hand-made messages.
func (h *harness) paidTrade(t *testing.T) (payment.Order, trade) {
	t.Helper()
	o := h.order(payment.Desktop, 6800)
	h.start(t, o)
	if _, _, err := h.sb.Simulate(context.Background(), o.OutTradeNo, sim.DropNotify); err != nil {
		t.Fatal(err)
	}
	h.sb.mu.Lock()
	defer h.sb.mu.Unlock()
	return o, *h.sb.trades[o.OutTradeNo]
}

// resign signs v again with key, after a change, as Alipay's format wants.
func resign(v url.Values, signWith func([]byte) string) url.Values {
	v.Del("sign")
	v.Set("sign_type", "RSA2")
	v.Set("sign", signWith([]byte(signContent(v, "sign", "sign_type"))))
	return v
}

// tamper is one hand-made notification body and the error it must get.
type tamper struct {
	name string
	body func() string
	want error
}

func TestTamperedNotificationIsRefused(t *testing.T) {
	h := newHarness(t)
	_, paid := h.paidTrade(t)
	genuine := func() url.Values { return h.sb.notifyParams(paid, "n1") }
	cases := append(forgedNotifications(t, h, paid, genuine), resignedNotifications(h, genuine)...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, err := h.p.ParseNotification(context.Background(), nil, []byte(c.body()))
			if !errors.Is(err, c.want) || (c.want == nil && (n.Amount != 6800 || n.Status != payment.StatusPaid)) {
				t.Fatalf("ParseNotification = %+v, %v; want %v", n, err, c.want)
			}
		})
	}
}

// forgedNotifications are changes nobody could sign.
func forgedNotifications(t *testing.T, h *harness, paid trade, genuine func() url.Values) []tamper {
	appKey, err := readPrivateKey(filepath.Join(h.dir, keySubdir, appPrivateFile))
	if err != nil {
		t.Fatal(err)
	}
	waiting := paid
	waiting.status = statusWait
	return []tamper{
		{"a changed amount breaks the signature", func() string {
			v := genuine()
			v.Set("total_amount", "0.01")
			return v.Encode()
		}, payment.ErrBadSignature},
		{"a changed status breaks the signature", func() string {
			v := h.sb.notifyParams(waiting, "n2")
			v.Set("trade_status", statusSuccess)
			return v.Encode()
		}, payment.ErrBadSignature},
		{"a signature from another key is refused", func() string {
			return resign(genuine(), func(b []byte) string { return sign(appKey, b) }).Encode()
		}, payment.ErrBadSignature},
		{"a missing signature is refused", func() string {
			v := genuine()
			v.Del("sign")
			return v.Encode()
		}, payment.ErrBadSignature},
		{"a weaker sign_type is refused", func() string {
			v := genuine()
			v.Set("sign_type", "RSA")
			return v.Encode()
		}, payment.ErrBadSignature},
		{"a repeated parameter is malformed", func() string { return genuine().Encode() + "&total_amount=0.01" }, payment.ErrMalformed},
		{"a body that is no form is malformed", func() string { return "%zz" }, payment.ErrMalformed},
		{"the genuine notification verifies", func() string { return genuine().Encode() }, nil},
	}
}

// resignedNotifications are validly signed by Alipay's key but must still
// be refused or ignored.
func resignedNotifications(h *harness, genuine func() url.Values) []tamper {
	alipaySigns := func(b []byte) string { return sign(h.sb.key, b) }
	with := func(kv ...string) func() string {
		return func() string {
			v := genuine()
			for i := 0; i < len(kv); i += 2 {
				v.Set(kv[i], kv[i+1])
			}
			return resign(v, alipaySigns).Encode()
		}
	}
	return []tamper{
		{"a certificate-mode message is refused without a download", with("alipay_cert_sn", "0123456789abcdef"), payment.ErrBadSignature},
		{"another app's valid message is for another merchant",
			with("app_id", "2021000000000000", "auth_app_id", "2021000000000000"), payment.ErrWrongMerchant},
		{"another seller's valid message is for another merchant", with("seller_id", "2088000000000000"), payment.ErrWrongMerchant},
		{"a genuine unknown trade status is malformed", with("trade_status", "TRADE_PENDING"), payment.ErrMalformed},
		{"a genuine refund notification with a bad refund_fee is malformed", with("refund_fee", "1.0.0", "out_biz_no", "R1"), payment.ErrMalformed},
	}
}

func TestTamperedReturnIsRefused(t *testing.T) {
	h := newHarness(t)
	_, paid := h.paidTrade(t)
	signed := func() url.Values {
		u, _ := url.Parse(h.sb.returnURL(paid))
		return u.Query()
	}
	cases := []struct {
		name  string
		query func() url.Values
		want  error
	}{
		{"a changed order number breaks the signature", func() url.Values {
			v := signed()
			v.Set("out_trade_no", "T0000000000000000000000")
			return v
		}, payment.ErrBadSignature},
		{"payment details without a signature are a forgery", func() url.Values {
			return url.Values{"out_trade_no": {paid.outTradeNo}, "trade_no": {paid.tradeNo}}
		}, payment.ErrBadSignature},
		{"another app's signed return is for another merchant", func() url.Values {
			v := signed()
			v.Set("app_id", "2021000000000000")
			return resign(v, func(b []byte) string { return sign(h.sb.key, b) })
		}, payment.ErrWrongMerchant},
		{"a plain return is not an error", func() url.Values { return url.Values{} }, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ret, err := h.p.ParseReturn(context.Background(), c.query(), url.Values{})
			if !errors.Is(err, c.want) || (c.want == nil && ret != (payment.Return{})) {
				t.Fatalf("ParseReturn = %+v, %v; want %v", ret, err, c.want)
			}
		})
	}
}
