package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"im2pay/db/dbtest"
	"im2pay/wallet"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// password is what every test user signs up with.
const password = "Lantern-harbour-42"

// variant is one way a person meets the site: a device and a language, and
// how the browser arrives at that language.
type variant struct {
	dev    device
	lang   language
	accept string // the browser's Accept-Language
	// viaSwitch means the browser asks for Chinese and the person clicks
	// the language switch on the first page of each journey.
	viaSwitch bool
}

// TestJourneys walks the main journeys in one browser, each subtest in a tab
// of its own browser context: desktop and phone, Chinese and English.
func TestJourneys(t *testing.T) {
	s := newSite(t)
	browserCtx := startBrowser(t)

	t.Run("problem-detection", func(t *testing.T) { checkProblemDetection(t, s, browserCtx) })

	variants := []variant{
		// A Chinese browser.
		{dev: desktop, lang: zhCN, accept: "zh-CN,zh;q=0.9"},
		// A Chinese browser whose user prefers English and says so.
		{dev: desktop, lang: en, accept: "zh-CN,zh;q=0.9", viaSwitch: true},
		// A browser in a language the site lacks gets the default, Chinese.
		{dev: phone, lang: zhCN, accept: "de-DE,de;q=0.9"},
		// An English browser.
		{dev: phone, lang: en, accept: "en-US,en;q=0.9"},
	}
	journeys := []struct {
		name string
		run  func(t *testing.T, s *site, p *page, v variant)
	}{
		{"signup", signupJourney},
		{"wrong-password", wrongPasswordJourney},
		{"login-next", loginNextJourney},
		{"sessions", sessionsJourney},
	}
	for _, v := range variants {
		t.Run(v.dev.name+"/"+v.lang.tag, func(t *testing.T) {
			for _, j := range journeys {
				t.Run(j.name, func(t *testing.T) {
					p := newPage(t, s, browserCtx, v)
					j.run(t, s, p, v)
				})
			}
		})
	}
}

// useLanguage brings the page into the variant's language (clicking the
// switch when that is how the person gets there) and checks that it is.
func useLanguage(p *page, v variant) {
	p.t.Helper()
	if v.viaSwitch {
		here := eval[string](p, `location.pathname`)
		before := p.path()
		p.follow(byTestID("lang-switch"), here)
		// The switch brings the person back to the very same page.
		p.wantPath(before)
	}
	if got := p.attr(chromedp.CSS("html"), "lang"); got != v.lang.tag {
		p.fail("page language is %q, want %q", got, v.lang.tag)
	}
	p.wantText(byTestID("lang-switch"), v.lang.switchLabel)
}

// signupJourney: sign up, log out, log in, see money arrive, page through
// and filter the history.
func signupJourney(t *testing.T, s *site, p *page, v variant) {
	l := v.lang
	name := uniqueName(t, v, "s")

	p.visit("/register")
	useLanguage(p, v)
	p.snap("register")
	p.fill(byID("username"), name)
	p.fill(byID("password"), password)
	p.follow(byTestID("register-submit"), "/account")

	p.wantText(byID("balance"), "¥0.00")
	if fen := p.attr(byID("balance"), "data-fen"); fen != "0" {
		p.fail("new balance data-fen = %q, want 0", fen)
	}
	p.wantText(byTestID("flash"), l.welcome)
	p.snap("account-new")

	p.follow(byTestID("logout"), "/login")
	if p.present(byTestID("logout")) {
		p.fail("still shows a logout button after logging out")
	}
	p.snap("logged-out")
	p.fill(byID("username"), name)
	p.fill(byID("password"), password)
	p.follow(byTestID("login-submit"), "/account")
	if p.present(byTestID("flash")) {
		p.fail("the welcome notice shows again after logging in: %q", p.text(byTestID("flash")))
	}

	uid := s.userID(t, name)
	s.grant(t, uid, 10000, name+":welcome", "welcome_grant")
	p.reload()
	if fen := p.attr(byID("balance"), "data-fen"); fen != "10000" {
		p.fail("balance data-fen = %q after a ¥100.00 grant, want 10000", fen)
	}
	if got := p.text(byID("balance")); got != "¥100.00" {
		p.fail("balance shows %q, want ¥100.00", got)
	}
	if n := p.count(byTestID("record")); n != 1 {
		p.fail("account center shows %d records, want 1", n)
	}
	for _, want := range []string{l.grantKind, l.welcomeDesc, "+¥100.00"} {
		p.wantText(byTestID("record"), want)
	}
	p.snap("account-granted")

	s.replayed(t)
	p.follow(byTestID("shortcut-history"), "/history")
	p.wantText(chromedp.CSS("main h1"), l.historyTitle)
	if n := p.count(byTestID("record")); n != 1 {
		p.fail("history shows %d records, want 1", n)
	}
	p.wantText(byTestID("history-list"), l.welcomeDesc)
	p.snap("history-one")

	// 25 more small grants: 26 lines, more than one page of 20.
	for i := 1; i <= 25; i++ {
		s.grant(t, uid, wallet.Money(i*11), fmt.Sprintf("%s:small:%d", name, i), "test")
	}
	s.replayed(t)
	p.reload()
	if n := p.count(byTestID("record")); n != 20 {
		p.fail("history's first page shows %d records, want 20", n)
	}
	p.wantText(byTestID("history-more"), l.loadMore)
	p.snap("history-page-1")

	// "Load more" appends the next rows in place: the same document, the
	// same address.
	before := p.path()
	p.markDocument()
	p.press(byTestID("history-more"))
	p.waitFor("26 records after loading more", countJS(byTestID("record"))+" === 26")
	if !p.sameDocument() {
		p.fail("loading more replaced the whole page instead of appending rows")
	}
	p.wantPath(before)
	if p.present(byTestID("history-more")) {
		p.fail("a load-more link remains after the last page")
	}
	p.wantText(byTestID("history-end"), l.end)
	p.snap("history-all")

	// Only grants: every line is one.
	p.do("choose kind grant", chromedp.SetValue(byID("kind"), "grant"))
	filterHistory(p)
	if !strings.Contains(p.path(), "kind=grant") {
		p.fail("the address %q does not keep the filter", p.path())
	}
	if n := p.count(byTestID("record")); n != 20 {
		p.fail("grant filter shows %d records, want the first 20", n)
	}
	p.wantText(byTestID("history-list"), l.grantKind)
	p.snap("history-grants")

	// Purchases: there are none.
	p.do("choose kind purchase", chromedp.SetValue(byID("kind"), "purchase"))
	filterHistory(p)
	if n := p.count(byTestID("record")); n != 0 {
		p.fail("purchase filter shows %d records, want none", n)
	}
	p.wantText(byTestID("history-empty"), l.noneMatch)
	p.snap("history-no-purchases")
}

// filterHistory submits the history filter and waits for htmx to swap in
// the results, checking that it did so without a full page load.
func filterHistory(p *page) {
	p.t.Helper()
	p.markDocument()
	eval[chromedp.Void](p, `document.getElementById("history-results").dataset.e2eOld = "1"`)
	p.press(chromedp.CSS(`[data-testid="history-filter"] button[type="submit"]`))
	p.waitFor("the filtered results", `(r => r && !r.dataset.e2eOld)(document.getElementById("history-results"))`)
	if !p.sameDocument() {
		p.fail("filtering reloaded the whole page instead of swapping the results")
	}
}

// wrongPasswordJourney: a mistyped password is refused in the person's
// language, keeping the name and clearing the password.
func wrongPasswordJourney(t *testing.T, s *site, p *page, v variant) {
	name := uniqueName(t, v, "w")
	s.register(t, name)

	p.visit("/login")
	useLanguage(p, v)
	p.fill(byID("username"), name)
	p.fill(byID("password"), "not-"+password)
	// The refusal is a 422, which the browser logs as a failed request:
	// that one is expected, anything else is not.
	p.probs.expect("the refused login's 422", 1, func(pr problem) bool {
		return pr.kind == "log.network" && strings.HasSuffix(pr.url, "/login") && strings.Contains(pr.text, "422")
	})
	p.markDocument()
	p.press(byTestID("login-submit"))
	p.waitFor("the login error", existsJS(byTestID("form-error")))
	p.wantText(byTestID("form-error"), v.lang.wrongPassword)
	if !p.sameDocument() {
		p.fail("the refused login reloaded the page instead of showing the error in place")
	}
	p.wantPath("/login")
	if got := p.value(byID("username")); got != name {
		p.fail("username field holds %q after the refusal, want %q", got, name)
	}
	if got := p.value(byID("password")); got != "" {
		p.fail("password field still holds %q after the refusal", got)
	}
	p.snap("login-refused")

	// The person corrects the password and gets in.
	p.fill(byID("password"), password)
	p.follow(byTestID("login-submit"), "/account")
	p.wantText(byID("balance"), "¥0.00")
}

// loginNextJourney: a logged-out visit to /history asks for a login and then
// goes back to /history.
func loginNextJourney(t *testing.T, s *site, p *page, v variant) {
	name := uniqueName(t, v, "n")
	s.register(t, name)

	p.visit("/history")
	p.wantPath("/login?next=%2Fhistory")
	useLanguage(p, v)
	p.wantText(byTestID("form-notice"), v.lang.loginRequired)
	p.snap("login-required")
	p.fill(byID("username"), name)
	p.fill(byID("password"), password)
	p.follow(byTestID("login-submit"), "/history")
	p.wantPath("/history")
	p.wantText(chromedp.CSS("main h1"), v.lang.historyTitle)
	p.wantText(byTestID("history-empty"), v.lang.empty)
	p.snap("history-after-login")
}
