package alipaysandbox

import (
	"context"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
)

// TRADE_CLOSED is notified where Alipay notifies it: wap pay, after a
// close (and a full refund); page pay only when configured (PROVIDERS.md
// §1.1, §1.3). A trade Alipay never created closes silently.
func TestClosedTradesNotifyWhereAlipayDoes(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name       string
		device     payment.Device
		pageClosed bool
		loggedIn   bool
		notified   bool
	}{
		{"a wap trade closed after a refused try notifies TRADE_CLOSED", payment.Phone, false, true, true},
		{"a page trade closed after a refused try notifies nothing", payment.Desktop, false, true, false},
		{"a page trade notifies TRADE_CLOSED when configured", payment.Desktop, true, true, true},
		{"a wap trade never logged in is unknown and notifies nothing", payment.Phone, false, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.sb.NotifyPageClosed = c.pageClosed
			o := h.order(c.device, 6800)
			h.start(t, o)
			if c.loggedIn {
				if _, _, err := h.sb.Simulate(ctx, o.OutTradeNo, sim.InsufficientFunds); err != nil {
					t.Fatal(err)
				}
			}
			err := h.p.Close(ctx, o.OutTradeNo, "")
			if c.loggedIn != (err == nil) {
				t.Fatalf("Close = %v", err)
			}
			if !c.notified {
				time.Sleep(300 * time.Millisecond)
				if got := h.shop.deliveries(o.OutTradeNo); len(got) != 0 {
					t.Fatalf("%d notifications, want none", len(got))
				}
				return
			}
			d := h.waitFor(t, o.OutTradeNo, 1)[0]
			if d.err != nil || d.n.Status != payment.StatusClosed || !d.n.Final || d.n.Amount != o.Amount {
				t.Fatalf("notification %+v (%v), want a verified TRADE_CLOSED", d.n, d.err)
			}
		})
	}
}
