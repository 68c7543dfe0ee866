package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/handlers"
	"im2pay/payment/sandbox/sandboxtest"
	"im2pay/recharge"
	"im2pay/statement"
)

// Shared pieces of the access and injection half of the security suite
// (RELIABILITY A1–A6, B6): the router's own list of routes, a fingerprint of
// everything a victim owns, and the checks for leaked text and off-site
// redirects.

// routeKeys is every route the router serves, as "METHOD /path", read from
// the router itself so that a route added later is not silently untested.
func routeKeys(t *testing.T) []string {
	t.Helper()
	var keys []string
	for _, r := range handlers.New(handlers.Services{}, handlers.Config{}).Routes() {
		keys = append(keys, r.Method+" "+r.Path)
	}
	sort.Strings(keys)
	return keys
}

// expectEveryRoute fails for each route of the router that covered lacks.
func expectEveryRoute(t *testing.T, what string, covered map[string]bool) {
	t.Helper()
	for _, k := range routeKeys(t) {
		if !covered[k] {
			t.Errorf("%s: route %s is not tried; add it to the table", what, k)
		}
	}
}

// fingerprint is everything of one user that an attack could change: the
// ledger as a whole, their balance, password, settings, orders, gifts,
// purchases, items and membership, how many sessions they hold and how
// many redemption codes they tried.
func fingerprint(t *testing.T, s *site, userID int64) string {
	t.Helper()
	const q = `SELECT concat_ws(' | ',
		(SELECT count(*) FROM ledger_entries),
		(SELECT balance FROM accounts WHERE user_id = $1),
		(SELECT password_hash FROM users WHERE id = $1),
		(SELECT confirm_above || ',' || low_balance FROM user_settings WHERE user_id = $1),
		(SELECT string_agg(out_trade_no || ':' || state || ':' || return_to, ',' ORDER BY id) FROM recharge_orders WHERE user_id = $1),
		(SELECT count(*) FROM gifts WHERE sender_id = $1 OR recipient_id = $1),
		(SELECT string_agg(product_id || ':' || quantity, ',' ORDER BY product_id) FROM owned_items WHERE user_id = $1),
		(SELECT expires_at::text FROM memberships WHERE user_id = $1),
		(SELECT count(*) FROM purchases WHERE user_id = $1),
		(SELECT count(*) FROM sessions WHERE user_id = $1),
		(SELECT count(*) FROM redeem_attempts WHERE user_id = $1),
		(SELECT count(*) FROM refunds WHERE user_id = $1))`
	var fp string
	if err := s.store.DB().GetContext(context.Background(), &fp, q, userID); err != nil {
		t.Fatalf("fingerprint of user %d: %v", userID, err)
	}
	return fp
}

func countRows(t *testing.T, s *site, q string, args ...any) int {
	t.Helper()
	var n int
	if err := s.store.DB().GetContext(context.Background(), &n, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func userID(t *testing.T, s *site, name string) int64 {
	t.Helper()
	u, err := s.accounts.UserByName(context.Background(), name)
	if err != nil {
		t.Fatalf("user %s: %v", name, err)
	}
	return u.ID
}

// leaked returns the secrets an answer shows (body or any header), leaving
// out those the request itself carried: echoing back what the attacker sent
// reveals nothing.
func leaked(a answer, secrets []string, request string) []string {
	var out []string
	text := a.body
	for k, vs := range a.header {
		text += "\n" + k + ": " + strings.Join(vs, ", ")
	}
	decoded, _ := url.QueryUnescape(request)
	for _, s := range secrets {
		if strings.Contains(request, s) || strings.Contains(decoded, s) {
			continue
		}
		if strings.Contains(text, s) || strings.Contains(text, url.QueryEscape(s)) {
			out = append(out, s)
		}
	}
	return out
}

// csrfOf is the CSRF token the page at path carries for b.
func csrfOf(t *testing.T, b *browser, path string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(b.get(path).body)
	if m == nil {
		t.Fatalf("no CSRF field on %s", path)
	}
	return m[1]
}

// offSite reports whether a browser following loc would leave this site. It
// reads loc as browsers do: surrounding spaces and control characters
// trimmed, tabs and newlines inside dropped, backslashes read as slashes.
// Our redirects are always paths, so any scheme or host counts as leaving;
// a link may also be a fragment of the page itself.
func offSite(loc string) bool {
	if loc == "" {
		return false
	}
	s := strings.TrimFunc(loc, func(r rune) bool { return r <= 0x20 })
	s = strings.Map(func(r rune) rune {
		switch r {
		case '\t', '\n', '\r':
			return -1
		case '\\':
			return '/'
		}
		return r
	}, s)
	// A fragment alone ("#main", the skip link) stays on the page: a
	// browser resolves it against the page's own URL.
	if strings.HasPrefix(s, "#") {
		return false
	}
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") {
		return true
	}
	u, err := url.Parse(s)
	return err != nil || u.Scheme != "" || u.Host != "" || u.User != nil
}

// looseJar keeps cookies by name whatever their Secure flag, so a test can
// talk plain HTTP to a server configured for HTTPS (Secure cookies, HSTS).
type looseJar struct {
	mu      sync.Mutex
	cookies map[string]*http.Cookie
}

func (j *looseJar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range cs {
		if c.MaxAge < 0 || c.Value == "" {
			delete(j.cookies, c.Name)
			continue
		}
		j.cookies[c.Name] = &http.Cookie{Name: c.Name, Value: c.Value}
	}
}

func (j *looseJar) Cookies(*url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*http.Cookie
	for _, c := range j.cookies {
		out = append(out, c)
	}
	return out
}

// newSecurePaySite is newPaySite configured as production is: Secure (HSTS,
// Secure cookies), a service token, and trusted proxies when given. Its
// browsers keep Secure cookies over the test's plain HTTP.
func newSecurePaySite(t *testing.T, token string) *paySite {
	t.Helper()
	conn := dbtest.New(t)
	store := db.New(conn)
	srv := httptest.NewUnstartedServer(nil)
	appURL := "http://" + srv.Listener.Addr().String()
	gw := sandboxtest.Start(t, appURL)
	loc, _ := time.LoadLocation("Asia/Shanghai")
	clk := &clock{now: time.Now()}
	svc, _ := services(store, recharge.Options{Location: loc, Providers: gw.Providers, BaseURL: appURL, Now: clk.Now})
	srv.Config.Handler = handlers.New(withStatement(svc, statement.New(store, loc, clk.Now)), handlers.Config{
		Secure: true, Origin: appURL, Location: loc, IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 12 * time.Hour,
		Now: clk.Now, Logger: discardLogger(), FormActionOrigins: gw.FormOrigins(), SandboxScanURL: gw.ScanURL, ServiceToken: token,
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return &paySite{site: &site{t: t, srv: srv, store: store, accounts: svc.Accounts, wallet: svc.Wallet, spend: svc.Spend, recharge: svc.Recharge, clock: clk}, gw: gw}
}

// looseBrowser is a browser whose jar ignores the Secure flag.
func (s *site) looseBrowser() *browser {
	b := s.browser()
	b.client.Jar = &looseJar{cookies: map[string]*http.Cookie{}}
	return b
}
