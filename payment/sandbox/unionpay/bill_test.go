package unionpaysandbox

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
)

// fakeClock is the one clock both sides read in these tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (e *env) clocked(c *fakeClock)  { e.sb.SetClock(c.now); e.p.SetClock(c.now) }
func (e *env) orderAt(c *fakeClock, amount int64) payment.Order {
	o := e.order(amount)
	o.ExpiresAt = c.now().Add(30 * time.Minute)
	return o
}

// payAt pays o on the card flow at the clock's time and returns its queryId.
func (e *env) payAt(t *testing.T, o payment.Order) string {
	t.Helper()
	e.start(t, o)
	if _, _, err := e.sb.Simulate(context.Background(), o.OutTradeNo, sim.Success); err != nil {
		t.Fatal(err)
	}
	n := e.waitNotes(t, o.OutTradeNo, 1)[0]
	if n.Status != payment.StatusPaid || n.TradeNo == "" {
		t.Fatalf("payment notification %+v", n.Notification)
	}
	return n.TradeNo
}

// A day with two payments, a partial refund of ours and one made in the
// merchant portal: the file does not exist before 09:00 the next day
// (ErrBillNotReady), then holds every movement in fen with its fee; the
// planted edits (a payment left out, an amount changed) show; a day
// without transactions has no file (98 → ErrNoBill); a day that has not
// ended is not asked for.
func TestSettlementFileOfADay(t *testing.T) {
	e := newEnv(t)
	// Two days ahead of the real date: certificates are valid then, and
	// the day is entirely the fake clock's.
	n := time.Now().In(beijing).AddDate(0, 0, 2)
	day := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, beijing)
	c := &fakeClock{t: day.Add(10 * time.Hour)}
	e.clocked(c)
	ctx := context.Background()

	o1 := e.orderAt(c, 6800)
	q1 := e.payAt(t, o1)
	o2 := e.orderAt(c, 10000)
	q2 := e.payAt(t, o2)
	o3 := e.orderAt(c, 500)
	e.payAt(t, o3)
	c.set(day.Add(15 * time.Hour))
	r1 := e.refundReq(o1, q1, 2000)
	r1.RequestedAt = c.now()
	if _, err := e.p.Refund(ctx, r1); err != nil {
		t.Fatal(err)
	}
	e.refundNotes(t, o1.OutTradeNo, 1)
	portalNo, err := e.sb.PortalRefund(o2.OutTradeNo, 1000)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := e.p.Bill(ctx, day); !errors.Is(err, payment.ErrBillNotReady) {
		t.Fatalf("during the day: %v, want ErrBillNotReady", err)
	}
	c.set(day.Add(24*time.Hour + FileReadyAfter - time.Second))
	if _, err := e.p.Bill(ctx, day); !errors.Is(err, payment.ErrBillNotReady) {
		t.Fatalf("08:59:59 the next day: %v, want ErrBillNotReady", err)
	}
	c.set(day.Add(24*time.Hour + FileReadyAfter))
	b, err := e.p.Bill(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	if b.Method != payment.Card || !b.Day.Equal(day) || b.RawName != e.cfg.MerID+"_"+day.Format("20060102")+".zip" || len(b.Raw) == 0 {
		t.Fatalf("bill %v %v %q (%d bytes)", b.Method, b.Day, b.RawName, len(b.Raw))
	}
	want := map[string]payment.BillLine{
		o1.OutTradeNo: {Kind: payment.BillPayment, OutTradeNo: o1.OutTradeNo, TradeNo: q1, Amount: 6800, Fee: 41},
		o2.OutTradeNo: {Kind: payment.BillPayment, OutTradeNo: o2.OutTradeNo, TradeNo: q2, Amount: 10000, Fee: 60},
		r1.RequestNo:  {Kind: payment.BillRefund, OutTradeNo: o1.OutTradeNo, TradeNo: q1, RequestNo: r1.RequestNo, Amount: 2000},
		portalNo:      {Kind: payment.BillRefund, TradeNo: q2, RequestNo: portalNo, Amount: 1000},
		o3.OutTradeNo: {Kind: payment.BillPayment, OutTradeNo: o3.OutTradeNo, Amount: 500, Fee: 3},
	}
	checkLines(t, b.Lines, want)
	if b.Count != 5 || b.Gross != 17300 || b.Refund != 3000 || b.Fees != 104 {
		t.Fatalf("totals %d %d %d %d", b.Count, b.Gross, b.Refund, b.Fees)
	}

	// Planted differences: o3 missing, o2's amount changed.
	e.sb.SetBillEdit(o3.OutTradeNo, BillEdit{Omit: true})
	e.sb.SetBillEdit(o2.OutTradeNo, BillEdit{Amount: 9900})
	b, err = e.p.Bill(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	delete(want, o3.OutTradeNo)
	w2 := want[o2.OutTradeNo]
	w2.Amount = 9900
	want[o2.OutTradeNo] = w2
	checkLines(t, b.Lines, want)

	if _, err := e.p.Bill(ctx, day.AddDate(0, 0, -1)); !errors.Is(err, payment.ErrNoBill) {
		t.Fatalf("a day without transactions: %v, want ErrNoBill", err)
	}
	if _, err := e.p.Bill(ctx, day.AddDate(0, 0, 1)); !errors.Is(err, payment.ErrBillNotReady) {
		t.Fatalf("today: %v, want ErrBillNotReady", err)
	}
}

// checkLines compares lines by their own number (order number for
// payments, request number for refunds); RefundID and At only need to be
// there.
func checkLines(t *testing.T, got []payment.BillLine, want map[string]payment.BillLine) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d: %+v", len(got), len(want), got)
	}
	for _, l := range got {
		key := l.OutTradeNo
		if l.Kind != payment.BillPayment {
			key = l.RequestNo
		}
		w, ok := want[key]
		if !ok {
			t.Fatalf("unexpected line %+v", l)
		}
		if w.TradeNo == "" {
			w.TradeNo = l.TradeNo // o3's queryId is not kept by the test
		}
		if l.Kind != w.Kind || l.OutTradeNo != w.OutTradeNo || l.TradeNo != w.TradeNo || l.RequestNo != w.RequestNo ||
			l.Amount != w.Amount || l.Fee != w.Fee || l.Currency != "CNY" || l.At.IsZero() ||
			(l.Kind == payment.BillRefund) != (l.RefundID != "") {
			t.Fatalf("line %+v, want %+v", l, w)
		}
	}
}
