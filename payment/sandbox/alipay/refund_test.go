package alipaysandbox

import (
	"context"
	"errors"
	"testing"

	"im2pay/payment"
)

func refundReq(o payment.Order, amount int64, no string) payment.RefundRequest {
	return payment.RefundRequest{OutTradeNo: o.OutTradeNo, RequestNo: no, Amount: amount, Total: o.Amount, Currency: "CNY"}
}

func TestARefundsFailuresAreDefiniteRefusalsOrUnknown(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	o, _ := h.paidTrade(t)
	var refusal *payment.RefundRefusal

	h.sb.FailNextRefund(o.OutTradeNo, FaultSellerBalance)
	_, err := h.p.Refund(ctx, refundReq(o, 1000, "RFAULT0000000001"))
	if !errors.As(err, &refusal) || refusal.Failure != payment.RefundNoMerchantFunds {
		t.Fatalf("seller balance: %v, want a refusal for merchant funds", err)
	}
	// ACQ.SYSTEM_ERROR: unknown, not a refusal; the same number later works.
	h.sb.FailNextRefund(o.OutTradeNo, FaultSystemError)
	if _, err = h.p.Refund(ctx, refundReq(o, 1000, "RFAULT0000000002")); err == nil || errors.As(err, &refusal) {
		t.Fatalf("system error: %v, want an unknown outcome", err)
	}
	if r, err := h.p.Refund(ctx, refundReq(o, 1000, "RFAULT0000000002")); err != nil || r.Status != payment.RefundSucceeded {
		t.Fatalf("retry after a system error = %+v, %v", r, err)
	}
}

func TestALostRefundAnswerIsFoundByTheQueryAndRefundsOnce(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	o, _ := h.paidTrade(t)
	h.sb.FailNextRefund(o.OutTradeNo, FaultLoseAnswer)
	if _, err := h.p.Refund(ctx, refundReq(o, 2000, "RLOST00000000001")); err == nil {
		t.Fatal("a lost answer read as an answer")
	}
	q, err := h.p.QueryRefund(ctx, refundReq(o, 2000, "RLOST00000000001"))
	if err != nil || q.Status != payment.RefundSucceeded || q.Amount != 2000 {
		t.Fatalf("QueryRefund after a lost answer = %+v, %v", q, err)
	}
	// Sent again with the same number: no second refund.
	if r, err := h.p.Refund(ctx, refundReq(o, 2000, "RLOST00000000001")); err != nil || r.Status != payment.RefundSucceeded {
		t.Fatalf("resend = %+v, %v", r, err)
	}
	h.sb.mu.Lock()
	refunded := h.sb.trades[o.OutTradeNo].refunded
	h.sb.mu.Unlock()
	if refunded != 2000 {
		t.Fatalf("refunded %d at Alipay, want 2000 once", refunded)
	}
}

func TestPartialAndPortalRefundsAreNotifiedAsRefundsNeverAsPayments(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	o := h.order(payment.Desktop, 6800)
	h.start(t, o)
	if _, _, err := h.sb.Simulate(ctx, o.OutTradeNo, "success"); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, o.OutTradeNo, 1)
	if _, err := h.p.Refund(ctx, refundReq(o, 1000, "RPART00000000001")); err != nil {
		t.Fatal(err)
	}
	no, err := h.sb.PortalRefund(o.OutTradeNo, 500)
	if err != nil {
		t.Fatal(err)
	}
	// The two refund notifications are sent on their own schedules and may
	// arrive in either order; each must be read as a refund with the
	// refund_fee (the running total) of the moment it was made.
	got := h.waitFor(t, o.OutTradeNo, 3)
	want := map[string]int64{"RPART00000000001": 1000, no: 1500}
	for i, d := range got[1:] {
		if d.err != nil || d.n.Refund == nil || d.n.Status != "" || d.n.Refund.Status != payment.RefundSucceeded {
			t.Fatalf("notification %d = %+v %+v (%v), want a successful refund", i+1, d.n, d.n.Refund, d.err)
		}
		total, ok := want[d.n.Refund.RequestNo]
		if !ok || d.n.Refund.RefundedTotal != total {
			t.Fatalf("notification %d is refund %s with refund_fee %d; want one each of %v", i+1, d.n.Refund.RequestNo, d.n.Refund.RefundedTotal, want)
		}
		delete(want, d.n.Refund.RequestNo)
	}
}
