package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
	"im2pay/recharge"
)

var (
	countdownAttr = regexp.MustCompile(`data-countdown="(\d+)"`)
	rowState      = regexp.MustCompile(`data-testid="order-state" data-state="([a-z]+)"`)
	accountState  = regexp.MustCompile(`data-testid="account-order-state" data-state="([a-z]+)"`)
)

// phoneUA makes the wallet pick the phone flows (Alipay wap pay, WeChat H5).
const phoneUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"

// everyPageSays checks that the result page, its poll, 我的充值 and the
// account center all show an order in the same state.
func everyPageSays(t *testing.T, b *browser, no, state string) {
	t.Helper()
	for _, path := range []string{"/recharge/orders/" + no, "/recharge/orders/" + no + "/status"} {
		a := b.get(path, "HX-Request", "true")
		if m := stateAttr.FindStringSubmatch(a.body); m == nil || m[1] != state {
			t.Fatalf("%s shows %v, want %s:\n%.1500s", path, m, state, a.body)
		}
	}
	orders := b.get("/recharge/orders").body
	if m := rowState.FindStringSubmatch(orders); m == nil || m[1] != state {
		t.Fatalf("我的充值 shows the order as %v, want %s", m, state)
	}
	// A bonus is promised only while the order can still be paid, and
	// shown as received only once it was.
	open := state == recharge.OrderAwaiting || state == recharge.OrderProcessing || state == recharge.OrderPaid
	if shown := strings.Contains(orders, `data-testid="order-bonus"`); shown != open {
		t.Fatalf("我的充值 shows a bonus: %v, for an order %s", shown, state)
	}
	if m := accountState.FindStringSubmatch(b.get("/account").body); m == nil || m[1] != state {
		t.Fatalf("the account center shows the order as %v, want %s", m, state)
	}
}

// waitState polls the result page until the order is in state want, or
// gives up after settleBound (a hang guard, not a timing) and returns the
// state it shows then.
func (p *paySite) waitState(b *browser, no, want string) string {
	p.t.Helper()
	deadline := time.Now().Add(settleBound)
	for {
		m := stateAttr.FindStringSubmatch(b.get("/recharge/orders/" + no).body)
		if m == nil {
			p.t.Fatal("result page without a state")
		}
		if m[1] == want || time.Now().After(deadline) {
			return m[1]
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestTheDatabaseRefusesMovesTheStateMachineForbids(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("machine", goodPassword)
	no := p.order(b, "alipay", "6")
	ctx := context.Background()
	move := func(to string) error {
		_, err := p.store.DB().ExecContext(ctx, `UPDATE recharge_orders SET state = $2 WHERE out_trade_no = $1`, no, to)
		return err
	}
	for _, step := range []struct {
		to string
		ok bool
	}{
		{"processing", true}, {"awaiting", true}, {"cancelled", true},
		{"awaiting", false}, {"processing", false}, {"closed", false}, {"failed", false},
	} {
		if err := move(step.to); (err == nil) != step.ok {
			t.Fatalf("move to %s: err = %v, want allowed %v", step.to, err, step.ok)
		}
	}
	_, err := p.store.DB().ExecContext(ctx, `UPDATE recharge_orders SET fail_reason = 'declined' WHERE out_trade_no = $1`, no)
	if err == nil {
		t.Fatal("a cancelled order took a failure reason")
	}
}

// 取消订单 on our own pages, for every method: 已取消 on every page, and it
// stays so however often the page polls; the order is closed at the
// provider where the provider has a close.
func TestCancellingAnOrderStaysCancelledForEveryMethod(t *testing.T) {
	p := newPaySite(t)
	for i, m := range []string{"alipay", "wechat", "card", "paypal"} {
		t.Run(m, func(t *testing.T) {
			p := p.with(t)
			b := p.browser()
			b.register(fmt.Sprintf("canceller_%d", i), goodPassword)
			no := p.order(b, m, "30")
			p.pay(b, no)
			everyPageSays(t, b, no, recharge.OrderAwaiting)
			a := b.post("/recharge/orders/"+no, "/recharge/orders/"+no+"/cancel", url.Values{})
			expectRedirect(t, a, "/recharge/orders/"+no)
			for range 5 {
				a := b.get("/recharge/orders/"+no+"/status", "HX-Request", "true")
				expectLacks(t, a, "hx-get", "hx-trigger")
			}
			everyPageSays(t, b, no, recharge.OrderCancelled)
			expectContains(t, b.get("/recharge/orders/"+no), "已取消", "重新支付", `action="/recharge/orders/`+no+`/renew"`)
			if m == "alipay" || m == "wechat" {
				if n := p.ledgerCount(`SELECT count(*) FROM payment_events WHERE out_trade_no = $1 AND kind = 'close'`, no); n != 1 {
					t.Fatalf("%d closes asked of %s, want 1", n, m)
				}
			}
			// WeChat closed the order: its cashier takes no more money.
			// Alipay never created a trade nobody logged in to, UnionPay's
			// gateway has no close, PayPal's order is never captured: a
			// payment that still arrives is credited, never lost.
			_, err := p.gw.Simulate(context.Background(), no, sim.Success)
			switch m {
			case "wechat":
				if err == nil {
					t.Fatal("WeChat took a payment for an order closed there")
				}
			case "paypal":
				everyPageSays(t, b, no, recharge.OrderCancelled)
			default:
				if state := p.waitState(b, no, recharge.OrderPaid); err != nil || state != recharge.OrderPaid {
					t.Fatalf("a payment taken after the cancel left the order %s (%v), want it credited", state, err)
				}
			}
		})
	}
}

// Once the person logged in at Alipay's cashier the trade exists, and
// 取消订单 closes it there: the cashier takes no more money.
func TestCancellingAfterAlipayLoginClosesTheTrade(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("ali_closer", goodPassword)
	no := p.order(b, "alipay", "30")
	p.pay(b, no)
	p.settle(b, no, sim.InsufficientFunds)
	b.post("/recharge/orders/"+no, "/recharge/orders/"+no+"/cancel", url.Values{})
	everyPageSays(t, b, no, recharge.OrderCancelled)
	if _, err := p.gw.Simulate(context.Background(), no, sim.Success); err == nil {
		t.Fatal("Alipay took a payment for a trade closed there")
	}
}

// PayPal's cancel_url brings the person back 已取消 (PayPal has no close:
// the order is never captured).
func TestPayPalsCancelReturnStaysCancelled(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("pp_cancel", goodPassword)
	no := p.order(b, "paypal", "30")
	p.pay(b, no)
	p.settle(b, no, sim.Cancel)
	everyPageSays(t, b, no, recharge.OrderCancelled)
	for range 3 {
		a := b.get("/recharge/orders/"+no+"/status", "HX-Request", "true")
		if m := stateAttr.FindStringSubmatch(a.body); m == nil || m[1] != recharge.OrderCancelled {
			t.Fatalf("a poll turned the cancelled order into %v", m)
		}
	}
}

// Leaving Alipay's or WeChat's cashier without paying comes back 待支付,
// with its countdown, 继续支付, 换一种方式 and 取消订单, never 处理中.
func TestLeavingTheCashierUnpaidReadsAwaiting(t *testing.T) {
	p := newPaySite(t)
	for i, m := range []string{"alipay", "wechat"} {
		t.Run(m, func(t *testing.T) {
			p := p.with(t)
			b := p.browser()
			b.header.Set("User-Agent", phoneUA) // wap pay and H5 send the person back
			b.register(fmt.Sprintf("leaver_%d", i), goodPassword)
			no := p.order(b, m, "30")
			p.pay(b, no)
			p.settle(b, no, sim.Cancel)
			everyPageSays(t, b, no, recharge.OrderAwaiting)
			page := b.get("/recharge/orders/" + no)
			expectContains(t, page, "尚未完成支付", "继续支付", "换一种方式", "取消订单", `href="/recharge/orders/`+no+`/pay"`)
			expectLacks(t, page, "处理中")
			if !strings.Contains(page.body, `hx-get="/recharge/orders/`+no+`/status"`) {
				t.Fatal("an awaiting order's page does not poll")
			}
		})
	}
}

// An order made and never paid: 待支付 with the time left by the app's
// clock, and 继续支付 back to the provider.
func TestAnUnpaidOrderCountsDownAndContinues(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("unpaid", goodPassword)
	no := p.order(b, "alipay", "30")
	page := b.get("/recharge/orders/" + no)
	expectContains(t, page, "待支付", "剩余支付时间", "继续支付", "取消订单")
	m := countdownAttr.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatal("no countdown on an unpaid order")
	}
	if left, _ := strconv.Atoi(m[1]); left < 29*60 || left > 30*60 {
		t.Fatalf("countdown starts at %ds, want about 30 minutes", left)
	}
	expectContains(t, page, `src="/static/js/countdown.js"`)
	a := b.get("/recharge/orders/" + no + "/pay")
	if a.status != http.StatusSeeOther || !strings.Contains(a.header.Get("Location"), "alipay") {
		t.Fatalf("继续支付 answered %d %q, want the way to Alipay's cashier", a.status, a.header.Get("Location"))
	}
}

// 再次查询 always answers, with what the provider said and when.
func TestCheckAgainAlwaysAnswers(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("checker", goodPassword)
	fresh := p.order(b, "alipay", "30")
	a := b.post("/recharge/orders/"+fresh, "/recharge/orders/"+fresh+"/check", url.Values{})
	loc := a.header.Get("Location")
	if !strings.Contains(loc, "said=not_started") {
		t.Fatalf("recheck of an order never started went to %q", loc)
	}
	expectContains(t, b.get(loc), "已向支付宝查询：尚未发起付款（")

	no := p.order(b, "wechat", "30")
	p.pay(b, no)
	a = b.post("/recharge/orders/"+no, "/recharge/orders/"+no+"/check", url.Values{})
	loc = a.header.Get("Location")
	page := b.get(loc)
	at := time.Now().In(time.FixedZone("CST", 8*3600)).Format("15:04")
	if !strings.Contains(page.body, "已向微信支付查询：尚未付款（"+at+"）") &&
		!strings.Contains(page.body, "已向微信支付查询：尚未付款（"+time.Now().Add(-time.Minute).In(time.FixedZone("CST", 8*3600)).Format("15:04")+"）") {
		t.Fatalf("no answer on the result page:\n%.2000s", page.body)
	}
	p.settle(b, no, sim.DropNotify)
	a = b.post("/recharge/orders/"+no, "/recharge/orders/"+no+"/check", url.Values{})
	expectContains(t, b.get(a.header.Get("Location")), "已向微信支付查询：已付款，充值成功")
	everyPageSays(t, b, no, recharge.OrderPaid)
}

// "我已支付" on the QR page: 处理中 until WeChat says it was paid.
func TestIHavePaidReadsProcessingUntilConfirmed(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("saidpaid", goodPassword)
	no := p.order(b, "wechat", "30")
	p.pay(b, no)
	a := b.post("/recharge/orders/"+no+"/pay", "/recharge/orders/"+no+"/paid", url.Values{})
	expectRedirect(t, a, "/recharge/orders/"+no)
	everyPageSays(t, b, no, recharge.OrderProcessing)
	p.settle(b, no, sim.DropNotify)
	if state, _ := p.result(b, no, 10*time.Second); state != recharge.OrderPaid {
		t.Fatalf("order is %s after the payment, want paid", state)
	}
}

// 重新支付 makes one new order like the cancelled one, however often pressed.
func TestPayAgainMakesOneNewOrder(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("again", goodPassword)
	no := p.order(b, "wechat", "30")
	b.post("/recharge/orders/"+no, "/recharge/orders/"+no+"/cancel", url.Values{})
	first := b.post("/recharge/orders/"+no, "/recharge/orders/"+no+"/renew", url.Values{})
	second := b.post("/recharge/orders/"+no, "/recharge/orders/"+no+"/renew", url.Values{})
	m := orderPath.FindStringSubmatch(first.header.Get("Location"))
	if m == nil || m[1] == no || second.header.Get("Location") != first.header.Get("Location") {
		t.Fatalf("renew went to %q, then %q", first.header.Get("Location"), second.header.Get("Location"))
	}
	if n := p.ledgerCount(`SELECT count(*) FROM recharge_orders WHERE amount = 3000`); n != 2 {
		t.Fatalf("%d orders, want the cancelled one and its renewal", n)
	}
}

// failingClose is a provider whose close never gets through.
type failingClose struct{ payment.Provider }

func (failingClose) Close(context.Context, string, string) error {
	return errors.New("provider unreachable")
}

// A cancel the provider could not confirm leaves the order open, payable
// and honest about it: the page says the close did not go through.
func TestACancelTheProviderCannotConfirmLeavesTheOrderOpen(t *testing.T) {
	p := newPaySiteWith(t, paySiteOptions{wrap: func(m map[payment.Method]payment.Provider) map[payment.Method]payment.Provider {
		out := map[payment.Method]payment.Provider{}
		for k, v := range m {
			out[k] = v
		}
		out[payment.WeChat] = failingClose{m[payment.WeChat]}
		return out
	}})
	b := p.browser()
	b.register("unclosed", goodPassword)
	no := p.order(b, "wechat", "30")
	p.pay(b, no)
	a := b.post("/recharge/orders/"+no, "/recharge/orders/"+no+"/cancel", url.Values{})
	expectContains(t, b.get(a.header.Get("Location")), "微信支付暂时无法关闭这笔订单，订单仍可支付")
	everyPageSays(t, b, no, recharge.OrderAwaiting)
}

// UnionPay states a cancellation itself (respCode 69, PROVIDERS.md §3.2):
// the sandbox's cancel on the card page comes back 已取消 and stays so.
func TestUnionPaysCancelStaysCancelled(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("card_cancel", goodPassword)
	no := p.order(b, "card", "30")
	p.pay(b, no)
	p.settle(b, no, sim.Cancel)
	if state := p.waitState(b, no, recharge.OrderCancelled); state != recharge.OrderCancelled {
		t.Fatalf("order is %s after cancelling on the card page, want cancelled", state)
	}
	everyPageSays(t, b, no, recharge.OrderCancelled)
}
