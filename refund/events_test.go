package refund_test

import (
	"strings"
	"testing"

	alipaysandbox "im2pay/payment/sandbox/alipay"
	"im2pay/recharge"
	"im2pay/refund"
)

// TestOurRefundCallsAreOnTheOrdersTimeline: the refund request whose
// answer the network lost, then the pass's query and its answer, are
// recorded as payment events of the order, with the request and the
// answer, and the order's timeline (the /ops order page) lists them.
func TestOurRefundCallsAreOnTheOrdersTimeline(t *testing.T) {
	f := newFixture(t)
	u := f.user("timeline")
	o := f.paid(u.ID, "68.00", "timeline-key-0000001")
	asker := f.staff("finance1")
	f.gw.Alipay.FailNextRefund(o.OutTradeNo, alipaysandbox.FaultLoseAnswer)
	r, err := f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: 20_00, StaffID: asker}, entry(asker))
	if err != nil || r.State != refund.StateInFlight {
		t.Fatalf("refund = %+v, %v", r, err)
	}
	f.later(2 * refund.DefaultCheckAfter)
	if p, err := f.svc.Pass(f.ctx); err != nil || p.Finished != 1 {
		t.Fatalf("pass = %+v, %v", p, err)
	}
	// The events are committed asynchronously (forensics): wait for them.
	var tl recharge.Timeline
	f.waitUntil("the refund calls recorded", func() bool {
		if tl, err = f.rc.OrderTimeline(f.ctx, o.OutTradeNo); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range tl.Events {
			if e.Kind == recharge.EventRefund || e.Kind == recharge.EventRefundQuery {
				n++
			}
		}
		return n >= 2
	})
	var calls []recharge.PaymentEvent
	for _, e := range tl.Events {
		if e.Kind == recharge.EventRefund || e.Kind == recharge.EventRefundQuery {
			calls = append(calls, e)
		}
	}
	if len(calls) != 2 {
		t.Fatalf("refund calls on the timeline: %+v", calls)
	}
	sent, asked := calls[0], calls[1]
	if sent.Kind != recharge.EventRefund || sent.Status != "error" || sent.Verified || sent.Method != "alipay" ||
		!strings.Contains(sent.Detail, r.RequestNo) || !strings.Contains(sent.Body, `"RequestNo":"`+r.RequestNo+`"`) {
		t.Fatalf("the lost refund call: %+v", sent)
	}
	if asked.Kind != recharge.EventRefundQuery || asked.Status != "succeeded" || !asked.Verified ||
		!strings.Contains(asked.Detail, "amount 2000") || !strings.Contains(asked.Body, `"answer"`) {
		t.Fatalf("the query: %+v", asked)
	}
}
