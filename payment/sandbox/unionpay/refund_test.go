package unionpaysandbox

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
)

// paidOrder pays an order through the card flow and returns it with its
// consumption's queryId.
func (e *env) paidOrder(t *testing.T, amount int64) (payment.Order, string) {
	t.Helper()
	o := e.order(amount)
	e.start(t, o)
	if _, _, err := e.sb.Simulate(context.Background(), o.OutTradeNo, sim.Success); err != nil {
		t.Fatal(err)
	}
	n := e.waitNotes(t, o.OutTradeNo, 1)[0]
	if n.Status != payment.StatusPaid || n.TradeNo == "" {
		t.Fatalf("payment notification %+v", n.Notification)
	}
	return o, n.TradeNo
}

var refundSeq int

func (e *env) refundReq(o payment.Order, queryID string, amount int64) payment.RefundRequest {
	refundSeq++
	return payment.RefundRequest{OutTradeNo: o.OutTradeNo, TradeNo: queryID,
		RequestNo: "RF" + o.OutTradeNo[2:] + string(rune('A'+refundSeq%26)), Amount: amount, Total: o.Amount,
		Currency: "CNY", NotifyURL: e.notify, RequestedAt: time.Now().Truncate(time.Second)}
}

// refundNotes are the accepted refund notifications filed under no.
func (e *env) refundNotes(t *testing.T, no string, want int) []payment.RefundResult {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	for {
		notes, _, errs := e.rec.get(no)
		if len(errs) > 0 {
			t.Fatalf("our endpoint refused a notification: %v", errs)
		}
		var out []payment.RefundResult
		for _, n := range notes {
			if n.Refund != nil {
				if n.Status == payment.StatusPaid {
					t.Fatalf("a refund notification read as a payment: %+v", n.Notification)
				}
				out = append(out, *n.Refund)
			}
		}
		if len(out) >= want {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d refund notifications under %q, want %d", len(out), no, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func refusalCode(t *testing.T, err error) string {
	t.Helper()
	var rr *payment.RefundRefusal
	if !errors.As(err, &rr) {
		t.Fatalf("want a RefundRefusal, got %v", err)
	}
	return rr.Code
}

// A partial refund, then the rest: each is accepted (processing), then
// notified as succeeded and queried as such; a third finds nothing left.
func TestRefundsArePartialAsyncNotifiedAndQueried(t *testing.T) {
	e := newEnv(t)
	o, qid := e.paidOrder(t, 6800)
	ctx := context.Background()
	r1 := e.refundReq(o, qid, 2000)
	res, err := e.p.Refund(ctx, r1)
	if err != nil || res.Status != payment.RefundProcessing || res.RequestNo != r1.RequestNo {
		t.Fatalf("Refund = %+v, %v; want processing", res, err)
	}
	got := e.refundNotes(t, o.OutTradeNo, 1)[0]
	if got.Status != payment.RefundSucceeded || got.RequestNo != r1.RequestNo || got.Amount != 2000 ||
		got.OutTradeNo != o.OutTradeNo || got.External || got.Currency != "CNY" {
		t.Fatalf("notification %+v", got)
	}
	q, err := e.p.QueryRefund(ctx, r1)
	if err != nil || q.Status != payment.RefundSucceeded || q.Amount != 2000 || q.RefundID != got.RefundID {
		t.Fatalf("QueryRefund = %+v, %v", q, err)
	}
	if _, err := e.p.Refund(ctx, e.refundReq(o, qid, 4801)); refusalCode(t, err) != "36" {
		t.Fatalf("over the rest: %v", err)
	}
	r2 := e.refundReq(o, qid, 4800)
	if res, err := e.p.Refund(ctx, r2); err != nil || res.Status != payment.RefundProcessing {
		t.Fatalf("the rest: %+v, %v", res, err)
	}
	e.refundNotes(t, o.OutTradeNo, 2)
	var rr *payment.RefundRefusal
	_, err = e.p.Refund(ctx, e.refundReq(o, qid, 1))
	if !errors.As(err, &rr) || rr.Code != "45" || rr.Failure != payment.RefundAlreadyRefunded {
		t.Fatalf("after a full refund: %v", err)
	}
}

// While the refund is processed the query says so (origRespCode 05); an
// unknown refund is ErrRefundNotFound; a refund of a consumption that is
// not ours, or too old, is refused with 35.
func TestRefundQueryWindowAndUnknowns(t *testing.T) {
	e := newEnv(t)
	o, qid := e.paidOrder(t, 6800)
	ctx := context.Background()
	e.sb.SetRefundSwitch(o.OutTradeNo, RefundSwitch{Hold: true})
	r := e.refundReq(o, qid, 100)
	if _, err := e.p.Refund(ctx, r); err != nil {
		t.Fatal(err)
	}
	if q, err := e.p.QueryRefund(ctx, r); err != nil || q.Status != payment.RefundProcessing {
		t.Fatalf("held refund queried as %+v, %v", q, err)
	}
	if err := e.sb.FinishRefund(r.RequestNo, "00"); err != nil {
		t.Fatal(err)
	}
	if q, err := e.p.QueryRefund(ctx, r); err != nil || q.Status != payment.RefundSucceeded {
		t.Fatalf("finished refund queried as %+v, %v", q, err)
	}
	never := e.refundReq(o, qid, 100)
	if _, err := e.p.QueryRefund(ctx, never); !errors.Is(err, payment.ErrRefundNotFound) {
		t.Fatalf("never sent: %v", err)
	}
	if _, err := e.p.Refund(ctx, e.refundReq(o, "20260101000000"+"1234567", 100)); refusalCode(t, err) != "35" {
		t.Fatal("a queryId that is no consumption of ours must be refused")
	}
	// Eleven months from the payment is the last moment (§3.4).
	if err := e.sb.Backdate(o.OutTradeNo, 24*time.Hour*300); err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.Refund(ctx, e.refundReq(o, qid, 100)); err != nil {
		t.Fatalf("ten months old: %v", err)
	}
	if err := e.sb.Backdate(o.OutTradeNo, 24*time.Hour*40); err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.Refund(ctx, e.refundReq(o, qid, 100)); refusalCode(t, err) != "35" {
		t.Fatal("a consumption past 11 months must be refused")
	}
}

// A refund accepted and then failed is notified and queried as failed;
// a synchronous refusal refunds nothing.
func TestRefundFailureAndRefusalSwitches(t *testing.T) {
	e := newEnv(t)
	o, qid := e.paidOrder(t, 6800)
	ctx := context.Background()
	e.sb.SetRefundSwitch(o.OutTradeNo, RefundSwitch{Fail: "63"})
	r := e.refundReq(o, qid, 6800)
	if res, err := e.p.Refund(ctx, r); err != nil || res.Status != payment.RefundProcessing {
		t.Fatalf("Refund = %+v, %v", res, err)
	}
	got := e.refundNotes(t, o.OutTradeNo, 1)[0]
	if got.Status != payment.RefundFailed || got.Failure != payment.RefundAccountClosed || !strings.HasPrefix(got.Detail, "63") {
		t.Fatalf("failed refund notified as %+v", got)
	}
	if q, err := e.p.QueryRefund(ctx, r); err != nil || q.Status != payment.RefundFailed {
		t.Fatalf("failed refund queried as %+v, %v", q, err)
	}
	e.sb.SetRefundSwitch(o.OutTradeNo, RefundSwitch{Refuse: "31"})
	var rr *payment.RefundRefusal
	if _, err := e.p.Refund(ctx, e.refundReq(o, qid, 100)); !errors.As(err, &rr) || rr.Failure != payment.RefundNotAllowed {
		t.Fatalf("refused refund: %v", err)
	}
	// The failed refund gave its amount back: the whole order can still be refunded.
	if res, err := e.p.Refund(ctx, e.refundReq(o, qid, 6800)); err != nil || res.Status != payment.RefundProcessing {
		t.Fatalf("after a failure: %+v, %v", res, err)
	}
}

// The answer is lost: the retry with the same orderId and txnTime is
// refused as 重复交易 (12), which the client answers with the query; the
// money leaves once, and only a query tells a silent refund's outcome.
func TestLostRefundAnswerIsRetriedOnce(t *testing.T) {
	e := newEnv(t)
	o, qid := e.paidOrder(t, 6800)
	ctx := context.Background()
	e.sb.SetRefundSwitch(o.OutTradeNo, RefundSwitch{LoseAnswer: true, Silent: true})
	r := e.refundReq(o, qid, 6800)
	if _, err := e.p.Refund(ctx, r); err == nil {
		t.Fatal("a lost answer must be an error (outcome unknown)")
	}
	var res payment.RefundResult
	deadline := time.Now().Add(waitBound)
	for {
		var err error
		if res, err = e.p.Refund(ctx, r); err != nil {
			t.Fatalf("retry: %v", err)
		}
		if res.Status == payment.RefundSucceeded || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if res.Status != payment.RefundSucceeded || res.Amount != 6800 {
		t.Fatalf("retry = %+v", res)
	}
	if _, err := e.p.Refund(ctx, e.refundReq(o, qid, 1)); refusalCode(t, err) != "45" {
		t.Fatal("the refund must have happened once")
	}
	if notes, _, _ := e.rec.get(o.OutTradeNo); len(notes) != 1 {
		t.Fatalf("%d notifications, want only the payment's (the refund was silent)", len(notes))
	}
}

// A refund made in the merchant portal reaches us only by back
// notification: External, no order number, the consumption's queryId as
// TradeNo, never a payment.
func TestPortalRefundArrivesByNotification(t *testing.T) {
	e := newEnv(t)
	o, qid := e.paidOrder(t, 6800)
	no, err := e.sb.PortalRefund(o.OutTradeNo, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var n payment.Notification
	deadline := time.Now().Add(waitBound)
	for {
		notes, _, _ := e.rec.get("")
		if len(notes) > 0 {
			n = notes[0].Notification
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no portal refund notification")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n.Refund == nil || !n.Refund.External || n.Refund.RequestNo != no || n.TradeNo != qid ||
		n.Refund.Status != payment.RefundSucceeded || n.Refund.Amount != 1000 || n.Status == payment.StatusPaid {
		t.Fatalf("portal refund notified as %+v / %+v", n, n.Refund)
	}
	// What the portal refunded is gone.
	if _, err := e.p.Refund(context.Background(), e.refundReq(o, qid, 5801)); refusalCode(t, err) != "36" {
		t.Fatal("the portal refund must count against the original")
	}
}

// A refund notification tampered with (amount raised) or signed by no one
// is refused; the sandbox refuses a refund request whose signature fails.
func TestForgedRefundNotificationsAreRefused(t *testing.T) {
	e := newEnv(t)
	o, qid := e.paidOrder(t, 6800)
	e.sb.SetRefundSwitch(o.OutTradeNo, RefundSwitch{Hold: true})
	r := e.refundReq(o, qid, 100)
	if _, err := e.p.Refund(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	e.sb.mu.Lock()
	genuine := e.sb.sign(e.sb.refundFields(e.sb.refunds[e.cfg.MerID+"|"+r.RequestNo]))
	e.sb.mu.Unlock()
	genuine["respCode"] = "00"
	for name, edit := range map[string]func(url.Values){
		"amount raised":     func(v url.Values) { v.Set("txnAmt", "6800") },
		"another order":     func(v url.Values) { v.Set("reqReserved", "UP0000000000000000") },
		"signature dropped": func(v url.Values) { v.Del("signature") },
	} {
		v := toValues(genuine)
		edit(v)
		if _, err := e.p.ParseNotification(context.Background(), http.Header{}, []byte(v.Encode())); !errors.Is(err, payment.ErrBadSignature) &&
			!errors.Is(err, payment.ErrMalformed) {
			t.Errorf("%s: %v, want refused", name, err)
		}
	}
}

// waitBound is how long a test waits for a notification the sandbox sends
// at once before calling it lost: a bound for a stalled machine, not a
// timing the test measures (a busy machine failed 10 s deadlines before).
const waitBound = 2 * time.Minute
