package alipaysandbox

import (
	"context"
	"crypto/rand"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/alipay"
	"im2pay/payment/sandbox/sim"
)

// harness is the sandbox, our merchant side pointed at it, and a shop that
// plays our notify endpoint, all in process.
type harness struct {
	sb      *Sandbox
	n       *sim.Notifier
	srv     *httptest.Server // the sandbox
	dir     string
	cfg     alipay.Config
	p       *alipay.Provider
	shop    *shop
	shopSrv *httptest.Server
	browser *http.Client // a browser that does not follow redirects
}

// hangGuard bounds a wait for something the sandbox will do, so a broken
// test fails instead of hanging; see waitFor.
const hangGuard = 2 * time.Minute

func newHarness(t testing.TB) *harness {
	t.Helper()
	mux := http.NewServeMux()
	h := &harness{srv: httptest.NewServer(mux), dir: t.TempDir()}
	t.Cleanup(h.srv.Close)
	var err error
	if h.cfg, err = Provision(h.dir, h.srv.URL); err != nil {
		t.Fatal(err)
	}
	if h.p, err = alipay.New(h.cfg, h.srv.Client()); err != nil {
		t.Fatal(err)
	}
	h.shop = &shop{p: h.p, refuse: map[string]int{}, got: map[string][]delivery{}}
	h.shopSrv = httptest.NewServer(h.shop)
	t.Cleanup(h.shopSrv.Close)
	h.n = sim.NewNotifier(nil, 0.001, nil)
	t.Cleanup(h.n.Close) // runs first: no delivery outlives the servers
	if h.sb, err = New(h.dir, h.n, nil); err != nil {
		t.Fatal(err)
	}
	h.sb.Routes(mux)
	h.browser = &http.Client{Timeout: 2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return h
}

// delivery is one notification our notify endpoint received.
type delivery struct {
	n   payment.Notification
	err error
	at  time.Time
	ack bool
}

// shop is our notify endpoint: it parses, records and acknowledges, refusing
// the first refuse[order] verified deliveries of an order.
type shop struct {
	p      *alipay.Provider
	mu     sync.Mutex
	refuse map[string]int
	got    map[string][]delivery // by out_trade_no ("" for refused messages)
}

func (s *shop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	n, err := s.p.ParseNotification(r.Context(), r.Header, body)
	s.mu.Lock()
	d := delivery{n: n, err: err, at: time.Now(), ack: err == nil}
	if err == nil && s.refuse[n.OutTradeNo] > 0 {
		s.refuse[n.OutTradeNo]--
		d.ack = false
	}
	s.got[n.OutTradeNo] = append(s.got[n.OutTradeNo], d)
	s.mu.Unlock()
	writeAck(w, s.p.Ack(d.ack))
}

func (s *shop) deliveries(no string) []delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]delivery(nil), s.got[no]...)
}

// waitFor waits until at least count deliveries of no arrived.
//
// hangGuard only stops a test that would otherwise hang; it is not a
// timing. A notification the sandbox sends arrives, however busy the
// machine, and the assertion is on what arrived, never on how fast.
func (h *harness) waitFor(t *testing.T, no string, count int) []delivery {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		got := h.shop.deliveries(no)
		if len(got) >= count {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d notifications for %s after %v, want %d", len(got), no, hangGuard, count)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// order is a fresh order of amount fen.
func (h *harness) order(device payment.Device, amount int64) payment.Order {
	no := "T" + alnum(23)
	return payment.Order{OutTradeNo: no, Amount: amount, Currency: "CNY",
		Subject: "IM2.0 Pay 余额充值 ¥" + payment.FenToYuan(amount), Device: device, ClientIP: "203.0.113.7",
		ReturnURL: h.shopSrv.URL + "/recharge/orders/" + no + "/return",
		NotifyURL: h.shopSrv.URL + "/pay/notify/alipay", ExpiresAt: h.sb.Now().Add(30 * time.Minute)}
}

// start calls Start and opens the URL like a browser; it returns the
// cashier page's URL.
func (h *harness) start(t *testing.T, o payment.Order) string {
	t.Helper()
	next, err := h.p.Start(context.Background(), o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	res := h.get(t, next.RedirectURL)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "/alipay/cashier/") {
		t.Fatalf("gateway answered %d %q, want a redirect to the cashier", res.StatusCode, loc)
	}
	return h.srv.URL + loc
}

func (h *harness) get(t *testing.T, u string) *http.Response {
	t.Helper()
	res, err := h.browser.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// submit posts the cashier form and returns where the person goes next:
// the redirect, the "back to the merchant" link, or "" (stays).
func (h *harness) submit(t *testing.T, cashier, password string, o sim.Outcome) (string, string) {
	t.Helper()
	res, err := h.browser.PostForm(cashier, url.Values{"password": {password}, "outcome": {string(o)}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body := readBody(t, res)
	switch res.StatusCode {
	case http.StatusSeeOther:
		return res.Header.Get("Location"), body
	case http.StatusOK:
		if m := returnLink.FindStringSubmatch(body); m != nil {
			return html.UnescapeString(m[1]), body
		}
		return "", body
	}
	t.Fatalf("cashier POST answered %d", res.StatusCode)
	return "", ""
}

var returnLink = regexp.MustCompile(`href="([^"]*)" data-testid="cashier-return"`)

// alnum is n random letters and digits.
func alnum(n int) string {
	const set = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = set[int(b[i])%len(set)]
	}
	return string(b)
}

// offlinePair is the merchant side's provider and the sandbox over freshly
// provisioned keys, with no server between them: for fuzz targets that
// feed the one what the other signed.
func offlinePair(t testing.TB) (alipay.Config, *alipay.Provider, *Sandbox) {
	t.Helper()
	dir := t.TempDir()
	cfg, err := Provision(dir, "http://127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	p, err := alipay.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := sim.NewNotifier(nil, 0.001, nil)
	t.Cleanup(n.Close)
	sb, err := New(dir, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, p, sb
}

// writeAck sends a provider's acknowledgement as the app's notify handler
// does.
func writeAck(w http.ResponseWriter, a payment.Ack) {
	if a.ContentType != "" {
		w.Header().Set("Content-Type", a.ContentType)
	}
	w.WriteHeader(a.Status)
	_, _ = w.Write(a.Body)
}
