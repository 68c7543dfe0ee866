package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"im2pay/internal/figures"
	"im2pay/payment/sandbox/sim"
)

// paidOrder is an order paid at the sandbox and credited by its genuine
// notification, and that notification's stored body.
func (p *paySite) paidOrder(t *testing.T, b *browser, method string) (string, []byte) {
	t.Helper()
	no := p.order(b, method, "10")
	p.pay(b, no)
	p.settle(b, no, sim.Success)
	if state, _ := p.result(b, no, 10*time.Second); state != "paid" {
		t.Fatalf("%s order %s is %s, want paid", method, no, state)
	}
	p.gw.Notifier.Wait()
	var body string
	err := p.store.DB().GetContext(context.Background(), &body,
		`SELECT body FROM payment_events WHERE out_trade_no = $1 AND kind = 'notify' AND verified ORDER BY id LIMIT 1`, no)
	if err != nil {
		t.Fatalf("no stored %s notification for %s: %v", method, no, err)
	}
	return no, []byte(body)
}

// times is n copies of one delivery.
func times(n int, x notice) []notice {
	out := make([]notice, n)
	for i := range out {
		out[i] = x
	}
	return out
}

// B2: a genuine notification replayed, at once and later, credits nothing
// more; a WeChat one signed outside the allowed window is refused.
func TestSecurityReplayedNotificationsCreditOnce(t *testing.T) {
	p := newPaySite(t)
	const copies = 10
	t.Run("alipay and unionpay", func(t *testing.T) {
		p := p.with(t)
		for _, c := range []struct {
			proto protocol
			user  string
		}{{alipayProtocol, "replay_ali"}, {unionpayProtocol, "replay_card"}} {
			b := p.browser()
			b.register(c.user, goodPassword)
			_, body := p.paidOrder(t, b, c.proto.method)
			n := formNotice(string(body))
			p.runProbes(t, c.proto, 1, []probe{{kind: "genuine notification replayed at once", mayAck: true, notices: times(copies, n)}})
			p.paidOrder(t, b, c.proto.method) // time passes; the person pays again
			p.runProbes(t, c.proto, 1, []probe{{kind: "genuine notification replayed later", mayAck: true, notices: times(copies, n)}})
		}
	})
	t.Run("wechat", func(t *testing.T) {
		p := p.with(t)
		b := p.browser()
		b.register("replay_wx", goodPassword)
		no, _ := p.paidOrder(t, b, "wechat")
		f := newWechatForger(t, p.gw.Dir)
		body := f.seal(f.transaction(no, 1000), f.apiv3)
		fresh := f.sign(body, f.platform, time.Now())
		p.runProbes(t, wechatProtocol, 1, []probe{
			{kind: "genuine notification replayed at once", mayAck: true, notices: times(copies, fresh)},
			{kind: "genuine notification replayed with its old timestamp (> 5 min)", notices: []notice{
				f.sign(body, f.platform, time.Now().Add(-5*time.Minute-time.Second)),
				f.sign(body, f.platform, time.Now().Add(-time.Hour)),
				f.sign(body, f.platform, time.Now().Add(-25*time.Hour))}},
		})
	})
	t.Run("paypal", func(t *testing.T) {
		p := p.with(t)
		b := p.browser()
		b.register("replay_pp", goodPassword)
		_, body := p.paidOrder(t, b, "paypal")
		f := newPaypalForger(t, p.gw.Dir)
		// PayPal redelivers for days, so an old transmission is still
		// PayPal's: acknowledged, and read back from the capture.
		old := f.sign(body, f.key, f.webhookID).with("PAYPAL-TRANSMISSION-TIME", time.Now().Add(-72*time.Hour).UTC().Format(time.RFC3339))
		p.runProbes(t, paypalProtocol, 1, []probe{
			{kind: "genuine notification replayed at once", mayAck: true, notices: times(copies, f.sign(body, f.key, f.webhookID))},
			{kind: "genuine notification replayed days later", mayAck: true, notices: times(copies, old)},
		})
	})
	// One credit per paid order (the top-up; bonuses are separate
	// transactions), whatever was replayed.
	paid := p.ledgerCount(`SELECT count(*) FROM recharge_orders WHERE state = 'paid'`)
	if n := p.ledgerCount(`SELECT count(*) FROM ledger_transactions WHERE kind = 'topup'`); n != paid {
		t.Fatalf("%d top-ups for %d paid orders", n, paid)
	}
}

// forgedReturn is what a forger appends to (or posts to) the return URL of
// order no, claiming the payment succeeded; i varies the forgery.
type forgedReturn func(no string, i int) (method string, query, form url.Values)

// B3: the return page with a forged success and no notification, reloaded
// 100 times per provider: nothing credited, and no page says paid.
func TestSecurityAForgedSuccessOnTheReturnPageCreditsNothing(t *testing.T) {
	p := newPaySite(t)
	const reloads = 100
	alipay := newAlipayForger(t, p.gw.Dir)
	card := newUnionpayForger(t, p.gw.Dir)
	cases := []struct {
		name, method string
		forge        forgedReturn
	}{
		{"alipay", "alipay", func(no string, i int) (string, url.Values, url.Values) {
			v := alipay.params(no, "68.00", "TRADE_SUCCESS")
			v.Set("method", "alipay.trade.page.pay.return")
			v.Set("timestamp", v.Get("notify_time"))
			switch i % 3 {
			case 0:
				v.Set("sign_type", "RSA2")
				v.Set("sign", "Zm9yZ2Vk")
			case 1:
				v = signedRSA2(v, strangerKey())
			}
			return http.MethodGet, v, nil
		}},
		{"wechat", "wechat", func(no string, _ int) (string, url.Values, url.Values) {
			return http.MethodGet, url.Values{"out_trade_no": {no}, "trade_state": {"SUCCESS"}, "result_code": {"SUCCESS"}}, nil
		}},
		{"unionpay", "card", func(no string, i int) (string, url.Values, url.Values) {
			f := card.fields(no, "6800")
			if i%2 == 0 {
				f = acpSign(f, card.merKey, card.merCert)
			} else {
				f = acpSign(f, card.acpKey, card.acpCert)
				f["txnAmt"] = "1" // signed for another amount
			}
			form := url.Values{}
			for k, v := range f {
				form.Set(k, v)
			}
			return http.MethodPost, nil, form
		}},
		{"paypal", "paypal", func(no string, i int) (string, url.Values, url.Values) {
			token := p.orderRef(no)
			if i%2 == 1 {
				token = "5O190127TN364715T"
			}
			return http.MethodGet, url.Values{"token": {token}, "PayerID": {"FORGEDPAYER1"}}, nil
		}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := p.with(t)
			b := p.browser()
			b.register(fmt.Sprintf("returner_%d", i), goodPassword)
			no := p.order(b, c.method, "68")
			p.pay(b, no)
			through := 0
			for r := range reloads {
				before := p.money()
				method, query, form := c.forge(no, r)
				ret := b.do(method, "/recharge/orders/"+no+"/return?"+query.Encode(), form)
				page := b.get("/recharge/orders/" + no)
				state := stateAttr.FindStringSubmatch(page.body)
				if p.money() != before || ret.status >= 500 || page.status != http.StatusOK ||
					state == nil || state[1] == "paid" || strings.Contains(page.body, "充值成功") {
					through++
					t.Logf("reload %d got through: return %d, page %d %v", r, ret.status, page.status, state)
				}
			}
			figures.Record(t, "security", c.name+" return page: forged success, no notification", reloads, through)
			if through != 0 {
				t.Errorf("%d of %d forged returns got through (a credit, a 5xx or a page saying paid)", through, reloads)
			}
			p.expectUncredited(t, b, no)
		})
	}
}
