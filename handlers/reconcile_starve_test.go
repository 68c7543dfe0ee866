package handlers_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/internal/figures"
	"im2pay/payment/sandbox/sim"
	"im2pay/recharge"
)

var methods = []string{"alipay", "wechat", "card", "paypal"}

// userID is the id of a registered person.
func (p *paySite) userID(name string) int64 {
	p.t.Helper()
	return int64(p.ledgerCount(`SELECT id FROM users WHERE username = $1`, name))
}

// insertOrders creates n pending orders of a person directly in the store,
// as orders made and abandoned over time would be. Started ones look as if
// the provider had been asked (a next step and a reference are stored);
// the others never reached it.
func (p *paySite) insertOrders(userID int64, n int, expires time.Time, started bool) []string {
	p.t.Helper()
	ctx := context.Background()
	var nos []string
	for i := range n {
		o := recharge.Order{OutTradeNo: "R" + randomDigits(23), UserID: userID, RequestKey: "key" + randomDigits(20),
			Method: methods[i%len(methods)], Device: "desktop", Amount: 1000, Currency: "CNY", ExpiresAt: expires}
		err := p.store.InTx(ctx, func(tx *sqlx.Tx) error {
			var err error
			o, _, err = recharge.InsertOrder(ctx, tx, o)
			return err
		})
		if err == nil && started {
			err = p.recharge.SetOrderNext(ctx, o.ID, "https://cashier.invalid/pay", "", nil, "REF"+randomDigits(14))
		}
		if err != nil {
			p.t.Fatal(err)
		}
		nos = append(nos, o.OutTradeNo)
	}
	return nos
}

// instance is another app instance on the same database: its own recharge
// service over the store, with the given clock and providers.
func (p *paySite) instance(c *calls, now func() time.Time, log *slog.Logger) *recharge.Service {
	return recharge.NewService(p.store, recharge.Options{Providers: c.wrap(p.gw.Providers),
		BaseURL: p.srv.URL, Now: now, Logger: log})
}

// RELIABILITY L6: orders that never reached their provider, and orders
// whose provider check keeps failing, more of them than a pass takes, do
// not keep a paid order whose notification and return were lost from
// being credited.
func TestTheReconcilerCannotBeStarved(t *testing.T) {
	p := newPaySite(t)
	ctx := context.Background()
	b := p.browser()
	b.register("starved", goodPassword)
	uid := p.userID("starved")
	base := time.Now().Truncate(time.Second) // as PostgreSQL keeps it, to the microsecond

	neverStarted := p.insertOrders(uid, 150, base.Add(-time.Minute), false)                           // expired
	neverStarted = append(neverStarted, p.insertOrders(uid, 150, base.Add(30*time.Minute), false)...) // live
	failing := p.insertOrders(uid, 250, base.Add(30*time.Minute), true)
	paid := p.order(b, "alipay", "30")
	p.pay(b, paid)
	// Paid, with no notification, and the person never comes back.
	if _, err := p.gw.Simulate(ctx, paid, sim.DropNotify); err != nil {
		t.Fatal(err)
	}
	c := newCalls()
	for _, no := range failing {
		c.fail(no)
	}
	var logged bytes.Buffer
	clk := &clock{now: base.Add(5 * time.Minute)}
	r := p.instance(c, clk.Now, slog.New(slog.NewTextHandler(&logged, nil)))

	first, _ := r.ReconcilePass(ctx) // the failing orders' errors are expected
	if first.Closed != 150 || first.Checked != 200 || first.Failed != 200 {
		t.Errorf("first pass = %+v, want 150 never-started orders closed here and 200 failing checks", first)
	}
	// The oldest due work is the expiry of the expired never-started orders.
	if first.Lag != 6*time.Minute {
		t.Errorf("first pass lag = %v, want 6m0s", first.Lag)
	}
	clk.Advance(time.Minute)
	second, _ := r.ReconcilePass(ctx)
	o, err := p.recharge.OrderByNo(ctx, paid)
	if err != nil {
		t.Fatal(err)
	}
	through := 0
	if o.State != recharge.OrderPaid {
		through = 1
		t.Errorf("the paid order is %s after two passes (second pass %+v), want paid", o.State, second)
	}
	figures.Record(t, "security", "reconciler: 300 never-started + 250 failing orders before a lost payment (uncredited after 2 passes)", 1, through)
	if got := p.balance(b); got != "3600" { // ¥30 + the ¥6 first top-up bonus
		t.Errorf("balance = %s, want 3600", got)
	}
	for _, no := range neverStarted {
		if n := c.queriesOf(no); n != 0 {
			t.Fatalf("never-started order %s was queried %d times, want 0", no, n)
		}
	}
	for _, no := range failing {
		if n := c.queriesOf(no); n != 1 { // backed off after its failure
			t.Fatalf("failing order %s was queried %d times in two passes, want 1", no, n)
		}
	}
	if n := p.ledgerCount(`SELECT count(*) FROM recharge_orders WHERE state = 'closed'`); n != 150 {
		t.Errorf("%d orders closed, want the 150 expired never-started ones", n)
	}
	if n := strings.Count(logged.String(), `msg="reconcile pass" lag=`); n != 2 {
		t.Errorf("%d passes logged with their lag, want 2:\n%s", n, logged.String())
	}

	// Past expiry, orders whose check still fails are closed anyway.
	clk.Advance(40 * time.Minute)
	for range 3 {
		_, _ = r.ReconcilePass(ctx)
	}
	if n := p.ledgerCount(`SELECT count(*) FROM recharge_orders WHERE state IN ('awaiting', 'processing')`); n != 0 {
		t.Errorf("%d orders still pending 45 minutes on, want 0", n)
	}
}

// RELIABILITY F8: two app instances reconciling one database at the same
// moment ask the provider once per due order per pass, together.
func TestTwoReconcilersAskOncePerDueOrder(t *testing.T) {
	p := newPaySite(t)
	ctx := context.Background()
	b := p.browser()
	b.register("twice", goodPassword)
	base := time.Now()
	due := p.insertOrders(p.userID("twice"), 120, base.Add(30*time.Minute), true)
	c := newCalls()
	clk := &clock{now: base.Add(5 * time.Minute)}
	a, z := p.instance(c, clk.Now, discardLogger()), p.instance(c, clk.Now, discardLogger())

	through := 0
	for pass := 1; pass <= 2; pass++ {
		var wg sync.WaitGroup
		var checked [2]int
		for i, r := range []*recharge.Service{a, z} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				done, _ := r.ReconcilePass(ctx)
				checked[i] = done.Checked
			}()
		}
		wg.Wait()
		for _, no := range due {
			if n := c.queriesOf(no); n != pass {
				through++
				t.Errorf("pass %d: order %s queried %d times in all, want %d", pass, no, n, pass)
			}
		}
		if checked[0]+checked[1] != len(due) {
			t.Errorf("pass %d: the instances checked %d and %d orders, want %d together", pass, checked[0], checked[1], len(due))
		}
		clk.Advance(10 * time.Minute) // every order is due again, those whose check failed too
	}
	figures.Record(t, "security", "reconciler: two instances, 120 due orders, 2 passes (orders queried more than once a pass)", 2*len(due), through)
	if n := c.totalQueries(); n != 2*len(due) {
		t.Errorf("%d provider queries in two passes, want %d", n, 2*len(due))
	}
}
