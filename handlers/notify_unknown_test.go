package handlers_test

import (
	"context"
	"testing"

	"im2pay/internal/figures"
	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
)

// RELIABILITY B9: a genuine notification for an order we do not have (a
// database restored from before it, another environment's notify URL) is
// acknowledged as each provider expects and recorded once. The sandbox
// reads our answer with the provider's own rule and retries anything else
// on the provider's schedule, so one record after its deliveries end
// proves the first answer was an acknowledgement.
func TestVerifiedNotificationsForUnknownOrdersAreAcknowledgedOnce(t *testing.T) {
	p := newPaySite(t)
	ctx := context.Background()
	b := p.browser()
	b.register("forgotten", goodPassword)
	for _, m := range methods {
		t.Run(m, func(t *testing.T) {
			no := p.order(b, m, "68")
			p.pay(b, no)
			ref := p.orderRef(no)
			// The provider knows the order; we no longer do.
			if _, err := p.store.DB().ExecContext(ctx, `DELETE FROM recharge_orders WHERE out_trade_no = $1`, no); err != nil {
				t.Fatal(err)
			}
			money, refused := p.money(), p.refusedNotifications()
			if _, err := p.gw.Simulate(ctx, no, sim.Success); err != nil {
				t.Fatal(err)
			}
			if m == "paypal" { // PayPal captures, and notifies, only when asked
				if _, err := p.gw.Providers[payment.PayPal].Complete(ctx, no, ref); err != nil {
					t.Fatal(err)
				}
			}
			p.gw.Notifier.Wait()
			recorded := p.ledgerCount(`SELECT count(*) FROM payment_events
				WHERE kind = 'notify' AND out_trade_no = $1 AND verified AND status = 'paid'`, no)
			through := 0
			if recorded != 1 {
				through = 1
				t.Errorf("the %s notification for unknown order %s was recorded %d times, want once (acknowledged at once)",
					m, no, recorded)
			}
			if p.money() != money || p.refusedNotifications() != refused {
				t.Errorf("money moved or the notification was counted as refused")
			}
			name := map[string]string{"card": "unionpay"}[m]
			if name == "" {
				name = m
			}
			figures.Record(t, "security", name+" notify: verified notification for an unknown order not acknowledged at once", 1, through)
		})
	}
}
