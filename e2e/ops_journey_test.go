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
		{"refund-approval", staffRefundJourney},
		{"refund-request", personRefundJourney},
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
	t.Run("audited", func(t *testing.T) { wantAudited(t, s.site, len(variants)) })
}

// journeyActions are the staff actions the journeys above perform in each
// language: each must have left its line in the audit log, with who and
// from where.
var journeyActions = []string{
	"login.password", "password.change", "totp.enroll", "logout", // every first login; staff-login logs out
	"promotion.rules_publish",                                                // promotion
	"adjustment.request", "adjustment.approve_refused", "adjustment.approve", // adjustment
	"redeem.batch_create",                         // redeem
	"order.search", "order.view", "order.requery", // order-requery
	"refund.request", "refund.approve_refused", "refund.approve", // refund-approval, refund-request
}

// wantAudited checks the audit log against what the journeys did: every
// action at least once per language run, and no line without its staff
// member and address.
func wantAudited(t *testing.T, s *site, runs int) {
	var rows []struct {
		Action string `db:"action"`
		N      int    `db:"n"`
	}
	if err := s.store.DB().Select(&rows, `SELECT action, count(*) AS n FROM audit_log GROUP BY action`); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, r := range rows {
		got[r.Action] = r.N
	}
	for _, a := range journeyActions {
		if got[a] < runs {
			t.Errorf("audit log has %d lines %q, want at least %d (one per language run)", got[a], a, runs)
		}
	}
	var anonymous int
	if err := s.store.DB().Get(&anonymous, `SELECT count(*) FROM audit_log WHERE staff_id IS NULL OR client_ip = ''`); err != nil {
		t.Fatal(err)
	}
	if anonymous > 0 {
		t.Errorf("%d audit lines name no staff member or no address", anonymous)
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
