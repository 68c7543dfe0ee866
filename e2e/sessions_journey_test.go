package e2e

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/chromedp/chromedp"

	"im2pay/views/i18n"
)

// sessionsJourney logs in, finds a second, older session (a phone) on the
// settings page next to this browser's, and logs the phone out.
func sessionsJourney(t *testing.T, s *site, p *page, v variant) {
	name := uniqueName(t, v, "s")
	s.register(t, name)
	// The phone's session, as the login there would have stored it.
	token := make([]byte, 32)
	rand.Read(token)
	const phone = `INSERT INTO sessions (token_hash, user_id, generation, data, created_at, last_seen_at, user_agent, client_ip)
		SELECT sha256($1), id, 0, '\x00', now() - interval '2 hours', now() - interval '1 hour',
		       'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1',
		       '203.0.113.7'
		  FROM users WHERE username = $2`
	if _, err := s.store.DB().ExecContext(context.Background(), phone, token, name); err != nil {
		t.Fatal(err)
	}
	lang, _ := i18n.Parse(v.lang.tag)

	p.visit("/login")
	useLanguage(p, v)
	p.fill(byID("username"), name)
	p.fill(byID("password"), password)
	p.follow(byTestID("login-submit"), "/account")
	p.visit("/account/settings")
	p.wantText(chromedp.CSS(`[data-testid="sessions"] h2`), i18n.Lookup(lang, "sessions.title"))
	if n := p.count(byTestID("session")); n != 2 {
		p.fail("%d sessions listed, want 2", n)
	}
	p.wantText(byTestID("session-current"), i18n.Lookup(lang, "sessions.current"))
	p.snap("sessions")
	p.follow(byTestID("session-end"), "/account/settings")
	p.wantText(byTestID("flash"), i18n.Lookup(lang, "sessions.ended"))
	if n := p.count(byTestID("session")); n != 1 {
		p.fail("%d sessions listed after ending the phone's, want 1", n)
	}
	p.snap("sessions-after-end")
}
