package reconcile_test

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/alipay"
	"im2pay/recharge"
	"im2pay/reconcile"
)

// overlapBiller is a Biller that counts the runs fetching a bill at the
// same moment: with the lock there is never more than one.
type overlapBiller struct {
	inner     payment.Biller
	now, most atomic.Int32
	calls     atomic.Int32
}

func (b *overlapBiller) Bill(ctx context.Context, day time.Time) (payment.Bill, error) {
	n := b.now.Add(1)
	defer b.now.Add(-1)
	b.calls.Add(1)
	for {
		m := b.most.Load()
		if n <= m || b.most.CompareAndSwap(m, n) {
			break
		}
	}
	return b.inner.Bill(ctx, day)
}

// countingRequerier counts the questions reconciliation asks recharge.
type countingRequerier struct {
	inner reconcile.Requerier
	n     atomic.Int32
}

func (c *countingRequerier) Requery(ctx context.Context, no string) (recharge.Order, recharge.Answer, error) {
	c.n.Add(1)
	return c.inner.Requery(ctx, no)
}

// TestConcurrentRunsOfOneDayBookAsOneRun is the attack on the button: the
// daily timer and several staff members (or two instances) reconcile the
// same Alipay day at once. Each run waits for the one before it, so the
// day is fetched by one run at a time, the lost payment is asked about and
// credited once, the fees are booked once, and every run answers the same
// report as a single run would.
func TestConcurrentRunsOfOneDayBookAsOneRun(t *testing.T) {
	f := newFixture(t)
	ali := f.gw.Providers[payment.Alipay].(*alipay.Provider)
	biller := &overlapBiller{inner: ali}
	asker := &countingRequerier{inner: f.rc}
	svc := reconcile.NewService(f.store, reconcile.Options{Ledger: f.ledger, Recharge: asker, Now: f.now,
		Billers: map[payment.Method]payment.Biller{payment.Alipay: biller}})
	u := f.user("lock_person")
	f.credited(u.ID, "68.00", "lock-matched-key-0001")
	f.credited(u.ID, "15.00", "lock-matched2-key-001")
	lost := f.paidAtSandbox(u.ID, "30.00", "lock-lost-key-0000001")
	day := svc.Day(payment.Alipay, f.now())
	f.gw.Alipay.Advance(day.AddDate(0, 0, 1).Add(10*time.Hour + 30*time.Minute).Sub(f.now()))

	fees0, txns0 := f.system("fees:alipay"), f.count(`SELECT count(*) FROM ledger_transactions`)
	const runs = 6
	reports := make([]reconcile.Report, runs)
	errs := make([]error, runs)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range runs {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			reports[i], errs[i] = svc.Run(f.ctx, payment.Alipay, day)
		}()
	}
	start.Done()
	done.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	if m := biller.most.Load(); m != 1 || biller.calls.Load() != runs {
		t.Fatalf("%d runs fetched the bill at once (%d fetches): the day is not locked", m, biller.calls.Load())
	}
	if n := asker.n.Load(); n != 1 {
		t.Fatalf("the lost payment was asked about %d times, want once", n)
	}
	final, err := svc.Report(f.ctx, reports[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range reports {
		if !reflect.DeepEqual(r, final) {
			t.Fatalf("run %d answered\n%+v\nthe stored report is\n%+v", i, r, final)
		}
	}
	// 0.6 % half up of 68.00, 15.00 and 30.00: 41 + 9 + 18 fen, once.
	if got := f.system("fees:alipay") - fees0; got != -(41 + 9 + 18) {
		t.Fatalf("fees moved %d, want %d", got, -(41 + 9 + 18))
	}
	if n := f.count(`SELECT count(*) FROM ledger_transactions WHERE kind = 'topup' AND reference = $1`, "order:"+lost.OutTradeNo); n != 1 {
		t.Fatalf("%d top-ups of the lost order", n)
	}
	wantCounts := map[string]int{reconcile.Matched: 2, reconcile.Lost: 1, reconcile.Absent: 0, reconcile.Mismatch: 0, reconcile.Refund: 0}
	if !reflect.DeepEqual(final.Counts, wantCounts) || final.FeesBooked != 41+9+18 {
		t.Fatalf("report %+v, want counts %v and fees 68", final, wantCounts)
	}
	// One run alone: the lost top-up and one fee posting per line.
	if n := f.count(`SELECT count(*) FROM ledger_transactions`) - txns0; n != 1+3 {
		t.Fatalf("the runs posted %d transactions, want 4", n)
	}
}
