package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestPayJourneys tops up through the real pages in one browser: our
// recharge page (one press to pay), the provider's sandbox cashier page in
// the same tab, and back to our result page. Every subtest is a new person
// in a tab of its own browser context, run one after another; the
// screenshots go to out/pay/<device>/<language>/<journey>/.
func TestPayJourneys(t *testing.T) {
	s := newPaySite(t)
	browserCtx := startBrowser(t)
	start := time.Now()
	defer func() { t.Logf("pay journeys took %s", time.Since(start).Round(100*time.Millisecond)) }()

	t.Run("pay", func(t *testing.T) {
		t.Run("csp-self-check", func(t *testing.T) { checkFormActionDetection(t, s, browserCtx) })

		type journey struct {
			name string
			run  func(p *payPage, v variant)
		}
		var journeys []journey
		for _, m := range []string{"alipay", "wechat", "card", "paypal"} {
			journeys = append(journeys, journey{m + "-success", func(p *payPage, v variant) { paySuccessJourney(p, v, m) }})
		}
		// Order states (issue 11 §2): 取消订单 for every method, PayPal's
		// cancel return, leaving a cashier unpaid, a QR code that expires.
		for _, m := range []string{"alipay", "wechat", "card", "paypal"} {
			journeys = append(journeys, journey{m + "-cancel", func(p *payPage, v variant) { cancelJourney(p, v, m) }})
		}
		// Refusals Alipay and WeChat Pay do not report: 尚未完成支付.
		refused := []journey{
			{"alipay-wrong-password", wrongPaymentPasswordJourney},
			{"wechat-refused", weChatRefusedJourney},
		}
		journeys = append(journeys, refused...)
		journeys = append(journeys,
			journey{"paypal-cancel-return", payPalCancelReturnJourney},
			journey{"alipay-leave", leaveAlipayJourney},
			journey{"wechat-leave", leaveWeChatJourney},
			journey{"over-limit", overLimitJourney},
			// Last: it closes methods for everyone while it runs.
			journey{"maintenance", maintenanceJourney},
		)
		for _, v := range []variant{
			{dev: desktop, lang: zhCN, accept: "zh-CN,zh;q=0.9"},
			{dev: phone, lang: zhCN, accept: "zh-CN,zh;q=0.9"},
		} {
			for _, j := range journeys {
				t.Run(v.dev.name+"/"+v.lang.tag+"/"+j.name, func(t *testing.T) {
					j.run(newPayPage(t, s, browserCtx, v), v)
				})
			}
		}
		// The QR page is WeChat on a desktop only.
		zhDesktop := variant{dev: desktop, lang: zhCN, accept: "zh-CN,zh;q=0.9"}
		t.Run("desktop/zh-CN/wechat-qr-expires", func(t *testing.T) {
			qrExpiresJourney(newPayPage(t, s, browserCtx, zhDesktop), zhDesktop)
		})
		enDesktop := variant{dev: desktop, lang: en, accept: "en-US,en;q=0.9"}
		t.Run("desktop/en/alipay-success", func(t *testing.T) {
			paySuccessJourney(newPayPage(t, s, browserCtx, enDesktop), enDesktop, "alipay")
		})
		for _, v := range []variant{enDesktop, {dev: phone, lang: en, accept: "en-US,en;q=0.9"}} {
			for _, j := range refused {
				t.Run(v.dev.name+"/"+v.lang.tag+"/"+j.name, func(t *testing.T) {
					j.run(newPayPage(t, s, browserCtx, v), v)
				})
			}
		}
	})
}

func newPayPage(t *testing.T, s *paySite, browserCtx context.Context, v variant) *payPage {
	t.Helper()
	p := &payPage{page: newPage(t, s.site, browserCtx, v), s: s, browserCtx: browserCtx}
	excuseSandboxFavicon(s, p.probs)
	return p
}

// checkFormActionDetection proves that our pages send the gateway as a
// form-action origin, and that the listeners hear a form-action violation:
// without it a blocked form post to a provider could pass unnoticed.
func checkFormActionDetection(t *testing.T, s *paySite, browserCtx context.Context) {
	res, err := http.Get(s.url + "/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	csp := res.Header.Get("Content-Security-Policy")
	var formAction string
	for _, d := range strings.Split(csp, ";") {
		if f := strings.Fields(d); len(f) > 0 && f[0] == "form-action" {
			formAction = strings.TrimSpace(d)
		}
	}
	for _, o := range []string{s.gwOrigin, s.webOrigin} {
		if !strings.Contains(" "+formAction+" ", " "+o+" ") {
			t.Errorf("our CSP's form-action %q does not allow the gateway's %s", formAction, o)
		}
	}

	p := newPayPage(t, s, browserCtx, variant{dev: desktop, lang: zhCN, accept: "zh-CN"})
	p.visit("/login")
	// A form to an origin that is not a provider must be refused.
	eval[chromedp.Void](p.page, `(() => {
		const f = Object.assign(document.createElement("form"), {method: "post", action: "http://127.0.0.2:9/pay"});
		document.body.appendChild(f);
		f.submit();
	})()`)
	var got []problem
	// stepTimeout is a hang guard: a busy browser reports late, not never.
	for deadline := time.Now().Add(stepTimeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		got = append(got, p.probs.take()...)
		for _, pr := range got {
			if strings.Contains(pr.text, "form-action") {
				return
			}
		}
	}
	t.Errorf("the listeners missed a form-action violation; they heard: %v", got)
}

// paySuccessJourney: a new person tops up ¥68 with method m and pays on the
// provider's cashier page; ¥77.40 lands (¥68 + 5% tier bonus ¥3.40 + first
// top-up bonus ¥6.00).
func paySuccessJourney(p *payPage, v variant, m string) {
	l := payLang(v)
	name := p.signUp(v, map[string]string{"alipay": "ali", "wechat": "wx", "card": "card", "paypal": "pp"}[m])

	p.openRecharge()
	p.snap("recharge")
	p.markDocument()
	p.chooseMethod(m)
	p.choosePreset("68.00")
	p.waitFor("the preview to show ¥77.40", fmt.Sprintf(`(e => e && e.innerText.trim() === "¥77.40")(document.querySelector(%q))`, string(byTestID("quote-receive"))))
	p.waitPreview("the preview", l.youReceive)
	p.wantText(byTestID("quote-pay"), "¥68.00")
	p.wantText(byTestID("quote-first-bonus"), "+¥6.00")
	p.wantText(byTestID("preview"), "+¥3.40")
	cashierAmount := cashierAmountOf68(m)
	if m == "paypal" {
		p.wantText(byTestID("quote-pay-foreign"), "US$9.45")
		p.wantText(byTestID("quote-pay-foreign"), "1 USD = 7.2000 CNY")
	}
	p.snap("recharge-preview")

	// The pay bar says it again; its button goes straight to the
	// provider: the preview was current, nothing needs a second look.
	p.wantText(byTestID("bar-receive"), "¥77.40")
	p.wantText(byTestID("bar-pay"), cashierAmount)

	if m == "wechat" && !p.phone {
		payByQR(p)
	} else {
		p.pressAndLeave(byTestID("recharge-next"))
		// For a card, our page with UnionPay's form posts itself to the
		// gateway on the way: our CSP's form-action must let it.
		p.waitCashier(cashierAmount, false)
		p.snapCashier("cashier")
		p.payOnCashier(m, sandboxPassword)
	}

	no := p.waitResult("paid")
	p.wantText(byTestID("result-title"), l.paid)
	// ¥68: the 5% tier bonus and the first top-up bonus, each on its own line.
	p.wantText(byTestID("result-tier-bonus"), "+¥3.40")
	p.wantText(byTestID("result-first-bonus"), "+¥6.00")
	p.wantText(byTestID("result-received"), "¥77.40")
	bal := chromedp.CSS(`[data-testid="result"] [data-fen]`)
	if got := p.attr(bal, "data-fen"); got != "7740" {
		p.fail("the result page's balance data-fen = %q, want 7740", got)
	}
	p.wantText(bal, "¥77.40")
	p.snap("result-paid")
	checkFlow(p, no, m)

	p.follow(byTestID("result-account"), "/account")
	p.wantBalance("7740")
	p.wantText(byID("balance"), "¥77.40")
	// Two lines: the top-up itself and its bonus.
	if n := p.count(byTestID("record")); n != 2 {
		p.fail("the account center shows %d records after one top-up, want 2", n)
	}
	p.wantText(chromedp.CSS(`[data-testid="record"]:nth-child(1)`), "+¥9.40")
	p.wantText(chromedp.CSS(`[data-testid="record"]:nth-child(2)`), "+¥68.00")
	p.snap("account")
	if n := p.s.ordersOf(p.t, name); n != 1 {
		p.fail("%d orders for one top-up, want 1", n)
	}
}

// payByQR is WeChat Pay on a desktop: our page shows the QR code; the
// person "scans" it with their phone (the sandbox's scan page, in a second
// tab) and pays there, and the first tab leaves the QR page by itself.
func payByQR(p *payPage) {
	p.t.Helper()
	p.pressAndLeave(byTestID("recharge-next"))
	qr := byTestID("qr")
	p.waitFor("our QR page", fmt.Sprintf(`/^\/recharge\/orders\/[0-9A-Za-z]+\/pay$/.test(location.pathname) && window.htmx !== undefined && %s`, existsJS(qr)))
	p.waitFor("the QR code image to load", fmt.Sprintf(`(i => i.complete && i.naturalWidth > 0)(document.querySelector(%q))`, string(qr)))
	p.wantText(byTestID("pay-amount"), "¥68.00")
	p.snap("qr")
	scanURL := p.attr(byTestID("sandbox-scan"), "href")
	if !strings.HasPrefix(scanURL, p.s.webOrigin+"/wechat/scan?") {
		p.fail("the sandbox scan link goes to %q, want the gateway's scan page on its page origin", scanURL)
	}
	// From here the person leaves the QR tab alone: it must move on by
	// itself, through its own polling.
	p.markDocument()

	phoneTab := p.secondTab(phone)
	phoneTab.do("open the scan page", chromedp.Navigate(scanURL))
	phoneTab.waitCashier("¥68.00", false)
	phoneTab.snapCashier("scan")
	phoneTab.payOnCashier("wechat", sandboxPassword)
	phoneTab.waitCashier("", true)
	phoneTab.wantText(byTestID("cashier-message"), "支付成功")
	phoneTab.snapCashier("scan-paid")
	p.shots = phoneTab.shots

	p.waitFor("the QR page to leave by itself for the result page",
		`window.__e2eDocument === undefined && /^\/recharge\/orders\/[0-9A-Za-z]+$/.test(location.pathname)`)
}

// checkFlow checks that the provider was asked for the flow of the
// person's device: Alipay wap pay and WeChat H5 on a phone.
func checkFlow(p *payPage, no, m string) {
	p.t.Helper()
	dev := "desktop"
	if p.phone {
		dev = "phone"
	}
	if got := p.s.orderColumn(p.t, no, "device"); got != dev {
		p.fail("order %s was placed as %q, want %q", no, got, dev)
	}
	next := p.s.orderColumn(p.t, no, "next_url")
	var want string
	switch {
	case m == "alipay" && p.phone:
		want = "method=alipay.trade.wap.pay"
	case m == "alipay":
		want = "method=alipay.trade.page.pay"
	case m == "wechat" && p.phone:
		want = "/wechat/h5/"
	case m == "wechat":
		if qr := p.s.orderColumn(p.t, no, "next_qr"); !strings.HasPrefix(qr, "weixin://") {
			p.fail("order %s has QR code %q, want a WeChat code_url", no, qr)
		}
	}
	if !strings.Contains(next, want) {
		p.fail("order %s sent the person to %q, want the %s flow (%s)", no, next, dev, want)
	}
}

// wrongPaymentPasswordJourney: on Alipay's cashier page the person types a
// wrong payment password three times. The first two are refused with a
// retry; the third is refused for good, on the cashier page only: Alipay
// tells the merchant nothing (the trade keeps waiting), so our page reads
// 尚未完成支付 with 继续支付, 换一种方式 and 取消订单, and gives no reason.
// (It used to read 充值失败 with the sandbox's invented reason.)
func wrongPaymentPasswordJourney(p *payPage, v variant) {
	l := payLang(v)
	name := p.signUp(v, "wrong")
	p.openRecharge()
	p.markDocument()
	p.chooseMethod("alipay")
	p.choosePreset("68.00")
	p.waitPreview("the preview", l.youReceive)
	p.snap("recharge-preview")
	p.pressAndLeave(byTestID("recharge-next"))
	p.waitCashier("¥68.00", false)
	p.snapCashier("cashier")

	const wrong = "654321"
	for try, left := range []int{2, 1} {
		p.typeInto(byID("f-password"), wrong)
		p.pressAndLeave(byTestID("cashier-pay"))
		// Still the cashier's form, with the error: the person may retry.
		p.waitCashier("¥68.00", false)
		p.wantText(byTestID("cashier-error"), fmt.Sprintf("支付密码不正确，还可以输入 %d 次", left))
		if got := p.value(byID("f-password")); got != "" {
			p.fail("the cashier keeps the wrong password %q after refusing it", got)
		}
		p.snapCashier(fmt.Sprintf("wrong-password-%d", try+1))
	}
	p.typeInto(byID("f-password"), wrong)
	p.pressAndLeave(byTestID("cashier-pay"))
	p.waitCashier("¥68.00", true)
	p.wantText(byTestID("cashier-error"), "支付失败")
	p.wantText(byTestID("cashier-message"), "交易未完成")
	if p.present(byTestID("cashier-pay")) {
		p.fail("the cashier still offers to pay after the third wrong password")
	}
	p.snapCashier("wrong-password-3-refused")

	p.pressAndLeave(byTestID("cashier-return"))
	no := p.waitResult("awaiting")
	p.wantText(byTestID("result-title"), l.notCompleted)
	p.wantAwaitingActions(l)
	if p.present(byTestID("result-tier-bonus")) || p.present(byTestID("result-first-bonus")) {
		p.fail("an unpaid top-up shows a bonus")
	}
	p.snap("result-not-completed")
	if got := p.s.orderColumn(p.t, no, "state"); got != "awaiting" {
		p.fail("order %s is %q in the database, want awaiting", no, got)
	}

	p.follow(chromedp.CSS(`nav a[href="/account"]`), "/account")
	p.wantBalance("0")
	if n := p.count(byTestID("record")); n != 0 {
		p.fail("the account center shows %d records after a refused top-up, want none", n)
	}
	p.snap("account")
	if n := p.s.ordersOf(p.t, name); n != 1 {
		p.fail("%d orders, want the one refused", n)
	}
}

// overLimitJourney: ¥20000.01 by WeChat Pay, whose maximum is ¥20000.00.
// The preview explains it while the person types, and the form, sent
// anyway, is refused with the same words; no order is made.
func overLimitJourney(p *payPage, v variant) {
	l := payLang(v)
	name := p.signUp(v, "limit")
	p.openRecharge()
	p.snap("recharge")
	p.markDocument()
	p.chooseMethod("wechat")
	p.typeInto(byTestID("custom-amount"), "20000.01")
	p.waitPreview("the preview to explain the limit", l.tooHigh)
	p.wantText(byTestID("amount-error"), l.tooHigh)
	if p.present(byTestID("quote-receive")) {
		p.fail("the preview quotes %q for an amount over the limit", p.text(byTestID("quote-receive")))
	}
	p.snap("over-limit-preview")

	// The refusal is a 422, which the browser may log as a failed load.
	p.probs.expect("the refused form's 422", 1, func(pr problem) bool {
		return pr.kind == "log.network" && strings.HasSuffix(pr.url, "/recharge") && strings.Contains(pr.text, "422")
	})
	p.follow(byTestID("recharge-next"), "/recharge")
	p.wantText(byTestID("amount-error"), l.tooHigh)
	if p.present(byTestID("confirm-pay")) {
		p.fail("the refused page offers to pay ¥20000.01 by WeChat Pay")
	}
	if got := p.value(byTestID("custom-amount")); got != "20000.01" {
		p.fail("the refused form lost the amount: it holds %q", got)
	}
	if !eval[bool](p.page, fmt.Sprintf(`document.querySelector(%q).checked`, string(byTestID("method-wechat")))) {
		p.fail("the refused form lost the chosen method")
	}
	p.snap("over-limit-refused")
	if n := p.s.ordersOf(p.t, name); n != 0 {
		p.fail("%d orders made for a refused amount", n)
	}
}

// maintenanceJourney: Alipay is under maintenance before the page loads:
// its choice is greyed with the notice and cannot be chosen. Then every
// method is: the page says so and cannot go on.
func maintenanceJourney(p *payPage, v variant) {
	l := payLang(v)
	p.signUp(v, "maint")
	p.s.maintenance(p.t, "alipay", "系统升级")
	p.openRecharge()

	alipay := byTestID("method-alipay")
	if !eval[bool](p.page, fmt.Sprintf(`document.querySelector(%q).disabled`, string(alipay))) {
		p.fail("Alipay can be chosen while under maintenance")
	}
	p.wantText(byTestID("maintenance-alipay"), l.maintenance)
	p.wantText(byTestID("maintenance-alipay"), "系统升级")
	if op := eval[string](p.page, fmt.Sprintf(`getComputedStyle(document.querySelector(%q).closest("label")).opacity`, string(alipay))); op == "1" {
		p.fail("Alipay's choice is not greyed out under maintenance (opacity %s)", op)
	}
	for _, m := range []string{"wechat", "card", "paypal"} {
		if p.present(byTestID("maintenance-" + m)) {
			p.fail("%s shows a maintenance notice though only Alipay is closed", m)
		}
	}
	if p.present(byTestID("maintenance-all")) {
		p.fail("the all-closed notice shows though only Alipay is closed")
	}
	// The person presses Alipay's row anyway: nothing changes.
	p.markDocument()
	p.press(chromedp.CSS(`label:has(` + string(alipay) + `)`))
	if eval[bool](p.page, fmt.Sprintf(`document.querySelector(%q).checked`, string(alipay))) {
		p.fail("pressing Alipay's greyed row chose it")
	}
	if !eval[bool](p.page, fmt.Sprintf(`document.querySelector(%q).checked`, string(byTestID("method-wechat")))) {
		p.fail("the first open method (WeChat Pay) is not the one chosen")
	}
	if !p.sameDocument() {
		p.fail("pressing a closed method left the page")
	}
	p.snap("alipay-maintenance")

	p.s.maintenance(p.t, "all", "系统维护")
	p.reload()
	p.wantText(byTestID("maintenance-all"), l.allClosed)
	for _, m := range []string{"alipay", "wechat", "card", "paypal"} {
		if !eval[bool](p.page, fmt.Sprintf(`document.querySelector(%q).disabled`, string(byTestID("method-"+m)))) {
			p.fail("%s can be chosen while everything is under maintenance", m)
		}
		p.wantText(byTestID("maintenance-"+m), l.maintenance)
	}
	if !eval[bool](p.page, fmt.Sprintf(`document.querySelector(%q).disabled`, string(byTestID("recharge-next")))) {
		p.fail("the continue button works while every method is closed")
	}
	p.snap("all-maintenance")
}

// cashierAmountOf68 is what the provider's cashier asks for a ¥68 order:
// PayPal charges the sandbox's US account in dollars (¥68.00 at 7.2000 CNY
// per USD, rounded up, shown to the person before paying); the others CNY.
func cashierAmountOf68(method string) string {
	if method == "paypal" {
		return "US$9.45"
	}
	return "¥68.00"
}
