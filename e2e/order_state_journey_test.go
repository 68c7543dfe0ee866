package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Journeys of issue 11 §2: order states that tell the truth. Each order
// reads the same on the result page, in 我的充值 and in the account center.

// latestOrder is the number of a person's newest order.
func (s *paySite) latestOrder(t *testing.T, name string) string {
	t.Helper()
	var no string
	err := s.store.DB().GetContext(context.Background(), &no,
		`SELECT out_trade_no FROM recharge_orders WHERE user_id = $1 ORDER BY id DESC LIMIT 1`, s.userID(t, name))
	if err != nil {
		t.Fatalf("the newest order of %s: %v", name, err)
	}
	return no
}

// startPayment signs a new person up and sends them to pay ¥68 with m: to
// the provider's cashier page, or to our QR page for WeChat on a desktop.
// It returns the person's name and the order number.
func (p *payPage) startPayment(v variant, m, journey string) (string, string) {
	p.t.Helper()
	l := payLang(v)
	name := p.signUp(v, journey)
	p.openRecharge()
	p.markDocument()
	p.chooseMethod(m)
	p.choosePreset("68.00")
	// A new person's ¥68: the 5% tier bonus and the first top-up bonus.
	p.waitFor("the preview to show ¥77.40", fmt.Sprintf(`(e => e && e.innerText.trim() === "¥77.40")(document.querySelector(%q))`, string(byTestID("quote-receive"))))
	p.waitPreview("the preview", l.youReceive)
	p.pressAndLeave(byTestID("recharge-next"))
	if m == "wechat" && !p.phone {
		p.waitFor("our QR page", fmt.Sprintf(`/^\/recharge\/orders\/[0-9A-Za-z]+\/pay$/.test(location.pathname) && window.htmx !== undefined && %s`,
			existsJS(byTestID("qr"))))
	} else {
		p.waitCashier(cashierAmountOf68(m), false)
	}
	p.snapCashier("cashier")
	return name, p.s.latestOrder(p.t, name)
}

// openOrder goes to 我的充值 by the navigation bar, checks the order's row
// shows state (in words and as data), and opens the order.
func (p *payPage) openOrder(no, state, label string) {
	p.t.Helper()
	p.visit("/account")
	p.follow(chromedp.CSS(`nav a[href="/recharge/orders"]`), "/recharge/orders")
	row := chromedp.CSS(fmt.Sprintf(`[data-testid="order-row"]:has(a[href="/recharge/orders/%s"])`, no))
	p.wantText(chromedp.CSS(string(row)+` [data-testid="order-state"]`), label)
	if got := p.attr(chromedp.CSS(string(row)+` [data-testid="order-state"]`), "data-state"); got != state {
		p.fail("我的充值 shows order %s as %q, want %q", no, got, state)
	}
	p.snap("orders")
	p.pressAndLeave(chromedp.CSS(string(row) + ` a[href="/recharge/orders/` + no + `"]`))
	p.waitResult(state)
}

// wantEverywhere checks that 我的充值 and the account center show the order
// in state, with the same words.
func (p *payPage) wantEverywhere(no, state, label string) {
	p.t.Helper()
	p.follow(chromedp.CSS(`nav a[href="/recharge/orders"]`), "/recharge/orders")
	row := fmt.Sprintf(`[data-testid="order-row"]:has(a[href="/recharge/orders/%s"]) [data-testid="order-state"]`, no)
	p.wantText(chromedp.CSS(row), label)
	if got := p.attr(chromedp.CSS(row), "data-state"); got != state {
		p.fail("我的充值 shows order %s as %q, want %q", no, got, state)
	}
	p.snap("orders")
	p.follow(chromedp.CSS(`nav a[href="/account"]`), "/account")
	badge := chromedp.CSS(fmt.Sprintf(`[data-testid="account-order"][data-order=%q] [data-testid="account-order-state"]`, no))
	p.wantText(badge, label)
	if got := p.attr(badge, "data-state"); got != state {
		p.fail("the account center shows order %s as %q, want %q", no, got, state)
	}
}

// pollStays asks the result page's status endpoint n times in a row, as
// its poll would, and checks every answer still shows state; and that the
// page itself has stopped polling. Counted polls, not elapsed time.
func (p *payPage) pollStays(no, state string, n int) {
	p.t.Helper()
	if p.present(chromedp.CSS(`[data-testid="result"][hx-get]`)) {
		p.fail("the result page of a %s order still polls", state)
	}
	eval[chromedp.Void](p.page, fmt.Sprintf(`(() => {
		window.__polls = [];
		(async () => {
			for (let i = 0; i < %d; i++) {
				const r = await fetch(%q, {headers: {"HX-Request": "true"}});
				const m = (await r.text()).match(/data-testid="result" data-state="([a-z]+)"/);
				window.__polls.push(m ? m[1] : "status " + r.status);
			}
		})();
	})()`, n, "/recharge/orders/"+no+"/status"))
	p.waitFor(fmt.Sprintf("%d polls", n), fmt.Sprintf(`window.__polls && window.__polls.length === %d`, n))
	got := eval[[]string](p.page, `window.__polls`)
	for i, s := range got {
		if s != state {
			p.fail("poll %d of %d turned the %s order into %q", i+1, n, state, s)
		}
	}
}

// wantActions checks the result page offers exactly what an unpaid order
// offers: 继续支付, 换一种方式 and 取消订单, and no failure reason.
func (p *payPage) wantAwaitingActions(l payLanguage) {
	p.t.Helper()
	p.wantText(byTestID("result-continue"), l.continuePay)
	p.wantText(byTestID("result-other-method"), l.otherMethod)
	p.wantText(byTestID("result-cancel"), l.cancelOrder)
	p.wantText(byTestID("result-state"), l.awaiting)
	if p.present(byTestID("result-reason")) {
		p.fail("an unpaid order gives a reason: %q", p.text(byTestID("result-reason")))
	}
	if !p.present(byTestID("countdown")) {
		p.fail("an unpaid order shows no time left")
	}
}

// cancelJourney: the person starts paying with m, comes back to our site
// without paying and presses 取消订单 (on the QR page for WeChat on a
// desktop, else on the order's page reached from 我的充值). The order reads
// 已取消 on every page, and keeps reading so through repeated polls.
func cancelJourney(p *payPage, v variant, m string) {
	l := payLang(v)
	_, no := p.startPayment(v, m, "c"+m[:2])
	if m == "wechat" && !p.phone {
		p.pressAndLeave(byTestID("result-cancel"))
	} else {
		p.openOrder(no, "awaiting", l.awaiting)
		p.snap("result-awaiting")
		p.pressAndLeave(byTestID("result-cancel"))
	}
	p.waitResult("cancelled")
	p.wantText(byTestID("result-title"), l.cancelled)
	p.wantText(byTestID("result-pay-again"), l.payAgain)
	p.snap("result-cancelled")
	p.pollStays(no, "cancelled", 6)
	p.wantEverywhere(no, "cancelled", l.cancelled)
	if got := p.s.orderColumn(p.t, no, "state"); got != "cancelled" {
		p.fail("order %s is %q in the database, want cancelled", no, got)
	}
}

// payPalCancelReturnJourney: "Cancel and return" on PayPal's page brings
// the person back to an order that reads 已取消 and stays so.
func payPalCancelReturnJourney(p *payPage, v variant) {
	l := payLang(v)
	_, no := p.startPayment(v, "paypal", "ppret")
	p.pressAndLeave(byTestID("cashier-cancel"))
	p.waitResult("cancelled")
	p.wantText(byTestID("result-title"), l.cancelled)
	p.snap("result-cancelled")
	p.pollStays(no, "cancelled", 6)
	p.wantEverywhere(no, "cancelled", l.cancelled)
}

// leaveAlipayJourney: the person leaves Alipay's cashier without paying and
// comes back to 待支付 (尚未完成支付), never 处理中, with the time left
// counting down; 继续支付 returns to the same cashier.
func leaveAlipayJourney(p *payPage, v variant) {
	l := payLang(v)
	_, no := p.startPayment(v, "alipay", "lvali")
	p.pressAndLeave(byTestID("cashier-cancel"))
	p.waitResult("awaiting")
	p.wantText(byTestID("result-title"), l.notCompleted)
	p.wantAwaitingActions(l)
	p.wantText(byTestID("result"), l.timeLeft)
	first := p.text(byTestID("countdown"))
	p.waitFor("the countdown to move", fmt.Sprintf(`(e => e && e.textContent.trim() !== %q && /^\d\d:\d\d$/.test(e.textContent.trim()))(document.querySelector(%q))`,
		first, string(byTestID("countdown"))))
	p.snap("result-awaiting")
	p.wantEverywhere(no, "awaiting", l.awaiting)
	p.openOrder(no, "awaiting", l.awaiting)
	p.pressAndLeave(byTestID("result-continue"))
	p.waitCashier("¥68.00", false)
	p.snapCashier("cashier-again")
}

// leaveWeChatJourney: on a desktop the person leaves the QR page without
// scanning; on a phone they leave WeChat's H5 page. Either way the order
// reads 待支付.
func leaveWeChatJourney(p *payPage, v variant) {
	l := payLang(v)
	_, no := p.startPayment(v, "wechat", "lvwx")
	if p.phone {
		p.pressAndLeave(byTestID("cashier-cancel"))
		p.waitResult("awaiting")
	} else {
		p.openOrder(no, "awaiting", l.awaiting)
	}
	p.wantText(byTestID("result-title"), l.notCompleted)
	p.wantAwaitingActions(l)
	p.snap("result-awaiting")
	p.wantEverywhere(no, "awaiting", l.awaiting)
}

// qrExpiresJourney: WeChat on a desktop, and the order runs out while the
// QR page is open: the page leaves by itself for the closed order, which
// offers a fresh QR code; pressing it shows a new code for a new order.
func qrExpiresJourney(p *payPage, v variant) {
	l := payLang(v)
	name, no := p.startPayment(v, "wechat", "qrexp")
	oldQR := p.attr(byTestID("qr"), "src")
	p.markDocument()
	// The wallet's clock moves past the order's expiry: its next poll
	// finds it expired and closes it, at WeChat Pay too.
	p.s.advance(p.t, 31*time.Minute)
	p.waitFor("the QR page to leave by itself for the closed order",
		`window.__e2eDocument === undefined && /^\/recharge\/orders\/[0-9A-Za-z]+$/.test(location.pathname)`)
	p.waitResult("closed")
	p.wantText(byTestID("result-title"), l.closed)
	p.wantText(byTestID("result-pay-again"), l.newQR)
	p.snap("result-closed")
	p.pressAndLeave(byTestID("result-pay-again"))
	p.waitFor("a new QR page", fmt.Sprintf(`/^\/recharge\/orders\/[0-9A-Za-z]+\/pay$/.test(location.pathname) && %s`, existsJS(byTestID("qr"))))
	fresh := p.s.latestOrder(p.t, name)
	if fresh == no || !strings.Contains(eval[string](p.page, `location.pathname`), fresh) {
		p.fail("the fresh QR code is for order %s, want a new order", fresh)
	}
	if p.attr(byTestID("qr"), "src") == oldQR {
		p.fail("the fresh QR code is the expired one")
	}
	p.wantText(byTestID("pay-amount"), "¥68.00")
	p.snap("qr-fresh")
	if got := p.s.orderColumn(p.t, no, "state"); got != "closed" {
		p.fail("the expired order %s is %q, want closed", no, got)
	}
}

// weChatRefusedJourney: WeChat Pay refuses the payment (not enough money).
// WeChat tells the merchant nothing of it: our page reads 尚未完成支付
// with its three actions, never an invented reason. On a phone the H5
// page shows the refusal and a way back; on a desktop the phone shows it
// and the person opens the order on the computer.
func weChatRefusedJourney(p *payPage, v variant) {
	l := payLang(v)
	_, no := p.startPayment(v, "wechat", "wxref")
	cashier := p
	if !p.phone {
		cashier = p.secondTab(phone)
		cashier.do("open the scan page", chromedp.Navigate(p.attr(byTestID("sandbox-scan"), "href")))
		cashier.waitCashier("¥68.00", false)
	}
	cashier.typeInto(byID("f-password"), sandboxPassword)
	cashier.press(byTestID("outcome-insufficient_funds"))
	cashier.pressAndLeave(byTestID("cashier-pay"))
	cashier.waitCashier("", true)
	cashier.wantText(byTestID("cashier-message"), "支付失败")
	cashier.snapCashier("cashier-refused")
	if p.phone {
		p.pressAndLeave(byTestID("cashier-return"))
		p.waitResult("awaiting")
	} else {
		p.shots = cashier.shots
		p.openOrder(no, "awaiting", l.awaiting)
	}
	p.wantText(byTestID("result-title"), l.notCompleted)
	p.wantAwaitingActions(l)
	p.snap("result-not-completed")
	if got := p.s.orderColumn(p.t, no, "state"); got != "awaiting" {
		p.fail("order %s is %q in the database, want awaiting", no, got)
	}
}
