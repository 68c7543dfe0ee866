package handlers_test

import (
	"context"
	"testing"
	"time"

	"im2pay/payment/sandbox/sim"
	"im2pay/recharge"
)

// The reconciler, run as if 40 minutes had passed: a paid order whose
// notification never came is credited once, and unpaid orders past their
// expiry are closed at the provider and here.
func TestTheReconcilerResolvesEveryPendingOrder(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("reconciled", goodPassword)
	ctx := context.Background()

	paidSilently := p.order(b, "alipay", "30")
	p.pay(b, paidSilently)
	if _, err := p.gw.Simulate(ctx, paidSilently, sim.DropNotify); err != nil {
		t.Fatal(err)
	}
	var abandoned []string
	for _, method := range []string{"wechat", "card", "paypal", "alipay"} {
		no := p.order(b, method, "30")
		p.pay(b, no)
		abandoned = append(abandoned, no)
	}

	later := recharge.NewService(p.store, recharge.Options{
		Providers: p.gw.Providers, BaseURL: p.srv.URL,
		Now: func() time.Time { return time.Now().Add(40 * time.Minute) },
	})
	for range 2 { // a second run finds nothing left to do and changes nothing
		if _, err := later.ReconcilePass(ctx); err != nil {
			t.Fatal(err)
		}
	}
	order := func(no string) recharge.Order {
		o, err := p.recharge.OrderByNo(ctx, no)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	if o := order(paidSilently); o.State != recharge.OrderPaid {
		t.Fatalf("silently paid order is %s, want paid", o.State)
	}
	for _, no := range abandoned {
		if o := order(no); o.State != recharge.OrderClosed {
			t.Fatalf("abandoned %s order %s is %s, want closed", o.Method, no, o.State)
		}
	}
	if n := p.ledgerCount(`SELECT count(*) FROM ledger_transactions WHERE kind = 'topup'`); n != 1 {
		t.Fatalf("%d top-ups posted, want 1", n)
	}
	if got := p.balance(b); got != "3600" { // ¥30 + the ¥6 first top-up bonus
		t.Fatalf("balance = %s, want 3600", got)
	}
	expectContains(t, b.get("/recharge/orders"), "已关闭", "充值成功")
}
