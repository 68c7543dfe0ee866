package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// payLanguage is what a person topping up reads, written out here (not
// looked up in the catalog) so that a wrong translation fails.
type payLanguage struct {
	youReceive   string
	paid         string
	failed       string
	wrongDetails string
	maintenance  string
	allClosed    string
	tooHigh      string // ¥20,000.01 by WeChat Pay, whose maximum is ¥20,000.00
	// The order states and what they offer.
	awaiting     string
	cancelled    string
	closed       string
	notCompleted string
	continuePay  string
	otherMethod  string
	cancelOrder  string
	payAgain     string
	timeLeft     string
	newQR        string
}

var payLanguages = map[string]payLanguage{
	"zh-CN": {
		youReceive:   "到账金额",
		paid:         "充值成功",
		failed:       "充值失败",
		wrongDetails: "支付信息有误（如支付密码或卡信息错误），本次没有扣款。",
		maintenance:  "维护中",
		allClosed:    "所有支付方式正在维护，暂时无法充值，请稍后再试。",
		tooHigh:      "单笔最高 ¥20,000.00，超出 ¥0.01。",
		awaiting:     "待支付",
		cancelled:    "已取消",
		closed:       "已关闭",
		notCompleted: "尚未完成支付",
		continuePay:  "继续支付",
		otherMethod:  "换一种方式",
		cancelOrder:  "取消订单",
		payAgain:     "重新支付",
		timeLeft:     "剩余支付时间",
		newQR:        "获取新的二维码",
	},
	"en": {
		youReceive:   "You receive",
		paid:         "Top-up complete",
		failed:       "Top-up failed",
		wrongDetails: "The payment details were wrong (password or card details). Nothing was charged.",
		maintenance:  "Under maintenance",
		allClosed:    "All payment methods are under maintenance. Please try again later.",
		tooHigh:      "The maximum per top-up is ¥20,000.00; that is ¥0.01 over.",
		awaiting:     "Awaiting payment",
		cancelled:    "Cancelled",
		closed:       "Closed",
		notCompleted: "Payment not completed",
		continuePay:  "Continue to pay",
		otherMethod:  "Use another method",
		cancelOrder:  "Cancel the order",
		payAgain:     "Pay again",
		timeLeft:     "Time left to pay",
		newQR:        "Get a new QR code",
	},
}

func payLang(v variant) payLanguage {
	l, ok := payLanguages[v.lang.tag]
	if !ok {
		panic("no pay strings for " + v.lang.tag)
	}
	return l
}

// The sandbox's test credentials (payment/sandbox/...): every provider's
// payment password, and UnionPay's test card with the details it needs.
const (
	sandboxPassword = "123456"
	testCard        = "6216261000000000018" // 00 支付成功
	testCardExpiry  = "1233"                // MMYY
	testCardCVN2    = "123"
	testCardMobile  = "13552535506"
	testCardSMS     = "111111"
)

// resultPathRE is our result page's path; its group is the order number.
var resultPathRE = regexp.MustCompile(`^/recharge/orders/([0-9A-Za-z]{16,32})$`)

// payPage is a person's tab that goes back and forth between our site and
// the sandbox gateway.
type payPage struct {
	*page
	s          *paySite
	browserCtx context.Context
}

// secondTab is another device of the same person (its own browser context:
// a phone shares no cookies with the desktop), on the sandbox's pages. Its
// screenshots go with this subtest's, numbered on from them.
func (p *payPage) secondTab(dev device) *payPage {
	p.t.Helper()
	ctx, probs := openTab(p.t, p.browserCtx, dev, "zh-CN,zh;q=0.9")
	q := &page{t: p.t, ctx: ctx, base: p.s.webOrigin, phone: dev.mobile, width: dev.width, out: p.out, shots: p.shots, probs: probs}
	excuseSandboxFavicon(p.s, probs)
	p.t.Cleanup(q.checkProblems)
	return &payPage{page: q, s: p.s, browserCtx: p.browserCtx}
}

// signUp registers a new person through the register page and lands in the
// account center with an empty wallet, in the variant's language.
func (p *payPage) signUp(v variant, journey string) string {
	p.t.Helper()
	name := uniqueName(p.t, v, journey)
	p.visit("/register")
	if got := p.attr(chromedp.CSS("html"), "lang"); got != v.lang.tag {
		p.fail("register page language is %q, want %q", got, v.lang.tag)
	}
	p.fill(byID("username"), name)
	p.fill(byID("password"), password)
	p.follow(byTestID("register-submit"), "/account")
	p.wantBalance("0")
	return name
}

// wantBalance checks the account center's balance, in fen.
func (p *payPage) wantBalance(fen string) {
	p.t.Helper()
	if got := p.attr(byID("balance"), "data-fen"); got != fen {
		p.fail("account balance data-fen = %q, want %q (shows %q)", got, fen, p.text(byID("balance")))
	}
}

// openRecharge goes to the recharge page by the navigation bar.
func (p *payPage) openRecharge() {
	p.t.Helper()
	p.follow(chromedp.CSS(`nav a[href="/recharge"]`), "/recharge")
}

// chooseMethod picks a payment method and waits for the choice to hold.
func (p *payPage) chooseMethod(m string) {
	p.t.Helper()
	p.scrollToMiddle(byTestID("method-" + m))
	p.press(byTestID("method-" + m))
	p.waitFor("method "+m+" to be chosen", fmt.Sprintf(`document.querySelector(%q).checked`, string(byTestID("method-"+m))))
}

// choosePreset presses a preset amount. Its radio is visually hidden; the
// person presses the tile that shows the amount.
func (p *payPage) choosePreset(yuan string) {
	p.t.Helper()
	radio := byTestID("preset-" + yuan)
	p.scrollToMiddle(chromedp.CSS(string(radio) + " + span"))
	p.press(chromedp.CSS(string(radio) + " + span"))
	p.waitFor("preset "+yuan+" to be chosen", fmt.Sprintf(`document.querySelector(%q).checked`, string(radio)))
}

// scrollToMiddle scrolls sel to the middle of the screen, as a person
// does before pressing something: on a phone the pay bar is fixed over
// the bottom of the screen, and a tap there lands on the bar.
func (p *payPage) scrollToMiddle(sel chromedp.CSS) {
	p.t.Helper()
	eval[chromedp.Void](p.page, fmt.Sprintf(`document.querySelector(%q).scrollIntoView({block: "center"})`, string(sel)))
}

// waitPreview waits for the live preview, updated in place by htmx, to
// contain want, and checks that the page was neither reloaded nor left.
//
// The preview (pay bar and its button included) is swapped whole for each
// change, so it is waited for with no htmx request in flight: a press on
// the old bar while a swap is on its way lands on a node about to go, or
// posts the fingerprint of the terms shown before (seen in CI).
func (p *payPage) waitPreview(what, want string) {
	p.t.Helper()
	p.waitFor(what, fmt.Sprintf(`(e => e && e.innerText.includes(%q) && !document.querySelector(".htmx-request"))(document.querySelector(%q))`, want, string(byTestID("preview"))))
	if !p.sameDocument() {
		p.fail("the preview reloaded the whole page instead of updating in place")
	}
	p.wantPath("/recharge")
}

// location is where the tab is: its origin and its path.
func (p *payPage) location() (origin, path string) {
	p.t.Helper()
	type loc struct{ Origin, Path string }
	l := eval[loc](p.page, `({Origin: location.origin, Path: location.pathname})`)
	return l.Origin, l.Path
}

// pressAndLeave presses sel, which submits a form or follows a link to a
// new document, and waits until the tab has left the current one.
func (p *payPage) pressAndLeave(sel chromedp.CSS) {
	p.t.Helper()
	p.markDocument()
	p.press(sel)
	p.waitFor("a new page after pressing "+string(sel), `window.__e2eDocument === undefined`)
}

// waitCashier waits for the sandbox's cashier page for our order (its form,
// or, with final, its closing message) and checks the amount it asks for.
func (p *payPage) waitCashier(amount string, final bool) {
	p.t.Helper()
	hook := byTestID("cashier-pay")
	if final {
		hook = byTestID("cashier-message")
	}
	p.waitFor("the sandbox cashier page", fmt.Sprintf(`location.origin === %q && document.readyState === "complete" && %s`,
		p.s.webOrigin, existsJS(hook)))
	p.wantText(byTestID("sandbox-badge"), "SANDBOX")
	if amount != "" {
		p.wantText(byTestID("cashier-amount"), amount)
	}
}

// typeInto replaces what a field holds with value, as a person selecting
// the field's text and typing over it.
func (p *payPage) typeInto(sel chromedp.CSS, value string) {
	p.t.Helper()
	p.do("type into "+string(sel), chromedp.WaitVisible(sel), chromedp.Clear(sel), chromedp.SendKeys(sel, value))
	if got := p.value(sel); got != value {
		p.fail("%s holds %q after typing %q", sel, got, value)
	}
}

// payOnCashier fills the cashier form of method m with the right details
// and the success outcome (password is what is typed), and submits it.
func (p *payPage) payOnCashier(m, password string) {
	p.t.Helper()
	switch m {
	case "card":
		p.wantText(chromedp.CSS("table"), testCard)
		p.typeInto(byID("f-accNo"), testCard)
		p.typeInto(byID("f-expire"), testCardExpiry)
		p.typeInto(byID("f-cvn2"), testCardCVN2)
		p.typeInto(byID("f-phoneNo"), testCardMobile)
		p.typeInto(byID("f-password"), password)
		p.typeInto(byID("f-smsCode"), testCardSMS)
	case "paypal":
		p.typeInto(byID("f-login_password"), password)
	default:
		p.typeInto(byID("f-password"), password)
	}
	p.press(byTestID("outcome-success"))
	p.waitFor("the success outcome to be chosen", fmt.Sprintf(`document.querySelector(%q).checked`, string(byTestID("outcome-success"))))
	p.snapCashier("cashier-filled")
	p.pressAndLeave(byTestID("cashier-pay"))
	if m == "card" {
		// UnionPay shows its result and returns the person with a form
		// they post to us (its front notification).
		p.waitCashier("¥68.00", true)
		p.wantText(byTestID("cashier-message"), "支付成功")
		p.wantText(byTestID("unionpay-respcode"), "respCode=00")
		p.snapCashier("cashier-paid")
		p.pressAndLeave(byTestID("cashier-return"))
	}
}

// waitResult waits for our result page of an order to show state: it polls
// by itself (htmx) while the order is pending. It returns the order number.
func (p *payPage) waitResult(state string) string {
	p.t.Helper()
	p.waitFor("our result page", fmt.Sprintf(`location.origin === %q && /^\/recharge\/orders\/[0-9A-Za-z]+$/.test(location.pathname) && window.htmx !== undefined && document.readyState === "complete"`,
		p.base))
	_, path := p.location()
	no := resultPathRE.FindStringSubmatch(path)
	if no == nil {
		p.fail("result page at %q has no order number", path)
	}
	p.waitFor("the result to be "+state, existsJS(chromedp.CSS(fmt.Sprintf(`[data-testid="result"][data-state=%q]`, state))))
	return no[1]
}

// snapCashier saves a screenshot of a sandbox page: the provider's page,
// not ours, so its width at a phone is reported but does not fail the test.
func (p *payPage) snapCashier(step string) {
	p.t.Helper()
	if p.phone {
		type widths struct{ Scroll, Inner int64 }
		w := eval[widths](p.page, `({Scroll: document.documentElement.scrollWidth, Inner: window.innerWidth})`)
		if w.Scroll > w.Inner || w.Inner != p.width {
			p.t.Logf("note: sandbox page %s is %dpx wide on a %dpx phone (layout viewport %dpx)", step, w.Scroll, p.width, w.Inner)
		}
	}
	phone := p.phone
	p.phone = false // the overflow check in snap is for our pages
	defer func() { p.phone = phone }()
	p.snap(step)
}

// orderColumn reads one column of an order as the database holds it: its
// state, the device flow the provider was asked for, where the person was
// sent.
func (s *paySite) orderColumn(t *testing.T, no, column string) string {
	t.Helper()
	var v string
	err := s.store.DB().GetContext(context.Background(), &v,
		`SELECT `+column+` FROM recharge_orders WHERE out_trade_no = $1`, no)
	if err != nil {
		t.Fatalf("read %s of order %s: %v", column, no, err)
	}
	return v
}

// excuseSandboxFavicon excuses the one thing the sandbox gateway's pages
// make the browser complain about: they have no icon, and the browser's
// guess at /favicon.ico is a 404. Anything else on them still fails.
func excuseSandboxFavicon(s *paySite, probs *problems) {
	probs.expect("the sandbox gateway's missing favicon", 100, func(pr problem) bool {
		return pr.kind == "log.network" && (pr.url == s.gwOrigin+"/favicon.ico" || pr.url == s.webOrigin+"/favicon.ico") &&
			strings.Contains(pr.text, "404")
	})
}
