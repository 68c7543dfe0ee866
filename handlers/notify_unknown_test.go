package handlers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

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
			// The provider knows the order; we no longer do, as after a restore
			// from a backup older than the order. The state log is append-only
			// and refers to the order, so the "restore" runs as the superuser
			// does one: with the triggers, append-only guards included, off.
			forget := `DELETE FROM recharge_order_states WHERE order_id = (SELECT id FROM recharge_orders WHERE out_trade_no = $1);
				DELETE FROM recharge_orders WHERE out_trade_no = $1`
			err := p.store.InTx(ctx, func(tx *sqlx.Tx) error {
				if _, err := tx.ExecContext(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
					return err
				}
				for _, q := range strings.Split(forget, ";") {
					if _, err := tx.ExecContext(ctx, q, no); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
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
