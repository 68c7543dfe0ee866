package wechatsandbox

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
	"im2pay/payment/wechat"
)

// harness is one sandbox behind an httptest server, a merchant provider
// provisioned against it, and a server playing our notify endpoint.
type harness struct {
	t    *testing.T
	api  *httptest.Server
	sb   *Sandbox
	n    *sim.Notifier
	cfg  wechat.Config
	p    *wechat.Provider
	hook *hook
}

// hangGuard bounds a wait for something the sandbox will do, so a broken
// test fails instead of hanging; see waitFor.
const hangGuard = 2 * time.Minute

func newHarness(t *testing.T) *harness {
	t.Helper()
	mux := http.NewServeMux()
	api := httptest.NewServer(mux)
	t.Cleanup(api.Close)
	dir := t.TempDir()
	cfg, err := Provision(dir, api.URL)
	if err != nil {
		t.Fatalf("Provision: %v", err)
	}
	p, err := wechat.New(cfg, api.Client())
	if err != nil {
		t.Fatalf("wechat.New: %v", err)
	}
	h := &harness{t: t, api: api, cfg: cfg, p: p, hook: newHook(t, p)}
	// Registered last so it runs first: retries stop before servers close.
	h.n = sim.NewNotifier(nil, 0.001, nil)
	t.Cleanup(h.n.Close)
	if h.sb, err = New(dir, h.n, nil); err != nil {
		t.Fatalf("New: %v", err)
	}
	h.sb.Routes(mux)
	return h
}

// order makes a fresh order for dev; amount in fen.
func (h *harness) order(dev payment.Device, amount int64) payment.Order {
	no := "T" + randString(21, alnum)
	return payment.Order{
		OutTradeNo: no, Amount: amount, Currency: "CNY", Subject: "IM2.0 Pay 余额充值 ¥" + payment.FenToYuan(amount),
		Device: dev, ClientIP: "203.0.113.7", ReturnURL: "https://im2pay.test/recharge/orders/" + no,
		NotifyURL: h.hook.srv.URL + "/notify/wechat", ExpiresAt: time.Now().Add(30 * time.Minute),
	}
}

// start starts o and, for H5, opens h5_url as the phone's browser would,
// so the sandbox knows redirect_url.
func (h *harness) start(o payment.Order) payment.Next {
	h.t.Helper()
	next, err := h.p.Start(context.Background(), o)
	if err != nil {
		h.t.Fatalf("Start %s: %v", o.OutTradeNo, err)
	}
	if o.Device == payment.Phone {
		if code, _ := h.get(next.RedirectURL); code != http.StatusOK {
			h.t.Fatalf("GET h5_url: %d", code)
		}
	}
	return next
}

// get fetches a page without following redirects.
func (h *harness) get(u string) (int, string) {
	h.t.Helper()
	res, err := noRedirect.Get(u)
	if err != nil {
		h.t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

var noRedirect = &http.Client{
	Timeout:       2 * time.Minute,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// hook is our notify endpoint: it verifies every delivery with the
// provider, refuses the first refuse[no] good ones, and acknowledges.
type hook struct {
	srv *httptest.Server
	p   *wechat.Provider

	mu       sync.Mutex
	refuse   map[string]int
	attempts map[string]int
	got      map[string][]payment.Notification
	at       map[string]time.Time // when the first acknowledged one arrived
	bad      []error
}

func newHook(t *testing.T, p *wechat.Provider) *hook {
	k := &hook{p: p, refuse: map[string]int{}, attempts: map[string]int{},
		got: map[string][]payment.Notification{}, at: map[string]time.Time{}}
	k.srv = httptest.NewServer(http.HandlerFunc(k.serve))
	t.Cleanup(k.srv.Close)
	return k
}

func (k *hook) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	n, err := k.p.ParseNotification(r.Context(), r.Header, body)
	k.mu.Lock()
	defer k.mu.Unlock()
	if err != nil {
		k.bad = append(k.bad, err)
		writeAck(w, k.p.Ack(false))
		return
	}
	no := n.OutTradeNo
	if k.attempts[no]++; k.attempts[no] <= k.refuse[no] {
		writeAck(w, k.p.Ack(false))
		return
	}
	if len(k.got[no]) == 0 {
		k.at[no] = time.Now()
	}
	k.got[no] = append(k.got[no], n)
	writeAck(w, k.p.Ack(true))
}

// notes returns the acknowledged notifications for no so far.
func (k *hook) notes(no string) []payment.Notification {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]payment.Notification(nil), k.got[no]...)
}

// waitFor waits until at least n notifications for no were acknowledged.
// hangGuard only stops a test that would otherwise hang; it is not a
// timing: the assertion is on what arrived, never on how fast.
func (k *hook) waitFor(t *testing.T, no string, n int) []payment.Notification {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		got := k.notes(no)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			k.mu.Lock()
			defer k.mu.Unlock()
			t.Fatalf("%s: %d notifications after %s, want %d (refused: %v)", no, len(got), hangGuard, n, k.bad)
		}
		time.Sleep(5 * time.Millisecond)
	}
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
