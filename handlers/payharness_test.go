package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/handlers"
	"im2pay/ledger"
	"im2pay/metrics"
	"im2pay/payment"
	"im2pay/payment/sandbox/sandboxtest"
	"im2pay/payment/sandbox/sim"
	"im2pay/recharge"
	"im2pay/refund"
	"im2pay/statement"
)

// paySite is the real router with the four providers pointed at an
// in-process sandbox gateway.
type paySite struct {
	*site
	gw *sandboxtest.Gateway
}

func newPaySite(t *testing.T) *paySite { t.Helper(); return newPaySiteWith(t, paySiteOptions{}) }

// paySiteOptions changes the wallet behind a paySite.
type paySiteOptions struct {
	now  func() time.Time // the wallet's clock; nil: time.Now
	wrap func(map[payment.Method]payment.Provider) map[payment.Method]payment.Provider
	// metrics, when set, is what the wallet, the store and the router count into.
	metrics *metrics.Metrics
	// refunds wires the refund service as the server does (我的充值's 申请退款).
	refunds bool
}

func newPaySiteWith(t *testing.T, o paySiteOptions) *paySite {
	t.Helper()
	conn := dbtest.New(t)
	conn.SetMaxOpenConns(20) // as in production (DB_MAX_CONNS): load queues in Go
	store := db.New(conn)
	srv := httptest.NewUnstartedServer(nil)
	appURL := "http://" + srv.Listener.Addr().String()
	gw := sandboxtest.Start(t, appURL)
	loc, _ := time.LoadLocation("Asia/Shanghai")
	providers := gw.Providers
	if o.wrap != nil {
		providers = o.wrap(providers)
	}
	ro := recharge.Options{Location: loc, Providers: providers, BaseURL: appURL,
		Now: o.now, Logger: discardLogger(), Metrics: o.metrics}
	var rf *refund.Service
	if o.refunds {
		rf = refund.NewService(store, refund.Options{Providers: providers, BaseURL: appURL, Now: o.now, Logger: discardLogger()})
		ro.RefundNotified, ro.Debts = rf.Notified, rf
	}
	svc, led := services(store, ro)
	svc.Refund = rf
	if o.metrics != nil {
		led.Observe(func(kind ledger.Kind, took time.Duration) { o.metrics.Posting(string(kind), took) })
	}
	srv.Config.Handler = handlers.New(withStatement(svc, statement.New(store, loc, o.now)), handlers.Config{
		Location: loc, IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 12 * time.Hour, Logger: discardLogger(),
		FormActionOrigins: gw.FormOrigins(), SandboxScanURL: gw.ScanURL, Metrics: o.metrics,
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return &paySite{site: &site{t: t, srv: srv, store: store, ledger: led, accounts: svc.Accounts, wallet: svc.Wallet, spend: svc.Spend, recharge: svc.Recharge, clock: &clock{now: time.Now()}}, gw: gw}
}

// with is p reporting to t, for subtests.
func (p *paySite) with(t *testing.T) *paySite {
	s := *p.site
	s.t = t
	return &paySite{site: &s, gw: p.gw}
}

var (
	keyField    = regexp.MustCompile(`name="key" value="([^"]+)"`)
	orderPath   = regexp.MustCompile(`^/recharge/orders/([0-9A-Za-z]+)/pay$`)
	hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
	formAction  = regexp.MustCompile(`<form method="post" action="([^"]+)"[^>]*data-autosubmit`)
	stateAttr   = regexp.MustCompile(`data-testid="result" data-state="([a-z]+)"`)
)

// order places a confirmed top-up and returns its number.
func (p *paySite) order(b *browser, method, amount string) string {
	p.t.Helper()
	page := b.get("/recharge?method=" + method)
	m := keyField.FindStringSubmatch(page.body)
	if m == nil {
		p.t.Fatalf("no request key on the recharge page:\n%.1500s", page.body)
	}
	a := b.post("/recharge", "/recharge/orders", url.Values{"method": {method}, "amount": {amount}, "key": {m[1]}})
	no := orderPath.FindStringSubmatch(a.header.Get("Location"))
	if a.status != http.StatusSeeOther || no == nil {
		p.t.Fatalf("placing the order: %d %q\n%.1500s", a.status, a.header.Get("Location"), a.body)
	}
	return no[1]
}

// pay sends the person to the provider the way their browser would: it
// follows a redirect or posts the provider form, so the provider knows the
// payment before an outcome is chosen.
func (p *paySite) pay(b *browser, no string) answer {
	p.t.Helper()
	a := b.get("/recharge/orders/" + no + "/pay")
	plain := &http.Client{Timeout: 2 * time.Minute}
	switch {
	case a.status == http.StatusSeeOther:
		res, err := plain.Get(a.header.Get("Location"))
		if err != nil {
			p.t.Fatal(err)
		}
		res.Body.Close()
	case formAction.MatchString(a.body):
		action := strings.ReplaceAll(formAction.FindStringSubmatch(a.body)[1], "&amp;", "&")
		start := formAction.FindStringIndex(a.body)[0]
		providerForm, _, _ := strings.Cut(a.body[start:], "</form>")
		form := url.Values{}
		for _, f := range hiddenField.FindAllStringSubmatch(providerForm, -1) {
			form.Add(f[1], htmlUnescape(f[2]))
		}
		res, err := plain.PostForm(action, form)
		if err != nil {
			p.t.Fatal(err)
		}
		res.Body.Close()
	}
	return a
}

// settle chooses the outcome at the sandbox and brings the person back if
// the provider sends them back.
func (p *paySite) settle(b *browser, no string, outcome sim.Outcome) {
	p.t.Helper()
	redirect, err := p.gw.Simulate(context.Background(), no, outcome)
	if err != nil {
		p.t.Fatal(err)
	}
	if rest, ok := strings.CutPrefix(redirect, p.srv.URL); ok {
		b.get(rest)
	}
}

// settleBound is the longest result waits for an order to settle.
const settleBound = 2 * time.Minute

// result polls the result page until the order is no longer open (or gives up
// after a while and returns what it shows then).
func (p *paySite) result(b *browser, no string, wait time.Duration) (string, answer) {
	p.t.Helper()
	// A wait only turns a hang into a failure: a busy machine delivers the
	// sandbox's notification late, and no test may fail for being slow.
	// Zero still means one look.
	if wait > 0 {
		wait = max(wait, settleBound)
	}
	deadline := time.Now().Add(wait)
	for {
		a := b.get("/recharge/orders/" + no)
		m := stateAttr.FindStringSubmatch(a.body)
		if m == nil {
			p.t.Fatalf("result page without a state: %d\n%.1500s", a.status, a.body)
		}
		if (m[1] != recharge.OrderAwaiting && m[1] != recharge.OrderProcessing) || time.Now().After(deadline) {
			return m[1], a
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (p *paySite) balance(b *browser) string {
	p.t.Helper()
	m := regexp.MustCompile(`id="balance" data-testid="balance" data-fen="(\d+)"`).FindStringSubmatch(b.get("/account").body)
	if m == nil {
		p.t.Fatal("no balance on the account page")
	}
	return m[1]
}

func (p *paySite) ledgerCount(sql string, args ...any) int {
	p.t.Helper()
	var n int
	if err := p.store.DB().GetContext(context.Background(), &n, sql, args...); err != nil {
		p.t.Fatal(err)
	}
	return n
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&quot;", `"`).Replace(s)
}
