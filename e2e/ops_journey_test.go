package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"

	"im2pay/staff"
)

// TestConsoleJourneys walks the operations console at desktop width in
// both languages: each journey logs a new staff member in through the
// real pages (password, forced change, TOTP enrollment).
func TestConsoleJourneys(t *testing.T) {
	s := newPaySite(t)
	browserCtx := startBrowser(t)
	variants := []variant{
		{dev: desktop, lang: zhCN, accept: "zh-CN,zh;q=0.9"},
		{dev: desktop, lang: en, accept: "en-US,en;q=0.9"},
	}
	journeys := []struct {
		name string
		run  func(t *testing.T, s *paySite, p *page, v variant)
	}{
		{"staff-login", staffLoginJourney},
		{"promotion", promotionJourney},
		{"adjustment", adjustmentJourney},
		{"redeem", redeemJourney},
		{"order-requery", orderRequeryJourney},
	}
	for _, v := range variants {
		t.Run(v.dev.name+"/"+v.lang.tag, func(t *testing.T) {
			for _, j := range journeys {
				t.Run(j.name, func(t *testing.T) {
					p := newPage(t, s.site, browserCtx, v)
					j.run(t, s, p, v)
				})
			}
		})
	}
}

// staffLoginJourney: a new viewer logs in with the one-time password,
// changes it, enrolls TOTP from the QR page, reaches the dashboard in the
// browser's language, and logs out back to the login page.
func staffLoginJourney(t *testing.T, s *paySite, p *page, v variant) {
	m := p.staffLogin(s.site, staff.Viewer, v, "login")
	if got := p.attr(byTestID("ops-dashboard"), "data-testid"); got == "" {
		p.fail("no dashboard after the login of %s", m.name)
	}
	if got := p.attr(chromedp.CSS("html"), "lang"); got != v.lang.tag {
		p.fail("console language is %q, want %q", got, v.lang.tag)
	}
	p.snap("dashboard")
	p.follow(byTestID("ops-logout"), "/ops/login")
	// The session is gone: the dashboard sends the browser to the login.
	p.visit("/ops")
	p.wantPath("/ops/login")
}
