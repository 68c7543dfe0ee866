package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"im2pay/account"
	"im2pay/center"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/handlers"
	"im2pay/ledger"
	"im2pay/recharge"
	"im2pay/redeem"
	"im2pay/spend"
	"im2pay/statement"
	"im2pay/wallet"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// fastHasher keeps argon2id but with parameters cheap enough for tests.
var fastHasher = account.PasswordHasher{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32}

// services builds the account service (with fastHasher, on o's clock)
// and every domain service over it, as the server wires them; o configures
// recharge, and the statement is the caller's (see withStatement).
func services(store *db.Store, o recharge.Options) (handlers.Services, *ledger.Ledger) {
	o.Ledger = ledger.New(store)
	a := account.NewService(store, account.Options{Hasher: fastHasher, Now: o.Now, Logger: o.Logger, Ledger: o.Ledger})
	r := recharge.NewService(store, o)
	sp := spend.NewService(store, spend.Options{Ledger: o.Ledger, Accounts: a, Now: o.Now, Logger: o.Logger})
	w := wallet.NewService(store, wallet.Options{Accounts: a, Now: o.Now, Logger: o.Logger, Ledger: o.Ledger})
	return handlers.Services{Accounts: a, Wallet: w, Recharge: r, Spend: sp,
		Center: center.NewService(store, center.Options{Spend: sp, Recharge: r, Now: o.Now}),
		Redeem: redeem.NewService(store, redeem.Options{Ledger: o.Ledger, Now: o.Now})}, o.Ledger
}

// withStatement is svc with its statement service.
func withStatement(svc handlers.Services, st *statement.Service) handlers.Services {
	svc.Statement = st
	return svc
}

// clock is a settable time for the session timeouts.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// site is the real router over a fresh database, served on a local port.
type site struct {
	t        *testing.T
	srv      *httptest.Server
	store    *db.Store
	ledger   *ledger.Ledger
	accounts *account.Service
	wallet   *wallet.Service
	spend    *spend.Service
	recharge *recharge.Service
	clock    *clock
}

func newSite(t *testing.T, options ...func(*handlers.Config)) *site {
	t.Helper()
	conn := dbtest.New(t)
	conn.SetMaxOpenConns(20) // as in production (DB_MAX_CONNS): load queues in Go
	store := db.New(conn)
	clk := &clock{now: time.Now()}
	svc, led := services(store, recharge.Options{Now: clk.Now})
	loc, _ := time.LoadLocation("Asia/Shanghai")
	cfg := handlers.Config{
		Location: loc, IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 12 * time.Hour, Now: clk.Now,
		Logger: discardLogger(),
	}
	for _, o := range options {
		o(&cfg)
	}
	h := handlers.New(withStatement(svc, statement.New(store, cfg.Location, cfg.Now)), cfg)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &site{t: t, srv: srv, store: store, ledger: led, accounts: svc.Accounts, wallet: svc.Wallet, spend: svc.Spend, recharge: svc.Recharge, clock: clk}
}

// browser is one person's cookie jar; it never follows redirects, so tests
// see each answer as the browser would receive it.
type browser struct {
	s      *site
	client *http.Client
	header http.Header // sent with every request
}

func (s *site) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{s: s, header: http.Header{"Accept-Language": {"zh-CN,zh;q=0.9"}}, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values, extra ...string) answer {
	b.s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(context.Background(), method, b.s.srv.URL+path, body)
	if err != nil {
		b.s.t.Fatal(err)
	}
	for k, v := range b.header {
		req.Header[k] = v
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, header: res.Header, body: string(raw)}
}

func (b *browser) get(path string, extra ...string) answer {
	return b.do(http.MethodGet, path, nil, extra...)
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// post submits a form the way the page would: with the CSRF token the page
// carried.
func (b *browser) post(pagePath, action string, form url.Values, extra ...string) answer {
	b.s.t.Helper()
	page := b.get(pagePath)
	m := csrfField.FindStringSubmatch(page.body)
	if m == nil {
		b.s.t.Fatalf("no CSRF field on %s (status %d)", pagePath, page.status)
	}
	form.Set("_csrf", m[1])
	return b.do(http.MethodPost, action, form, extra...)
}

func (b *browser) register(name, password string) answer {
	return b.post("/register", "/register", url.Values{"username": {name}, "password": {password}})
}

func (b *browser) login(name, password string) answer {
	return b.post("/login", "/login", url.Values{"username": {name}, "password": {password}})
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.s.srv.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func expectStatus(t *testing.T, a answer, want int) {
	t.Helper()
	if a.status != want {
		t.Fatalf("status = %d, want %d; body:\n%.2000s", a.status, want, a.body)
	}
}

func expectRedirect(t *testing.T, a answer, to string) {
	t.Helper()
	if a.status != http.StatusSeeOther || a.header.Get("Location") != to {
		t.Fatalf("answer = %d to %q, want 303 to %q; body:\n%.500s", a.status, a.header.Get("Location"), to, a.body)
	}
}

func expectContains(t *testing.T, a answer, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(a.body, p) {
			t.Fatalf("page lacks %q; body:\n%.3000s", p, a.body)
		}
	}
}

func expectLacks(t *testing.T, a answer, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if strings.Contains(a.body, p) {
			t.Fatalf("page unexpectedly contains %q", p)
		}
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func httptestRecord(h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}
