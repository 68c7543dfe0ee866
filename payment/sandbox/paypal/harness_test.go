package paypalsandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/paypal"
	"im2pay/payment/sandbox/sim"
)

// harness is the sandbox served in-process, our merchant side configured
// against it, and a webhook endpoint playing our app.
type harness struct {
	dir  string
	n    *sim.Notifier
	sb   *Sandbox
	api  *httptest.Server
	hook *recorder
	cfg  paypal.Config
	prov *paypal.Provider
}

func newHarness(t testing.TB) *harness { t.Helper(); return newHarnessIn(t, "US") }

// newHarnessIn is newHarness for a merchant account registered in country.
func newHarnessIn(t testing.TB, country string) *harness {
	t.Helper()
	mux := http.NewServeMux()
	api := httptest.NewServer(mux)
	t.Cleanup(api.Close)
	rec := &recorder{got: map[string][]delivery{}, refuse: map[string]int{}}
	rec.srv = httptest.NewServer(http.HandlerFunc(rec.serve))
	t.Cleanup(rec.srv.Close)
	dir := t.TempDir()
	cfg, err := ProvisionIn(dir, api.URL, rec.srv.URL+"/webhooks/paypal", country)
	if err != nil {
		t.Fatal(err)
	}
	n := sim.NewNotifier(nil, 0.001, nil)
	t.Cleanup(n.Close) // runs first: no delivery outlives the servers
	sb, err := New(dir, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	sb.Routes(mux)
	prov, err := paypal.New(cfg, api.Client())
	if err != nil {
		t.Fatal(err)
	}
	rec.prov.Store(prov)
	return &harness{dir: dir, n: n, sb: sb, api: api, hook: rec, cfg: cfg, prov: prov}
}

var seq atomic.Int64

// order is a US$68.00 order (or amount, in cents) with a fresh order
// number: the sandbox app is a merchant account registered in the US.
func (h *harness) order(amount int64) payment.Order {
	no := fmt.Sprintf("IM%013d%05d", time.Now().UnixMilli(), seq.Add(1))
	return payment.Order{OutTradeNo: no, Amount: amount, Currency: "USD", Subject: "IM2.0 Pay 余额充值",
		Device: payment.Desktop, ClientIP: "127.0.0.1", ReturnURL: "https://pay.im2.example/recharge/" + no + "/return",
		NotifyURL: h.hook.srv.URL + "/webhooks/paypal", ExpiresAt: time.Now().Add(30 * time.Minute)}
}

// start creates o at the sandbox.
func (h *harness) start(t testing.TB, o payment.Order) payment.Next {
	t.Helper()
	next, err := h.prov.Start(context.Background(), o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return next
}

// returnOf checks a redirect goes to o's return URL and parses it.
func (h *harness) returnOf(t testing.TB, o payment.Order, redirect string) payment.Return {
	t.Helper()
	u, err := url.Parse(redirect)
	if err != nil || u.Scheme+"://"+u.Host+u.Path != o.ReturnURL {
		t.Fatalf("redirect %q does not go to %q", redirect, o.ReturnURL)
	}
	ret, err := h.prov.ParseReturn(context.Background(), u.Query(), nil)
	if err != nil {
		t.Fatalf("ParseReturn(%q): %v", redirect, err)
	}
	return ret
}

// paid runs a whole successful payment and returns its first webhook.
func (h *harness) paid(t testing.TB) (payment.Order, payment.Result, delivery) {
	t.Helper()
	o := h.order(6800)
	next := h.start(t, o)
	if _, _, err := h.sb.Simulate(context.Background(), o.OutTradeNo, sim.Success); err != nil {
		t.Fatal(err)
	}
	r, err := h.prov.Complete(context.Background(), o.OutTradeNo, next.ProviderRef)
	if err != nil || r.Status != payment.StatusPaid {
		t.Fatalf("Complete = %+v, %v", r, err)
	}
	return o, r, h.hook.wait(t, o.OutTradeNo, 1)[0]
}

// delivery is one webhook as our endpoint saw it.
type delivery struct {
	header http.Header
	body   []byte
	n      payment.Notification
	err    error
	at     time.Time
	acked  bool
}

// recorder is our webhook endpoint: it verifies every delivery through the
// merchant side, records it by order number, and acknowledges it unless
// told to refuse the next few for that order.
type recorder struct {
	srv  *httptest.Server
	prov atomic.Pointer[paypal.Provider]

	mu     sync.Mutex
	got    map[string][]delivery
	refuse map[string]int
}

func (r *recorder) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	prov := r.prov.Load()
	n, err := prov.ParseNotification(req.Context(), req.Header, body)
	ok := err == nil || errors.Is(err, payment.ErrIgnored)
	r.mu.Lock()
	if ok && r.refuse[n.OutTradeNo] > 0 {
		r.refuse[n.OutTradeNo]--
		ok = false
	}
	r.got[n.OutTradeNo] = append(r.got[n.OutTradeNo], delivery{header: req.Header.Clone(), body: body, n: n, err: err,
		at: time.Now(), acked: ok})
	r.mu.Unlock()
	writeAck(w, prov.Ack(ok))
}

func (r *recorder) refuseNext(outTradeNo string, count int) {
	r.mu.Lock()
	r.refuse[outTradeNo] = count
	r.mu.Unlock()
}

func (r *recorder) deliveries(outTradeNo string) []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got[outTradeNo]...)
}

// wait returns once count deliveries for outTradeNo arrived; waitBound is
// a hang guard, not a timing.
func (r *recorder) wait(t testing.TB, outTradeNo string, count int) []delivery {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	for {
		got := r.deliveries(outTradeNo)
		if len(got) >= count {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d webhooks for %s after %v, want %d", len(got), outTradeNo, waitBound, count)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Test hooks: states no outcome reaches.

// holdCapture makes the next capture of outTradeNo's order PENDING, as
// PayPal holds a payment for review.
func (s *Sandbox) holdCapture(outTradeNo, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orders[s.byTrade[outTradeNo]].pendingReason = reason
}

// resolvePending ends the review: COMPLETED, or DECLINED with a
// PAYMENT.CAPTURE.DENIED webhook.
func (s *Sandbox) resolvePending(outTradeNo string, ok bool) {
	s.mu.Lock()
	o := s.orders[s.byTrade[outTradeNo]]
	o.capture.status, o.capture.reason, o.capture.updated = "DECLINED", "", time.Now()
	if ok {
		o.capture.status = "COMPLETED"
	}
	ev := s.captureEvent(o)
	s.mu.Unlock()
	s.notify(ev, sim.NotifyNow)
}

// forgetTokens is a sandbox restart, as far as access tokens go.
func (s *Sandbox) forgetTokens() {
	s.mu.Lock()
	clear(s.tokens)
	s.mu.Unlock()
}

// byTradeForTest is the latest order id for an order number.
func (s *Sandbox) byTradeForTest(outTradeNo string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byTrade[outTradeNo]
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
