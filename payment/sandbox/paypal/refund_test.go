package paypalsandbox

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"im2pay/payment"
)

func refundReq(o payment.Order, captureID string, amount int64) payment.RefundRequest {
	return payment.RefundRequest{OutTradeNo: o.OutTradeNo, TradeNo: captureID,
		RequestNo: fmt.Sprintf("RF%013d%05d", time.Now().UnixMilli(), seq.Add(1)), Amount: amount, Total: o.Amount,
		Currency: o.Currency, Reason: "退款", NotifyURL: o.NotifyURL, RequestedAt: time.Now()}
}

// refundHooks waits for count refund webhooks of o and checks none reads as a payment.
func (h *harness) refundHooks(t *testing.T, o payment.Order, count int) []payment.RefundResult {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	for {
		var out []payment.RefundResult
		for _, d := range h.hook.deliveries(o.OutTradeNo) {
			if d.err != nil && !errors.Is(d.err, payment.ErrIgnored) {
				t.Fatalf("webhook refused: %v", d.err)
			}
			if d.n.Refund != nil {
				if d.n.Status == payment.StatusPaid {
					t.Fatalf("a refund webhook read as a payment: %+v", d.n)
				}
				out = append(out, *d.n.Refund)
			}
		}
		if len(out) >= count {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d refund webhooks for %s, want %d", len(out), o.OutTradeNo, count)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func refusalOf(t *testing.T, err error) *payment.RefundRefusal {
	t.Helper()
	var rr *payment.RefundRefusal
	if !errors.As(err, &rr) {
		t.Fatalf("want a RefundRefusal, got %v", err)
	}
	return rr
}

// Partial, then the rest; over the rest is REFUND_AMOUNT_EXCEEDED and after
// the full refund CAPTURE_FULLY_REFUNDED; each completed refund is also
// a PAYMENT.CAPTURE.REFUNDED webhook read as ours.
func TestPayPalRefundsPartialFullAndOver(t *testing.T) {
	h := newHarness(t)
	o, r, _ := h.paid(t)
	ctx := context.Background()
	r1 := refundReq(o, r.TradeNo, 1800)
	res, err := h.prov.Refund(ctx, r1)
	if err != nil || res.Status != payment.RefundSucceeded || res.Amount != 1800 || res.Currency != "USD" || res.RequestNo != r1.RequestNo {
		t.Fatalf("Refund = %+v, %v", res, err)
	}
	hook := h.refundHooks(t, o, 1)[0]
	if hook.External || hook.RequestNo != r1.RequestNo || hook.RefundID != res.RefundID || hook.OutTradeNo != o.OutTradeNo {
		t.Fatalf("webhook %+v", hook)
	}
	if rr := refusalOf(t, second(h.prov.Refund(ctx, refundReq(o, r.TradeNo, 5001)))); rr.Code != "REFUND_AMOUNT_EXCEEDED" {
		t.Fatalf("over: %+v", rr)
	}
	if res, err := h.prov.Refund(ctx, refundReq(o, r.TradeNo, 5000)); err != nil || res.Status != payment.RefundSucceeded {
		t.Fatalf("rest: %+v, %v", res, err)
	}
	rr := refusalOf(t, second(h.prov.Refund(ctx, refundReq(o, r.TradeNo, 1))))
	if rr.Code != "CAPTURE_FULLY_REFUNDED" || rr.Failure != payment.RefundAlreadyRefunded {
		t.Fatalf("after full: %+v", rr)
	}
	// The payment still reads as paid (REFUNDED captures are paid payments).
	if q, err := h.prov.Query(ctx, o.OutTradeNo, h.sb.byTradeForTest(o.OutTradeNo)); err != nil || q.Status != payment.StatusPaid {
		t.Fatalf("payment after refunds: %+v, %v", q, err)
	}
}

func second(_ payment.RefundResult, err error) error { return err }

// The answer is lost; QueryRefund replays the request id and gets the same
// refund, made once; a retry of Refund likewise.
func TestPayPalLostRefundAnswerIsFoundByReplay(t *testing.T) {
	h := newHarness(t)
	o, r, _ := h.paid(t)
	ctx := context.Background()
	h.sb.SetRefundSwitch(o.OutTradeNo, RefundSwitch{LoseAnswer: true})
	req := refundReq(o, r.TradeNo, 6800)
	if _, err := h.prov.Refund(ctx, req); err == nil {
		t.Fatal("a lost answer must be an error")
	}
	q, err := h.prov.QueryRefund(ctx, req)
	if err != nil || q.Status != payment.RefundSucceeded || q.Amount != 6800 {
		t.Fatalf("QueryRefund = %+v, %v", q, err)
	}
	again, err := h.prov.Refund(ctx, req)
	if err != nil || again.RefundID != q.RefundID {
		t.Fatalf("retry = %+v, %v (want refund %s)", again, err, q.RefundID)
	}
	if n := len(h.refundHooks(t, o, 1)); n != 1 {
		t.Fatalf("%d refund webhooks, want 1", n)
	}
	time.Sleep(20 * time.Millisecond)
	h.sb.mu.Lock()
	count := len(h.sb.refunds)
	h.sb.mu.Unlock()
	if count != 1 {
		t.Fatalf("%d refunds at the sandbox, want 1", count)
	}
}

// PENDING, then COMPLETED by webhook; the query reads the current status,
// not the replayed first answer. A PENDING refund that fails is only seen
// by query.
func TestPayPalPendingRefundCompletesByWebhook(t *testing.T) {
	h := newHarness(t)
	o, r, _ := h.paid(t)
	ctx := context.Background()
	h.sb.SetRefundSwitch(o.OutTradeNo, RefundSwitch{Pending: true})
	req := refundReq(o, r.TradeNo, 1000)
	res, err := h.prov.Refund(ctx, req)
	if err != nil || res.Status != payment.RefundProcessing {
		t.Fatalf("Refund = %+v, %v", res, err)
	}
	if err := h.sb.FinishRefund(res.RefundID, true); err != nil {
		t.Fatal(err)
	}
	if hook := h.refundHooks(t, o, 1)[0]; hook.Status != payment.RefundSucceeded || hook.RequestNo != req.RequestNo {
		t.Fatalf("webhook %+v", hook)
	}
	if q, err := h.prov.QueryRefund(ctx, req); err != nil || q.Status != payment.RefundSucceeded {
		t.Fatalf("QueryRefund = %+v, %v", q, err)
	}
	h.sb.SetRefundSwitch(o.OutTradeNo, RefundSwitch{Pending: true})
	req2 := refundReq(o, r.TradeNo, 1000)
	res2, err := h.prov.Refund(ctx, req2)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.sb.FinishRefund(res2.RefundID, false); err != nil {
		t.Fatal(err)
	}
	if q, err := h.prov.QueryRefund(ctx, req2); err != nil || q.Status != payment.RefundFailed {
		t.Fatalf("failed refund queried as %+v, %v", q, err)
	}
}

// Insufficient funds and a dispute are definite refusals; so is a capture
// past the refund window.
func TestPayPalRefundRefusals(t *testing.T) {
	h := newHarness(t)
	o, r, _ := h.paid(t)
	ctx := context.Background()
	for issue, want := range map[string]payment.RefundFailure{
		"REFUND_FAILED_INSUFFICIENT_FUNDS": payment.RefundNoMerchantFunds,
		"TRANSACTION_DISPUTED":             payment.RefundNotAllowed,
	} {
		h.sb.SetRefundSwitch(o.OutTradeNo, RefundSwitch{Issue: issue})
		if rr := refusalOf(t, second(h.prov.Refund(ctx, refundReq(o, r.TradeNo, 100)))); rr.Code != issue || rr.Failure != want {
			t.Fatalf("%s: %+v", issue, rr)
		}
	}
	if err := h.sb.Backdate(o.OutTradeNo, RefundWindow+time.Hour); err != nil {
		t.Fatal(err)
	}
	if rr := refusalOf(t, second(h.prov.Refund(ctx, refundReq(o, r.TradeNo, 100)))); rr.Failure != payment.RefundWindowPassed {
		t.Fatalf("window: %+v", rr)
	}
}

// A portal refund and a chargeback reach us only by webhook, External
// (and Chargeback for REVERSED), named by PayPal's id.
func TestPayPalPortalRefundAndChargebackByWebhook(t *testing.T) {
	h := newHarness(t)
	o, r, _ := h.paid(t)
	id, err := h.sb.PortalRefund(o.OutTradeNo, 800)
	if err != nil {
		t.Fatal(err)
	}
	p := h.refundHooks(t, o, 1)[0]
	if !p.External || p.Chargeback || p.RequestNo != id || p.Amount != 800 || p.Status != payment.RefundSucceeded {
		t.Fatalf("portal refund %+v", p)
	}
	cb, err := h.sb.Chargeback(o.OutTradeNo, 6000)
	if err != nil {
		t.Fatal(err)
	}
	c := h.refundHooks(t, o, 2)[1]
	if !c.External || !c.Chargeback || c.RequestNo != cb || c.Amount != 6000 {
		t.Fatalf("chargeback %+v", c)
	}
	if rr := refusalOf(t, second(h.prov.Refund(context.Background(), refundReq(o, r.TradeNo, 1)))); rr.Code != "CAPTURE_FULLY_REFUNDED" {
		t.Fatalf("after portal refund and chargeback: %+v", rr)
	}
}

// A forged refund webhook (genuine headers, another body) is refused; a
// genuine one replayed names the refund PayPal reports, never the body's
// amount.
func TestPayPalForgedRefundWebhookIsRefused(t *testing.T) {
	h := newHarness(t)
	o, r, _ := h.paid(t)
	if _, err := h.prov.Refund(context.Background(), refundReq(o, r.TradeNo, 100)); err != nil {
		t.Fatal(err)
	}
	var genuine delivery
	for _, d := range h.hook.deliveries(o.OutTradeNo) {
		if d.n.Refund != nil {
			genuine = d
		}
	}
	if genuine.body == nil {
		genuine = h.hook.wait(t, o.OutTradeNo, 2)[1]
	}
	forged := []byte(string(genuine.body[:len(genuine.body)-1]) + ` ,"x":1}`)
	if _, err := h.prov.ParseNotification(context.Background(), genuine.header, forged); !errors.Is(err, payment.ErrBadSignature) {
		t.Fatalf("forged body: %v", err)
	}
	if _, err := h.prov.ParseNotification(context.Background(), map[string][]string{}, genuine.body); !errors.Is(err, payment.ErrBadSignature) {
		t.Fatalf("no headers: %v", err)
	}
}

// waitBound is how long a test waits for a notification the sandbox sends
// at once before calling it lost: a bound for a stalled machine, not a
// timing the test measures (a busy machine failed 10 s deadlines before).
const waitBound = 2 * time.Minute
