package ops_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"im2pay/account"
	"im2pay/adjust"
	"im2pay/center"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/handlers"
	"im2pay/handlers/ops"
	"im2pay/ledger"
	"im2pay/people"
	"im2pay/recharge"
	"im2pay/reconcile"
	"im2pay/redeem"
	"im2pay/spend"
	"im2pay/staff"
	"im2pay/statement"
	"im2pay/wallet"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// fastHasher keeps argon2id with parameters cheap enough for tests.
var fastHasher = account.PasswordHasher{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32}

// clock is the app clock the tests move: session timeouts and TOTP steps
// follow it, never the machine's time.
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

// console is the whole site (the person-facing pages and /ops) over a
// fresh database, served on a local port.
type console struct {
	t        *testing.T
	srv      *httptest.Server
	store    *db.Store
	staff    *staff.Service
	accounts *account.Service
	wallet   *wallet.Service
	ledger   *ledger.Ledger
	recharge *recharge.Service
	spend    *spend.Service
	clock    *clock
	// echo is the router, whose Routes() the security tests walk.
	echo *echo.Echo
}

// newConsole starts the app as the server wires it; options may change
// the web tier's Config and the console's Deps (an area adds its service
// to Deps here).
func newConsole(t *testing.T, options ...func(*handlers.Config, *ops.Deps)) *console {
	t.Helper()
	conn := dbtest.New(t)
	store := db.New(conn)
	// A whole TOTP step from the boundary, so a code's step is the step the test thinks.
	clk := &clock{now: time.Now().Truncate(30 * time.Second).Add(time.Second)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	led := ledger.New(store)
	a := account.NewService(store, account.Options{Hasher: fastHasher, Now: clk.Now, Logger: log, Ledger: led})
	r := recharge.NewService(store, recharge.Options{Now: clk.Now, Logger: log, Ledger: led})
	sp := spend.NewService(store, spend.Options{Ledger: led, Accounts: a, Now: clk.Now, Logger: log})
	w := wallet.NewService(store, wallet.Options{Accounts: a, Now: clk.Now, Logger: log, Ledger: led})
	st := staff.NewService(store, staff.Options{Hasher: fastHasher, Now: clk.Now, Logger: log})
	cfg := handlers.Config{Location: time.UTC, IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 12 * time.Hour,
		Now: clk.Now, Logger: log}
	deps := ops.Deps{Staff: st, DB: conn, Logger: log, Recharge: r, Spend: sp}
	deps.Adjust = adjust.NewService(store, adjust.Options{Ledger: led, Accounts: a, Now: clk.Now})
	deps.Redeem = redeem.NewService(store, redeem.Options{Ledger: led, Now: clk.Now})
	deps.People = people.New(store, people.Options{Accounts: a, Recharge: r, Spend: sp, Location: time.UTC, Now: clk.Now})
	// No biller: a test that reconciles adds its own (reconcileConsole).
	deps.Reconcile = reconcile.NewService(store, reconcile.Options{Ledger: led, Recharge: r, Now: clk.Now})
	for _, o := range options {
		o(&cfg, &deps)
	}
	svc := handlers.Services{Accounts: a, Wallet: w, Recharge: r, Spend: sp, Ops: &deps,
		Redeem:    deps.Redeem, // the person's /account/redeem, on the service the console issues codes with
		Statement: statement.New(store, cfg.Location, cfg.Now),
		Center:    center.NewService(store, center.Options{Spend: sp, Recharge: r, Now: clk.Now})}
	e := handlers.New(svc, cfg)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &console{t: t, srv: srv, store: store, staff: st, accounts: a, wallet: w, ledger: led, recharge: r,
		spend: sp, clock: clk, echo: e}
}

// agent is one browser: its own cookie jar, redirects not followed, so a
// test sees each answer as the browser receives it.
type agent struct {
	con    *console
	client *http.Client
	header http.Header
	// member, password and secret are the staff member's when loginAs
	// made it.
	member   staff.Member
	password string
	secret   string
}

func (con *console) agent() *agent {
	jar, _ := cookiejar.New(nil)
	return &agent{con: con, header: http.Header{"Accept-Language": {"zh-CN"}}, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type answer struct {
	status int
	header http.Header
	body   string
}

// location is where a redirect goes (303, or htmx's HX-Redirect).
func (a answer) location() string {
	if l := a.header.Get("HX-Redirect"); l != "" {
		return l
	}
	return a.header.Get("Location")
}

func (ag *agent) do(method, path string, form url.Values, extra ...string) answer {
	ag.con.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(context.Background(), method, ag.con.srv.URL+path, body)
	if err != nil {
		ag.con.t.Fatal(err)
	}
	for k, v := range ag.header {
		req.Header[k] = v
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	res, err := ag.client.Do(req)
	if err != nil {
		ag.con.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, header: res.Header, body: string(raw)}
}

func (ag *agent) get(path string, extra ...string) answer {
	return ag.do(http.MethodGet, path, nil, extra...)
}

var (
	csrfField       = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)
	requestKeyField = regexp.MustCompile(`name="request_key" value="([^"]+)"`)
)

// post submits a form as the page at pagePath would, with its CSRF token.
func (ag *agent) post(pagePath, action string, form url.Values, extra ...string) answer {
	ag.con.t.Helper()
	page := ag.get(pagePath)
	m := csrfField.FindStringSubmatch(page.body)
	if m == nil {
		ag.con.t.Fatalf("no CSRF field on %s (status %d, to %q)", pagePath, page.status, page.location())
	}
	form.Set("_csrf", m[1])
	// A browser sends the form's hidden one-time key too.
	if k := requestKeyField.FindStringSubmatch(page.body); k != nil && !form.Has("request_key") {
		form.Set("request_key", k[1])
	}
	return ag.do(http.MethodPost, action, form, extra...)
}

func (ag *agent) cookie(name string) *http.Cookie {
	u, _ := url.Parse(ag.con.srv.URL + "/ops/")
	for _, c := range ag.client.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// newPassword is what loginAs changes the one-time password to.
const newPassword = "console-pass-2026!"

var secretText = regexp.MustCompile(`data-testid="ops-totp-secret">([A-Z2-7]+)<`)

// loginAs creates a staff member with role through staff.Service and logs
// in as them through the real pages: the one-time password, the forced
// change, the TOTP enrollment with a code computed from the secret the
// page shows. The app clock then moves one TOTP step, so the next code
// the test computes is a new one.
func loginAs(t *testing.T, con *console, role staff.Role) *agent {
	t.Helper()
	name := uniqueName(con, string(role)+"."+nameChars.ReplaceAllString(strings.ToLower(t.Name()), "_"))
	m, pw, err := con.staff.Add(context.Background(), name, role)
	if err != nil {
		t.Fatal(err)
	}
	ag := con.agent()
	ag.member = m
	expectRedirect(t, ag.post("/ops/login", "/ops/login", url.Values{"name": {m.Name}, "password": {pw}}), "/ops/password")
	expectRedirect(t, ag.post("/ops/password", "/ops/password", url.Values{"password": {newPassword}}), "/ops/totp/enroll")
	ag.password = newPassword
	page := ag.get("/ops/totp/enroll")
	sm := secretText.FindStringSubmatch(page.body)
	if sm == nil {
		t.Fatalf("no TOTP secret on the enrollment page (status %d):\n%.2000s", page.status, page.body)
	}
	ag.secret = sm[1]
	expectRedirect(t, ag.post("/ops/totp/enroll", "/ops/totp/enroll", url.Values{"code": {ag.code()}}), "/ops")
	con.clock.Advance(staff.TOTPPeriod * time.Second)
	return ag
}

// nameChars are what a staff name may not hold (subtest names bring '/',
// '#' and the like).
var nameChars = regexp.MustCompile(`[^a-z0-9_.-]`)

// uniqueName cuts name to the staff table's 32 characters and numbers it
// while taken (two members of one role in a test).
func uniqueName(con *console, name string) string {
	for i := 1; ; i++ {
		try := name
		if i > 1 {
			suffix := "." + strconv.Itoa(i)
			try = name[:min(len(name), 32-len(suffix))] + suffix
		}
		try = try[:min(len(try), 32)]
		if _, err := con.staff.ByName(context.Background(), try); err != nil {
			return try
		}
	}
}

// code is the agent's TOTP code now (by the app clock).
func (ag *agent) code() string {
	ag.con.t.Helper()
	c, err := staff.Code(ag.secret, ag.con.clock.Now())
	if err != nil {
		ag.con.t.Fatal(err)
	}
	return c
}

func expectStatus(t *testing.T, a answer, want int) {
	t.Helper()
	if a.status != want {
		t.Fatalf("status = %d, want %d; body:\n%.2000s", a.status, want, a.body)
	}
}

func expectRedirect(t *testing.T, a answer, to string) {
	t.Helper()
	if (a.status != http.StatusSeeOther && a.header.Get("HX-Redirect") == "") || a.location() != to {
		t.Fatalf("answer = %d to %q, want a redirect to %q; body:\n%.1000s", a.status, a.location(), to, a.body)
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
