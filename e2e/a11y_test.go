package e2e

import (
	"context"
	_ "embed"

	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"im2pay/payment"
	"im2pay/recharge"
	"im2pay/staff"
)

// axeSource is axe-core, copied from the npm package pinned in package.json
// by `make vendor-js` (check-generated keeps it current). It lives under
// testdata so that it is never served to anyone: only this test injects it.
//
//go:embed testdata/axe.min.js
var axeSource string

// axeRunJS runs axe over the whole document for WCAG 2.1 A and AA, 2.2 AA
// (target size) and axe's best practices, and returns the serious and critical violations as lines
// of text: rule, impact, help, and each offending node's selector and why.
const axeRunJS = `axe.run(document, {
	runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
	resultTypes: ["violations"],
}).then(axeSerious)`

// axeContrastJS runs only the rules a colour scheme can change: the dark
// scheme's pass needs no other, which keeps the audit quick.
const axeContrastJS = `axe.run(document, {
	runOnly: {type: "rule", values: ["color-contrast", "link-in-text-block"]},
	resultTypes: ["violations"],
}).then(axeSerious)`

// axeSeriousJS defines axeSerious, which turns axe's results into lines.
const axeSeriousJS = `window.axeSerious = r => r.violations
	.filter(v => v.impact === "serious" || v.impact === "critical")
	.flatMap(v => v.nodes.map(n => v.id + " (" + v.impact + "): " + v.help + " at " + n.target.join(" ") +
		(n.failureSummary ? " — " + n.failureSummary.replace(/\s+/g, " ") : "")))`

// scheme is a colour scheme the browser asks the site for.
type scheme string

const (
	light scheme = "light"
	dark  scheme = "dark"
)

// setScheme tells the tab's pages the system prefers s; reduced motion
// too, so that colour transitions never leave a colour half-way when axe
// measures contrast.
func (p *page) setScheme(s scheme) {
	p.t.Helper()
	p.do("emulate prefers-color-scheme: "+string(s), chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tgt, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{
				{Name: "prefers-color-scheme", Value: string(s)},
				{Name: "prefers-reduced-motion", Value: "reduce"},
			},
		})
		return err
	}))
	want := "false"
	if s == dark {
		want = "true"
	}
	p.waitFor("the "+string(s)+" scheme", `matchMedia("(prefers-color-scheme: dark)").matches === `+want)
}

// audit runs axe on the page as it is now: every rule in the light scheme,
// the colour rules again in the dark one. Any serious or critical violation
// fails the test without stopping it, so one run lists them all.
func (p *page) audit(what string) {
	p.t.Helper()
	if !eval[bool](p, `typeof window.axe === "object"`) {
		eval[chromedp.Void](p, axeSource+";"+axeSeriousJS+";undefined")
	}
	for _, s := range []scheme{light, dark} {
		p.setScheme(s)
		run := axeRunJS
		if s == dark {
			run = axeContrastJS
		}
		ctx, cancel := p.timeout()
		found, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](run, chromedp.EvalAwaitPromise))
		cancel()
		if err != nil {
			p.fail("run axe on %s (%s): %v", what, s, err)
		}
		for _, v := range found {
			p.t.Errorf("%s, %s scheme: %s", what, s, v)
		}
	}
	p.setScheme(light)
}

// auditPage opens path and audits it.
func (p *page) auditPage(path string) {
	p.t.Helper()
	p.visit(path)
	p.audit(path)
}

// TestAccessibility runs axe-core on every page a person or a staff member
// sees, in both languages, at desktop and phone size, in the light and the
// dark scheme: any serious or critical violation fails. One person and
// one pending order serve every tab; each tab logs its own staff member in.
func TestAccessibility(t *testing.T) {
	s := newPaySite(t)
	browserCtx := startBrowser(t)

	ctx := context.Background()
	v0 := variant{dev: desktop, lang: zhCN}
	name := uniqueName(t, v0, "a11y")
	s.register(t, name)
	uid := s.userID(t, name)
	s.grant(t, uid, 12345, name+":welcome", "welcome_grant")
	// A WeChat order from a desktop: its pay page is our own QR page.
	o, err := s.recharge.CreateOrder(ctx, recharge.NewOrder{UserID: uid, Method: "wechat", Amount: "68.00",
		Device: payment.Desktop, RequestKey: "a11y-order-key-" + name})
	if err != nil {
		t.Fatalf("create an order: %v", err)
	}

	variants := []variant{
		{dev: desktop, lang: zhCN, accept: "zh-CN,zh;q=0.9"},
		{dev: desktop, lang: en, accept: "en-US,en;q=0.9"},
		{dev: phone, lang: zhCN, accept: "zh-CN,zh;q=0.9"},
		{dev: phone, lang: en, accept: "en-US,en;q=0.9"},
	}
	for _, v := range variants {
		// Named apart from the journeys' subtests: each subtest's
		// screenshot folder (out/<name after the test's>) starts empty.
		t.Run("a11y-"+v.dev.name+"/"+v.lang.tag, func(t *testing.T) {
			p := newPage(t, s.site, browserCtx, v)
			auditPerson(p, name, o.OutTradeNo)
			auditConsole(p, s, v, name, uid, o.OutTradeNo)
		})
	}
}

// auditPerson audits the pages a person sees, logged out and in, and the
// login form after a refusal: there focus must be on the first error.
func auditPerson(p *page, name, order string) {
	p.t.Helper()
	p.auditPage("/register")
	p.auditPage("/login")

	p.fill(byID("username"), name)
	p.fill(byID("password"), "not-"+password)
	p.probs.expect("the refused login's 422", 1, func(pr problem) bool {
		return pr.kind == "log.network" && strings.HasSuffix(pr.url, "/login") && strings.Contains(pr.text, "422")
	})
	p.press(byTestID("login-submit"))
	p.waitFor("the login error", existsJS(byTestID("form-error")))
	p.waitFor("focus on the first problem", `(e => e && (e.matches("[aria-invalid=true]") || e.matches("[role=alert]")))(document.activeElement)`)
	p.audit("/login refused")

	p.fill(byID("password"), password)
	p.follow(byTestID("login-submit"), "/account")
	p.audit("/account")
	p.checkSkipLink()
	p.checkTapTargets()
	p.snap("account")
	p.snapDark("account")

	for _, path := range []string{"/recharge", "/recharge/confirm?method=alipay&amount=68.00", "/recharge/orders",
		"/recharge/orders/" + order, "/recharge/orders/" + order + "/pay", "/history", "/shop", "/gifts", "/events",
		"/account/settings", "/account/redeem", "/account/password", "/no-such-page"} {
		if path == "/no-such-page" {
			p.probs.expect("the 404 of a missing page", 1, func(pr problem) bool {
				return pr.kind == "log.network" && strings.HasSuffix(pr.url, path)
			})
		}
		p.auditPage(path)
		switch path {
		case "/recharge", "/history":
			p.snap(strings.TrimPrefix(path, "/"))
			p.snapDark(strings.TrimPrefix(path, "/"))
		}
	}
}

// snapDark saves a screenshot of the page in the dark scheme.
func (p *page) snapDark(step string) {
	p.t.Helper()
	p.setScheme(dark)
	p.snap(step + "-dark")
	p.setScheme(light)
}

// auditConsole walks a new staff member's first login (each step page
// audited) and audits every console page.
func auditConsole(p *page, s *paySite, v variant, person string, uid int64, order string) {
	p.t.Helper()
	name, oneTime := addStaff(p.t, s.site, staff.Admin, v, "a11y")
	p.auditPage("/ops/login")
	p.fill(byID("name"), name)
	p.fill(byID("password"), oneTime)
	p.follow(byTestID("ops-login-submit"), "/ops/password")
	p.audit("/ops/password")
	p.fill(byID("password"), staffPassword)
	p.follow(`form[action="/ops/password"] button[type=submit]`, "/ops/totp/enroll")
	p.audit("/ops/totp/enroll")
	p.fill(byID("code"), totpNow(p.t, p.text(byTestID("ops-totp-secret"))))
	p.follow(byTestID("ops-totp-submit"), "/ops")
	p.audit("/ops")

	for _, path := range []string{"/ops/orders", "/ops/orders/" + order, "/ops/refunds", "/ops/adjustments",
		"/ops/people?who=" + person, "/ops/people/" + strconv.FormatInt(uid, 10), "/ops/promotions", "/ops/redeem",
		"/ops/maintenance", "/ops/reconcile", "/ops/audit", "/ops/staff"} {
		p.auditPage(path)
	}
	if p.phone {
		p.snap("ops-orders")
	}

}

// checkSkipLink: the first thing a keyboard reaches is the skip link, and
// it leads to the main content.
func (p *page) checkSkipLink() {
	p.t.Helper()
	first := eval[string](p, `(e => e ? e.getAttribute("data-testid") + " " + e.getAttribute("href") : "nothing")(document.querySelector("body a[href], body button, body input:not([type=hidden])"))`)
	if first != "skip-link #main" {
		p.fail("the first focusable element is %q, want the skip link to #main", first)
	}
	if !eval[bool](p, `document.getElementById("main") !== null && document.getElementById("main").tagName === "MAIN"`) {
		p.fail("the skip link's target #main is not the main element")
	}
}

// checkTapTargets: on a phone every control of the header and the
// navigation is at least 44 by 44 CSS pixels, and the navigation is one row.
func (p *page) checkTapTargets() {
	p.t.Helper()
	if !p.phone {
		return
	}
	small := eval[[]string](p, `Array.from(document.querySelectorAll("header a[href], header button"))
		.map(e => [e, e.getBoundingClientRect()])
		.filter(([e, r]) => r.width < 44 || r.height < 44)
		.map(([e, r]) => (e.getAttribute("data-testid") || e.textContent.trim()) + " " + Math.round(r.width) + "x" + Math.round(r.height))`)
	if len(small) > 0 {
		p.fail("tap targets under 44px on a phone: %v", small)
	}
	rows := eval[int](p, `new Set(Array.from(document.querySelectorAll("header nav a")).map(a => Math.round(a.getBoundingClientRect().top))).size`)
	if rows != 1 {
		p.fail("the navigation takes %d rows on a phone, want 1", rows)
	}
}
