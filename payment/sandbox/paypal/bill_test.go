package paypalsandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/paypal"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// A day with three payments, a partial refund of ours, a chargeback and a
// refund made on paypal.com, read through Transaction Search two lines a
// page: not ready until 3 h after the day's end (the client's rule, and
// the sandbox's lag: asked with the client's rule bypassed, the sandbox
// hides what is younger than 3 h); then every line with its fee; planted
// edits show; a duplicate counts once; a window over 31 days is refused
// before asking.
func TestTransactionSearchBill(t *testing.T) {
	h := newHarness(t)
	n := time.Now().UTC().AddDate(0, 0, 2)
	day := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
	c := &fakeClock{t: day.Add(10 * time.Hour)}
	h.sb.SetClock(c.now)
	cfg := h.cfg
	cfg.ReportPageSize = 2
	p, err := paypal.New(cfg, h.api.Client())
	if err != nil {
		t.Fatal(err)
	}
	p.SetClock(c.now)
	ctx := context.Background()

	o1, r1, _ := h.paid(t)
	o2, r2, _ := h.paid(t)
	o3, r3, _ := h.paid(t)
	c.set(day.Add(20 * time.Hour))
	req := payment.RefundRequest{OutTradeNo: o1.OutTradeNo, TradeNo: r1.TradeNo, RequestNo: "RF" + o1.OutTradeNo[2:],
		Amount: 2000, Total: 6800, Currency: "USD", RequestedAt: c.now()}
	rf, err := h.prov.Refund(ctx, req)
	if err != nil || rf.Status != payment.RefundSucceeded {
		t.Fatalf("refund %+v, %v", rf, err)
	}
	cb, err := h.sb.Chargeback(o2.OutTradeNo, 6800)
	if err != nil {
		t.Fatal(err)
	}
	c.set(day.Add(23*time.Hour + 59*time.Minute))
	portal, err := h.sb.PortalRefund(o3.OutTradeNo, 100)
	if err != nil {
		t.Fatal(err)
	}

	c.set(day.Add(24*time.Hour + ReportLag - time.Second))
	if _, err := p.Bill(ctx, day); !errors.Is(err, payment.ErrBillNotReady) {
		t.Fatalf("2:59:59 after the day: %v, want ErrBillNotReady", err)
	}
	// The sandbox's own lag: the portal refund, 3 h old only at 02:59, is
	// not found yet.
	c.set(day.Add(24*time.Hour + 2*time.Hour + 58*time.Minute))
	early, err := p.Transactions(ctx, day, day.Add(24*time.Hour-time.Second))
	if err != nil || len(early) != 5 {
		t.Fatalf("before the lag passed: %d lines, %v; want 5", len(early), err)
	}

	c.set(day.Add(24*time.Hour + ReportLag))
	b, err := p.Bill(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]payment.BillLine{
		r1.TradeNo: {Kind: payment.BillPayment, OutTradeNo: o1.OutTradeNo, TradeNo: r1.TradeNo, Amount: 6800, Fee: 272},
		r2.TradeNo: {Kind: payment.BillPayment, OutTradeNo: o2.OutTradeNo, TradeNo: r2.TradeNo, Amount: 6800, Fee: 272},
		r3.TradeNo: {Kind: payment.BillPayment, OutTradeNo: o3.OutTradeNo, TradeNo: r3.TradeNo, Amount: 6800, Fee: 272},
		rf.RefundID: {Kind: payment.BillRefund, OutTradeNo: o1.OutTradeNo, TradeNo: r1.TradeNo, RequestNo: req.RequestNo,
			RefundID: rf.RefundID, Amount: 2000},
		cb:     {Kind: payment.BillReversal, OutTradeNo: o2.OutTradeNo, TradeNo: r2.TradeNo, RefundID: cb, Amount: 6800},
		portal: {Kind: payment.BillRefund, OutTradeNo: o3.OutTradeNo, TradeNo: r3.TradeNo, RefundID: portal, Amount: 100},
	}
	check(t, b.Lines, want)
	if b.Method != payment.PayPal || b.Count != 6 || b.Gross != 20400 || b.Refund != 8900 || b.Fees != 816 || len(b.Raw) == 0 {
		t.Fatalf("bill %v %d %d %d %d", b.Method, b.Count, b.Gross, b.Refund, b.Fees)
	}

	// Planted: o3's capture missing, o2's amount changed, the refund
	// listed twice (counted once).
	h.sb.SetBillEdit(o3.OutTradeNo, BillEdit{Omit: true})
	h.sb.SetBillEdit(o2.OutTradeNo, BillEdit{Amount: 6700})
	h.sb.SetBillEdit(rf.RefundID, BillEdit{Duplicate: true})
	b, err = p.Bill(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	delete(want, r3.TradeNo)
	w := want[r2.TradeNo]
	w.Amount = 6700
	want[r2.TradeNo] = w
	check(t, b.Lines, want)

	if _, err := p.Bill(ctx, day.AddDate(0, 0, -1)); !errors.Is(err, payment.ErrNoBill) {
		t.Fatalf("a day without transactions: %v", err)
	}
	// 31 days is the limit; one second more is refused by the client
	// before it asks (a closed server would fail differently).
	h.api.Close()
	if _, err := p.Transactions(ctx, day, day.Add(31*24*time.Hour+time.Second)); !errors.Is(err, payment.ErrMalformed) {
		t.Fatalf("32-day window: %v", err)
	}
}

// The sandbox refuses a window over 31 days, and enforces page_size.
func TestTransactionSearchRefusesWideWindowsAndPages(t *testing.T) {
	h := newHarness(t)
	tok := h.token(t)
	day := time.Date(2027, 3, 5, 0, 0, 0, 0, time.UTC)
	for q, want := range map[string]int{
		fmt.Sprintf("start_date=%s&end_date=%s", stamp(day), stamp(day.Add(MaxSearchWindow))):             200,
		fmt.Sprintf("start_date=%s&end_date=%s", stamp(day), stamp(day.Add(MaxSearchWindow+time.Second))): 400,
		fmt.Sprintf("start_date=%s&end_date=%s&page_size=501", stamp(day), stamp(day.Add(time.Hour))):     400,
		fmt.Sprintf("start_date=%s", stamp(day)):                                                          400,
		fmt.Sprintf("start_date=%s&end_date=%s&page=0", stamp(day), stamp(day.Add(time.Hour))):            400,
	} {
		if got := h.getStatus(t, tok, "/paypal/v1/reporting/transactions?"+q); got != want {
			t.Errorf("%s: %d, want %d", q, got, want)
		}
	}
}

func check(t *testing.T, got []payment.BillLine, want map[string]payment.BillLine) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d: %+v", len(got), len(want), got)
	}
	for _, l := range got {
		key := l.TradeNo
		if l.Kind != payment.BillPayment {
			key = l.RefundID
		}
		w, ok := want[key]
		if !ok {
			t.Fatalf("unexpected line %+v", l)
		}
		if l.Kind != w.Kind || l.OutTradeNo != w.OutTradeNo || l.TradeNo != w.TradeNo || l.RequestNo != w.RequestNo ||
			l.RefundID != w.RefundID || l.Amount != w.Amount || l.Fee != w.Fee || l.Currency != "USD" || l.At.IsZero() {
			t.Fatalf("line %+v, want %+v", l, w)
		}
	}
}

// token gets an access token as any client would.
func (h *harness) token(t *testing.T) string {
	t.Helper()
	secret, err := os.ReadFile(h.cfg.SecretFile)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, h.api.URL+"/paypal/v1/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.SetBasicAuth(h.cfg.ClientID, strings.TrimSpace(string(secret)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := h.api.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %v", err)
	}
	return tok.AccessToken
}

func (h *harness) getStatus(t *testing.T, tok, path string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.api.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := h.api.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	return res.StatusCode
}
