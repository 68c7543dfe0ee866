package handlers_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"im2pay/account"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/handlers"
	"im2pay/internal/figures"
	"im2pay/recharge"
	"im2pay/statement"
)

// deadCookieTries uses a copied session cookie on the pages and forms a thief
// would want; it returns how many tries there were and how many opened
// anything.
func deadCookieTries(t *testing.T, s *site, c http.Cookie) (tries, opened int) {
	t.Helper()
	thief := s.browser()
	u, _ := url.Parse(s.srv.URL)
	thief.client.Jar.SetCookies(u, []*http.Cookie{&c})
	for _, path := range []string{"/account", "/history", "/history/export.csv", "/history/summary", "/gifts", "/shop",
		"/account/settings", "/recharge/orders"} {
		tries++
		if a := thief.get(path); a.status != http.StatusSeeOther || a.header.Get("Location") != "/login?next="+url.QueryEscape(path) {
			opened++
			t.Errorf("a dead session cookie opened %s: %d %q", path, a.status, a.header.Get("Location"))
		}
	}
	tries++
	a := thief.post("/login", "/account/settings", url.Values{"confirm_above": {"0"}, "low_balance": {"0"}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/login" {
		opened++
		t.Errorf("a dead session cookie saved settings: %d %q", a.status, a.header.Get("Location"))
	}
	return tries, opened
}

func TestSecuritySessionsDieAtLoginLogoutAndTimeouts(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.browser().register("alice", goodPassword)
	sessionOf := func(b *browser) http.Cookie {
		t.Helper()
		c := b.cookie("im2pay_session")
		if c == nil {
			t.Fatal("no session cookie")
		}
		return *c
	}
	record := func(what string, tries, opened int) {
		t.Helper()
		figures.Record(t, "security", what, tries, opened)
		if opened != 0 {
			t.Errorf("%s: %d of %d tries opened the account", what, opened, tries)
		}
	}

	// Fixation: the attacker plants a session id of their own (a live
	// anonymous one, and a well-formed one never issued) before the victim
	// logs in. Login must move the victim to a fresh id and the planted one
	// must open nothing.
	attacker := s.browser()
	attacker.register("mallory_m", goodPassword)
	planted := sessionOf(attacker)
	fixTries, fixOpened := 0, 0
	for _, id := range []string{planted.Value, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		victim := s.browser()
		u, _ := url.Parse(s.srv.URL)
		victim.client.Jar.SetCookies(u, []*http.Cookie{{Name: "im2pay_session", Value: id, Path: "/"}})
		// The register page, unlike the login page, does not send a
		// logged-in browser away: the form is there with the planted id.
		expectRedirect(t, victim.post("/register", "/login", url.Values{"username": {"alice"}, "password": {goodPassword}}), "/account")
		if got := victim.get("/account"); !containsAll(got.body, "alice") || containsAll(got.body, "mallory_m") {
			t.Errorf("after login with a planted id the account center is not alice's alone")
		}
		fixTries++
		if sessionOf(victim).Value == id {
			fixOpened++
			t.Errorf("login kept the planted session id %q", id)
		}
		n, o := deadCookieTries(t, s, http.Cookie{Name: "im2pay_session", Value: id, Path: "/"})
		fixTries, fixOpened = fixTries+n, fixOpened+o
	}
	record("A3 planted session id used after the victim logs in", fixTries, fixOpened)

	// Logout, and logging in again, each kill the cookie they replace.
	b := s.browser()
	expectRedirect(t, b.login("alice", goodPassword), "/account")
	first := sessionOf(b)
	expectRedirect(t, b.post("/account", "/login", url.Values{"username": {"alice"}, "password": {goodPassword}}), "/account")
	second := sessionOf(b)
	expectRedirect(t, b.post("/account", "/logout", url.Values{}), "/login")
	n1, o1 := deadCookieTries(t, s, first)
	n2, o2 := deadCookieTries(t, s, second)
	record("A3 session cookie reused after re-login or logout", n1+n2, o1+o2)

	// Idle: alive at 29 minutes, dead past 30, and dead for good.
	b = s.browser()
	expectRedirect(t, b.login("alice", goodPassword), "/account")
	idle := sessionOf(b)
	s.clock.Advance(29 * time.Minute)
	expectStatus(t, b.get("/account"), http.StatusOK)
	s.clock.Advance(30*time.Minute + time.Second)
	n, o := deadCookieTries(t, s, idle)
	record("A3 session cookie used after 30 minutes idle", n, o)

	// Absolute: active every 10 minutes, still dead after 12 hours.
	b = s.browser()
	expectRedirect(t, b.login("alice", goodPassword), "/account")
	long := sessionOf(b)
	start := s.clock.Now()
	for s.clock.Now().Sub(start) < 12*time.Hour-10*time.Minute {
		s.clock.Advance(10 * time.Minute)
		expectStatus(t, b.get("/history"), http.StatusOK)
	}
	s.clock.Advance(10*time.Minute + time.Second)
	n, o = deadCookieTries(t, s, long)
	record("A3 active session cookie used after 12 hours", n, o)
}

// newProxiedSite is newSite behind a trusted reverse proxy on loopback, so
// the app believes X-Forwarded-For: the strongest position for an attacker
// who rotates it.
func newProxiedSite(t *testing.T) *site {
	t.Helper()
	store := db.New(dbtest.New(t))
	clk := &clock{now: time.Now()}
	svc, _ := services(store, recharge.Options{Now: clk.Now})
	_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
	h := handlers.New(withStatement(svc, statement.New(store, nil, clk.Now)), handlers.Config{IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 12 * time.Hour,
		Now: clk.Now, Logger: discardLogger(), TrustedProxies: []*net.IPNet{loopback}})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &site{t: t, srv: srv, store: store, accounts: svc.Accounts, wallet: svc.Wallet, spend: svc.Spend, recharge: svc.Recharge, clock: clk}
}

// TestSecurityBruteForceWithForgedAddressesHitsThePerAccountLimit guesses
// alice's password from a new claimed address every time, with the app
// trusting no proxy and trusting one: after the per-account limit, no guess
// is even checked (no failure is recorded), and the right password is
// refused as well until the window passes.
func TestSecurityBruteForceWithForgedAddressesHitsThePerAccountLimit(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		site func(t *testing.T) *site
	}{{"no trusted proxy", func(t *testing.T) *site { return newSite(t) }}, {"a trusted proxy on loopback", newProxiedSite}} {
		t.Run(c.name, func(t *testing.T) {
			s := c.site(t)
			s.browser().register("alice", goodPassword)
			b := s.browser()
			guess := func(i int, password, name string) answer {
				ip := "198.51." + strconv.Itoa(i/250) + "." + strconv.Itoa(i%250+1)
				return b.post("/login", "/login", url.Values{"username": {name}, "password": {password}},
					"X-Forwarded-For", ip, "X-Real-IP", ip)
			}
			for i := range account.MaxFailsPerAccount {
				expectStatus(t, guess(i, "wrong-guess-"+strconv.Itoa(i), "alice"), http.StatusUnprocessableEntity)
			}
			failures := countRows(t, s, `SELECT count(*) FROM login_failures`)
			attempts, through := 0, 0
			for i := range 60 {
				pw, name := "wrong-guess-x"+strconv.Itoa(i), "alice"
				switch i % 3 {
				case 0:
					pw = goodPassword
				case 1:
					name = "ALICE"
				}
				a := guess(account.MaxFailsPerAccount+i, pw, name)
				attempts++
				if a.status != http.StatusTooManyRequests {
					through++
					t.Errorf("guess %d (%s, right password: %v) during the lockout answered %d", i, name, pw == goodPassword, a.status)
				}
			}
			if checked := countRows(t, s, `SELECT count(*) FROM login_failures`) - failures; checked != 0 {
				through += checked
				t.Errorf("%d passwords were checked during the lockout", checked)
			}
			figures.Record(t, "security", "A4 login guesses past the per-account limit with rotating X-Forwarded-For/X-Real-IP ("+c.name+")", attempts, through)
			if through != 0 {
				t.Fatalf("%d of %d guesses got past the per-account limit", through, attempts)
			}
			s.clock.Advance(account.ThrottleWindow + time.Minute)
			expectRedirect(t, s.browser().login("alice", goodPassword), "/account")
		})
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
