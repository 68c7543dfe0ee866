package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"im2pay/account"
	"im2pay/center"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/handlers"
	"im2pay/internal/figures"
	"im2pay/recharge"
	"im2pay/spend"
	"im2pay/statement"
	"im2pay/wallet"
)

// The injection half of the security suite (RELIABILITY B7): text a person
// controls, carrying script, event handlers, javascript: links and htmx
// attributes, opened in Chromium on every page that shows it. Every payload
// that ran would set window.__pwned or the title, open a dialog, or fetch
// /__canary/… (same origin, so CSP would not stop it): the canary counts
// hits and must count none.

// payloads fit a gift message (100 characters) and try each way in.
var payloads = []string{
	`<script>window.__pwned=1;document.title='PWNED'</script>`,
	`<img src=/__canary/img onerror="window.__pwned=2;alert(2)">`,
	`<a href="javascript:window.__pwned=3" id=pwnlink>x</a>`,
	`<div hx-get="/__canary/hx-get" hx-trigger="load">x</div>`,
	`<button hx-on:click="window.__pwned=5" id=pwnbtn>x</button>`,
	`<p hx-on::load="window.__pwned=6" hx-post=/__canary/hx-on hx-trigger=load>`,
	`"><svg onload=window.__pwned=7>`,
	`'><iframe src=/__canary/iframe></iframe>`,
	`</textarea><script src=/__canary/script.js></script>`,
	`<meta http-equiv=refresh content="0;url=/__canary/meta">`,
	`<base href=/__canary/><object data=/__canary/object>`,
	`<style>@import '/__canary/css';</style>{{7*7}}${7*7}`,
	`<div data-hx-get=/__canary/data-hx hx-trigger=load hx-boost=true>`,
	`javascript:window.__pwned=14`,
}

// injectedJS counts elements that only a payload could have made.
const injectedJS = `({
	Pwned: window.__pwned === undefined ? 0 : 1,
	Title: document.title,
	Injected: document.querySelectorAll('main script, img[src^="/__canary"], main iframe, object, svg[onload], ' +
		'#pwnlink, #pwnbtn, [hx-get^="/__canary"], [hx-post^="/__canary"], [data-hx-get], [hx-on\\:click], ' +
		'[hx-on\\:\\:load], base, meta[http-equiv], main style, a[href^="javascript:"]').length,
})`

// headersJS fetches the page again and reads its security headers.
const headersJS = `fetch(location.href, {credentials: "same-origin"}).then(r => [
	r.headers.get("Content-Security-Policy") || "", r.headers.get("X-Content-Type-Options") || "",
	r.headers.get("Referrer-Policy") || "", r.headers.get("X-Frame-Options") || ""])`

// canarySite is the app behind a handler that counts requests to /__canary.
type canarySite struct {
	*site
	hits atomic.Int64
}

func newCanarySite(t *testing.T) *canarySite {
	t.Helper()
	store := db.New(dbtest.New(t))
	accounts := account.NewService(store, account.Options{Hasher: account.PasswordHasher{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32}})
	svc := wallet.NewService(store, wallet.Options{Accounts: accounts})
	rs := recharge.NewService(store, recharge.Options{})
	sp := spend.NewService(store, spend.Options{Accounts: accounts})
	sl := &serverLog{}
	app := handlers.New(handlers.Services{Accounts: accounts, Wallet: svc, Statement: statement.New(store, shanghai(), nil),
		Spend: sp, Recharge: rs, Center: center.NewService(store, center.Options{Spend: sp, Recharge: rs})}, handlers.Config{Location: shanghai(), IdleTimeout: 30 * time.Minute,
		AbsoluteTimeout: 12 * time.Hour, Logger: slog.New(sl)})
	cs := &canarySite{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/__canary") {
			cs.hits.Add(1)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		app.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cs.site = &site{url: srv.URL, store: store, accounts: accounts, wallet: svc, spend: sp, log: sl}
	return cs
}

func TestSecurityInjectedTextNeverRunsInChromium(t *testing.T) {
	s := newCanarySite(t)
	ctx := context.Background()
	browserCtx := startBrowser(t)

	// Usernames are letters, digits and underscores only: every payload
	// is refused as a name, so none can reach a page that way.
	refused := 0
	for _, pl := range payloads {
		if _, err := s.accounts.Register(ctx, pl, password, "test:"+pl); err != nil {
			refused++
		}
	}
	figures.Record(t, "security", "B7 hostile usernames accepted at registration", len(payloads), len(payloads)-refused)
	if refused != len(payloads) {
		t.Errorf("%d hostile usernames were accepted", len(payloads)-refused)
	}

	s.register(t, "xss_victim")
	s.register(t, "xss_sender")
	victim, sender := s.userID(t, "xss_victim"), s.userID(t, "xss_sender")
	s.grant(t, victim, 500_00, "b7-victim", "welcome_grant")
	s.grant(t, sender, 500_00, "b7-sender", "welcome_grant")
	for i, pl := range payloads {
		for _, g := range []spend.GiftRequest{
			{SenderID: sender, To: "xss_victim", Gift: "rose", Quantity: "1", Message: pl, Key: fmt.Sprintf("b7-in-%02d-padding", i)},
			{SenderID: victim, To: "xss_sender", Gift: "rose", Quantity: "1", Message: pl, Key: fmt.Sprintf("b7-out-%02d-padding", i)},
		} {
			if _, err := s.spend.SendGift(ctx, g); err != nil {
				t.Fatalf("gift with payload %d: %v", i, err)
			}
		}
	}

	p := newPage(t, s.site, browserCtx, variant{dev: desktop, lang: zhCN, accept: "zh-CN"})
	dialogs := watchDialogs(p)
	// Hostile filters and amounts are refused with 422 by design, and the
	// browser logs each refused load (and the header check's fetch of it).
	p.probs.expect("422 for a refused hostile parameter", 100, func(pr problem) bool {
		return pr.kind == "log.network" && strings.Contains(pr.text, "status of 422")
	})
	// An offer code that is no product or event is a 404, never echoed.
	p.probs.expect("404 for an unknown offer code", 100, func(pr problem) bool {
		return pr.kind == "log.network" && strings.Contains(pr.text, "status of 404") &&
			(strings.Contains(pr.url, "/shop?product=") || strings.Contains(pr.url, "/events?event="))
	})
	p.visit("/login")
	p.fill(byID("username"), "xss_victim")
	p.fill(byID("password"), password)
	p.follow(byTestID("login-submit"), "/account")

	// Self-check: markup that did get in would be seen. An image and an
	// htmx element added behind the page's back both reach the canary.
	eval[chromedp.Void](p, `(() => { const d = document.createElement("div");
		d.innerHTML = '<img src="/__canary/self-img" alt="">'; document.body.append(d);
		const h = document.createElement("div"); h.setAttribute("hx-get", "/__canary/self-hx");
		h.setAttribute("hx-trigger", "load"); document.body.append(h); htmx.process(h); })()`)
	// stepTimeout is a hang guard: a busy browser requests late, not never.
	for deadline := time.Now().Add(stepTimeout); s.hits.Load() < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("the canary heard %d of the 2 self-check requests: it would miss a payload that ran", s.hits.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.canaryHits()

	all := strings.Join(payloads, "")
	reflect := func(path string, params ...string) string {
		q := url.Values{}
		for _, k := range params {
			q.Set(k, all)
		}
		return path + "?" + q.Encode()
	}
	visits := []string{"/gifts", "/account", "/history", "/history?kind=gift", "/history/summary",
		reflect("/gifts", "to", "message", "quantity", "gift"), reflect("/history", "kind", "from", "to"),
		reflect("/recharge", "amount", "custom", "method", "return_to"), reflect("/recharge/confirm", "amount", "method", "key"),
		reflect("/shop", "product"), reflect("/events", "event"), reflect("/history/links", "kind", "from", "to")}
	var renders, ran, headerPages, headerMissing int
	check := func(step string) {
		t.Helper()
		// Give a handler or an htmx trigger the chance to fire: a pass
		// never depends on it being quick, only a failure could.
		time.Sleep(200 * time.Millisecond)
		type found struct {
			Pwned, Injected int
			Title           string
		}
		f := eval[found](p, injectedJS)
		renders += len(payloads)
		hits, seen := s.canaryHits(), dialogs.take()
		if n := f.Pwned + f.Injected + hits + len(seen); n > 0 || strings.Contains(f.Title, "PWNED") {
			ran += max(n, 1)
			t.Errorf("%s: a payload ran or became markup: pwned=%d injected=%d canary=%d dialogs=%v title=%q",
				step, f.Pwned, f.Injected, hits, seen, f.Title)
		}
		headerPages++
		if miss := pageHeadersMissing(p); len(miss) > 0 {
			headerMissing++
			t.Errorf("%s: security headers missing: %s", step, strings.Join(miss, ", "))
		}
	}
	for _, path := range visits {
		p.visit(path)
		check(path)
	}
	p.visit("/gifts")
	texts := eval[[]string](p, `Array.from(document.querySelectorAll('[data-testid="gift-text"]')).map(e => e.textContent)`)
	for _, pl := range payloads {
		if n := countOf(texts, pl); n != 2 {
			t.Errorf("payload %q is shown as text %d times, want twice (sent and received)", pl, n)
		}
	}
	p.snap("gifts-with-payloads")

	// The gift form refused (unknown recipient) comes back through an htmx
	// swap with the typed text in it: still only text.
	eval[chromedp.Void](p, fmt.Sprintf(`(f => { f.querySelector('[name="to"]').value = %q;
		f.querySelector('[name="message"]').value = %q; })(document.querySelector('[data-testid="gift-form"]'))`,
		payloads[0]+payloads[1], payloads[3]))
	p.markDocument()
	p.press(byTestID("gift-submit"))
	p.waitFor("the refused form to come back", `document.querySelector('[data-testid="gift-form"] [role="alert"], [data-testid="gift-form"] .text-red-600') !== null || document.querySelector('[data-testid="gift-form"]').innerHTML.includes("__canary")`)
	if !p.sameDocument() {
		t.Error("the refused gift form left the page instead of swapping in place")
	}
	check("gift form refused through htmx")
	p.snap("gift-form-refused")

	figures.Record(t, "security", "B7 script, handler, javascript: and htmx payload renderings in Chromium", renders, ran)
	figures.Record(t, "security", "B7 pages with user text lacking security headers", headerPages, headerMissing)
	if ran != 0 || headerMissing != 0 {
		t.Fatalf("%d payload renderings ran, %d pages lacked headers", ran, headerMissing)
	}
}

// canaryHits returns and resets the canary's count.
func (s *canarySite) canaryHits() int { return int(s.hits.Swap(0)) }

// pageHeadersMissing fetches the tab's page again from inside it and names
// the security headers the answer lacks (HSTS is for HTTPS only; the
// handlers suite checks it on a Secure site).
func pageHeadersMissing(p *page) []string {
	p.t.Helper()
	ctx, cancel := p.timeout()
	defer cancel()
	h, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](headersJS, chromedp.EvalAwaitPromise))
	if err != nil || len(h) != 4 {
		p.fail("read the page's headers: %v", err)
	}
	var miss []string
	if !strings.Contains(h[0], "script-src 'self'") || !strings.Contains(h[0], "frame-ancestors 'none'") ||
		strings.Contains(h[0], "unsafe-inline") || strings.Contains(h[0], "unsafe-eval") {
		miss = append(miss, "CSP "+h[0])
	}
	if h[1] != "nosniff" {
		miss = append(miss, "nosniff")
	}
	if h[2] == "" || h[2] == "unsafe-url" {
		miss = append(miss, "Referrer-Policy")
	}
	if h[3] != "DENY" {
		miss = append(miss, "X-Frame-Options")
	}
	return miss
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}
