package handlers_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"im2pay/center"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/handlers"
	"im2pay/recharge"
	"im2pay/statement"
	"im2pay/wallet"
)

func TestStateChangesWithoutTheTokenOrFromAnotherSiteAreForbidden(t *testing.T) {
	s := newSite(t)
	s.browser().register("alice", goodPassword)
	form := url.Values{"username": {"alice"}, "password": {goodPassword}}
	cases := []struct {
		name string
		send func(b *browser) answer
	}{
		{"no token at all", func(b *browser) answer { b.get("/login"); return b.do("POST", "/login", form) }},
		{"a wrong token", func(b *browser) answer {
			b.get("/login")
			f := url.Values{"_csrf": {"forged"}}
			for k, v := range form {
				f[k] = v
			}
			return b.do("POST", "/login", f)
		}},
		{"a same-origin fetch header but no token", func(b *browser) answer {
			b.get("/login")
			return b.do("POST", "/login", form, "Sec-Fetch-Site", "same-origin")
		}},
		{"a cross-site fetch with a valid token", func(b *browser) answer {
			return b.post("/login", "/login", url.Values{"username": {"alice"}, "password": {goodPassword}}, "Sec-Fetch-Site", "cross-site")
		}},
		{"a same-site fetch with a valid token", func(b *browser) answer {
			return b.post("/login", "/login", url.Values{"username": {"alice"}, "password": {goodPassword}}, "Sec-Fetch-Site", "same-site")
		}},
		{"a foreign Origin with a valid token", func(b *browser) answer {
			return b.post("/login", "/login", url.Values{"username": {"alice"}, "password": {goodPassword}}, "Origin", "https://evil.example")
		}},
		{"an opaque Origin with a valid token", func(b *browser) answer {
			return b.post("/login", "/login", url.Values{"username": {"alice"}, "password": {goodPassword}}, "Origin", "null")
		}},
		{"logout without a token", func(b *browser) answer { b.login("alice", goodPassword); return b.do("POST", "/logout", url.Values{}) }},
		{"a language switch without a token", func(b *browser) answer { return b.do("POST", "/lang", url.Values{"lang": {"en"}}) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := c.send(s.browser())
			expectStatus(t, a, http.StatusForbidden)
			expectContains(t, a, "页面已过期")
		})
	}
	// The same form from our own origin passes.
	ok := s.browser().post("/login", "/login", url.Values{"username": {"alice"}, "password": {goodPassword}},
		"Origin", s.srv.URL, "Sec-Fetch-Site", "same-origin")
	expectRedirect(t, ok, "/account")
}

// A real browser sends Sec-Fetch-Site on every request, GETs included; the
// form it got must still carry a real token that the POST then passes.
func TestABrowserSendingFetchMetadataEverywhereCanLogIn(t *testing.T) {
	s := newSite(t)
	s.browser().register("alice", goodPassword)
	b := s.browser()
	b.header.Set("Sec-Fetch-Site", "same-origin")
	page := b.get("/login")
	if b.cookie("im2pay_csrf") == nil || strings.Contains(page.body, "_echo_csrf_using_sec_fetch_site_") {
		t.Fatal("the login form carries a placeholder instead of a CSRF token")
	}
	expectRedirect(t, b.login("alice", goodPassword), "/account")
}

func TestLanguageFollowsTheBrowserThenThePersonsChoice(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.header.Set("Accept-Language", "en-US,en;q=0.9,zh;q=0.5")
	expectContains(t, b.get("/login"), `<html lang="en"`, "Log in", "Username")
	expectRedirect(t, b.post("/login", "/lang", url.Values{"lang": {"zh-CN"}, "next": {"/register"}}), "/register")
	page := b.get("/register")
	expectContains(t, page, `<html lang="zh-CN"`, "用户名", "注册")
	expectLacks(t, page, "Username")
	// An outside next is refused here too.
	expectRedirect(t, b.post("/login", "/lang", url.Values{"lang": {"en"}, "next": {"//evil.example"}}), "/")
	expectContains(t, b.get("/login"), `<html lang="en"`)
	expectStatus(t, b.post("/login", "/lang", url.Values{"lang": {"klingon"}}), http.StatusBadRequest)
}

func TestChineseIsTheDefaultLanguage(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.header.Del("Accept-Language")
	expectContains(t, b.get("/login"), `<html lang="zh-CN"`, "登录")
}

func TestEveryAnswerCarriesTheSecurityHeaders(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	paths := []string{"/login", "/account", "/no-such-page", "/static/css/app.css", "/healthz", "/static/nope.js"}
	for _, p := range paths {
		a := b.get(p)
		csp := a.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP %q", p, csp)
		}
		if a.header.Get("X-Content-Type-Options") != "nosniff" || a.header.Get("Referrer-Policy") == "" {
			t.Errorf("%s: missing nosniff or Referrer-Policy: %v", p, a.header)
		}
	}
	expectStatus(t, b.get("/no-such-page"), http.StatusNotFound)
	expectContains(t, b.get("/no-such-page"), "页面不存在")
}

func TestSecureSitesSendHSTSAndSecureCookies(t *testing.T) {
	conn := dbtest.New(t)
	store := db.New(conn)
	svc, _ := services(store, recharge.Options{})
	h := handlers.New(withStatement(svc, statement.New(store, nil, nil)), handlers.Config{Secure: true, Origin: "https://pay.example", IdleTimeout: time.Hour, AbsoluteTimeout: time.Hour, Logger: discardLogger()})
	rec := httptestRecord(h, "/login")
	if !strings.HasPrefix(rec.Header().Get("Strict-Transport-Security"), "max-age=") {
		t.Fatalf("no HSTS: %v", rec.Header())
	}
	for _, c := range rec.Result().Cookies() {
		if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
			t.Fatalf("cookie %s: Secure=%v HttpOnly=%v SameSite=%v Path=%q", c.Name, c.Secure, c.HttpOnly, c.SameSite, c.Path)
		}
	}
}

func TestSessionCookieOptionsAreExplicit(t *testing.T) {
	s := newSite(t)
	s.browser().register("alice", goodPassword)
	a := s.browser().login("alice", goodPassword)
	var found bool
	for _, raw := range a.header.Values("Set-Cookie") {
		if strings.HasPrefix(raw, "im2pay_session=") {
			found = true
			for _, want := range []string{"Path=/", "HttpOnly", "SameSite=Lax"} {
				if !strings.Contains(raw, want) {
					t.Fatalf("session cookie %q lacks %s", raw, want)
				}
			}
		}
	}
	if !found {
		t.Fatal("login set no session cookie")
	}
}

func TestLivenessIgnoresTheDatabaseAndReadinessReportsIt(t *testing.T) {
	s := newSite(t)
	for _, path := range []string{"/livez", "/readyz", "/healthz"} {
		expectStatus(t, s.browser().get(path), http.StatusOK)
	}

	conn := dbtest.New(t)
	store := db.New(conn)
	svc, _ := services(store, recharge.Options{})
	h := handlers.New(withStatement(svc, statement.New(store, nil, nil)),
		handlers.Config{IdleTimeout: time.Hour, AbsoluteTimeout: time.Hour, Logger: discardLogger()})
	// A schema this binary does not know (a newer instance migrated it):
	// not ready, though the database answers.
	if _, err := conn.Exec(`INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_newer.sql')`); err != nil {
		t.Fatal(err)
	}
	if rec := httptestRecord(h, "/readyz"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("readyz under a newer schema = %d, want 503", rec.Code)
	}
	if _, err := conn.Exec(`DELETE FROM schema_migrations WHERE version = 9999`); err != nil {
		t.Fatal(err)
	}
	if rec := httptestRecord(h, "/readyz"); rec.Code != http.StatusOK {
		t.Fatalf("readyz with the schema back = %d, want 200", rec.Code)
	}
	conn.Close() // the database is now unreachable for this server
	for path, want := range map[string]int{"/livez": http.StatusOK, "/readyz": http.StatusServiceUnavailable,
		"/healthz": http.StatusServiceUnavailable} {
		if rec := httptestRecord(h, path); rec.Code != want {
			t.Errorf("%s with the database gone = %d, want %d", path, rec.Code, want)
		}
	}
}

func TestTheAccountCenterShowsTheExactBalanceAndRecentRecords(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.register("alice", goodPassword)
	u, _ := s.accounts.UserByName(context.Background(), "alice")
	if _, err := s.wallet.Grant(context.Background(), u.ID, 12345, "g1", "welcome_grant"); err != nil {
		t.Fatal(err)
	}
	page := b.get("/account")
	expectContains(t, page, `id="balance"`, `data-fen="12345"`, "¥123.45", "新用户欢迎礼金", "+¥123.45", `href="/recharge"`, `href="/history"`)
	expectStatus(t, b.get("/recharge"), http.StatusOK)
}

var recordRow = regexp.MustCompile(`data-testid="record"`)

func TestHistoryPagesByKeysetFiltersAndLoadsMore(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.register("alice", goodPassword)
	u, _ := s.accounts.UserByName(context.Background(), "alice")
	for i := 1; i <= 45; i++ {
		if _, err := s.wallet.Grant(context.Background(), u.ID, wallet.Money(i), fmt.Sprintf("g%d", i), "welcome_grant"); err != nil {
			t.Fatal(err)
		}
	}
	first := b.get("/history")
	expectStatus(t, first, http.StatusOK)
	if n := len(recordRow.FindAllString(first.body, -1)); n != 20 {
		t.Fatalf("first page has %d rows, want 20", n)
	}
	// Newest first, with the running balance: 1+2+…+45 = 1035 fen.
	expectContains(t, first, "+¥0.45", "¥10.35", `data-testid="history-more"`)
	more := regexp.MustCompile(`href="(/history\?before=\d+)"`).FindStringSubmatch(first.body)
	if more == nil {
		t.Fatal("no load-more link")
	}
	partial := b.get(strings.ReplaceAll(more[1], "&amp;", "&"), "HX-Request", "true")
	expectStatus(t, partial, http.StatusOK)
	if strings.Contains(partial.body, "<html") || len(recordRow.FindAllString(partial.body, -1)) != 20 {
		t.Fatalf("load more should be 20 rows alone:\n%.500s", partial.body)
	}
	expectContains(t, partial, "+¥0.25")
	expectLacks(t, partial, "+¥0.26")

	expectContains(t, b.get("/history?kind=purchase"), "没有符合筛选条件的记录")
	bad := b.get("/history?from=2026-13-01")
	expectStatus(t, bad, http.StatusUnprocessableEntity)
	expectContains(t, bad, "日期格式应为")
	expectStatus(t, b.get("/history?kind=nonsense"), http.StatusUnprocessableEntity)
	expectStatus(t, b.get("/history?before=-4"), http.StatusUnprocessableEntity)
}

func TestOneUserNeverSeesAnothersHistory(t *testing.T) {
	s := newSite(t)
	alice, bob := s.browser(), s.browser()
	alice.register("alice", goodPassword)
	bob.register("bob_b", goodPassword)
	u, _ := s.accounts.UserByName(context.Background(), "alice")
	posted, err := s.wallet.Grant(context.Background(), u.ID, 777, "g", "welcome_grant")
	if err != nil || posted != 777 {
		t.Fatal(err)
	}
	page := bob.get("/history?before=999999999")
	expectLacks(t, page, "¥7.77")
	expectLacks(t, bob.get("/account"), "¥7.77")
}

// A request whose deadline has passed (REQUEST_TIMEOUT, while the database
// hangs) still gets a page that says so: the error page must not be
// rendered under the context that failed.
func TestARequestPastItsDeadlineGetsTheUnavailablePage(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	expectStatus(t, b.register("deadline", "correct horse battery"), http.StatusSeeOther)
	expired := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithDeadline(r.Context(), time.Now().Add(-time.Second))
		defer cancel()
		s.srv.Config.Handler.ServeHTTP(w, r.WithContext(ctx))
	}))
	t.Cleanup(expired.Close)
	for _, path := range []string{"/account", "/login", "/history"} {
		res, err := b.client.Get(expired.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		a := answer{status: res.StatusCode, header: res.Header, body: string(body)}
		expectStatus(t, a, http.StatusServiceUnavailable)
		expectContains(t, a, "服务暂时不可用，请稍后再试。")
	}
}

// errorCounter is a slog handler that counts records at level Error.
type errorCounter struct{ n atomic.Int64 }

func (h *errorCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *errorCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.n.Add(1)
	}
	return nil
}
func (h *errorCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *errorCounter) WithGroup(string) slog.Handler      { return h }

// A request its client gave up (htmx cancels a preview that newer input
// replaced) is no failure of ours: it is logged as 499, not as an error.
func TestARequestItsClientGaveUpIsNotAServerError(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	expectStatus(t, b.register("gaveup", "correct horse battery"), http.StatusSeeOther)
	errs := &errorCounter{}
	loc, _ := time.LoadLocation("Asia/Shanghai")
	h := handlers.New(handlers.Services{Accounts: s.accounts, Wallet: s.wallet, Statement: statement.New(s.store, loc, s.clock.Now),
		Spend: s.spend, Recharge: s.recharge,
		Center: center.NewService(s.store, center.Options{Spend: s.spend, Recharge: s.recharge, Now: s.clock.Now})}, handlers.Config{
		Location: loc, IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 12 * time.Hour, Now: s.clock.Now,
		Logger: slog.New(errs),
	})
	for _, path := range []string{"/account", "/recharge/preview?method=alipay&amount=50", "/history"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		u, _ := url.Parse(s.srv.URL + path)
		for _, c := range b.client.Jar.Cookies(u) {
			req.AddCookie(c)
		}
		ctx, cancel := context.WithCancel(req.Context())
		cancel()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req.WithContext(ctx))
		if rec.Code != 499 {
			t.Errorf("%s with its client gone: status %d, want 499", path, rec.Code)
		}
	}
	if n := errs.n.Load(); n != 0 {
		t.Fatalf("%d errors logged for requests their clients gave up", n)
	}
}
