package wechatsandbox

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
	"im2pay/payment/wechat"
)

// paid makes an order of amount fen, pays it and waits for its payment
// notification.
func (h *harness) paid(amount int64) payment.Order {
	h.t.Helper()
	o := h.order(payment.Desktop, amount)
	h.start(o)
	if _, _, err := h.sb.Simulate(context.Background(), o.OutTradeNo, sim.Success); err != nil {
		h.t.Fatal(err)
	}
	h.hook.waitFor(h.t, o.OutTradeNo, 1)
	return o
}

// refundReq is a refund of amount fen of o under a fresh number.
func (h *harness) refundReq(o payment.Order, amount int64) payment.RefundRequest {
	return payment.RefundRequest{OutTradeNo: o.OutTradeNo, RequestNo: "R" + randString(23, alnum), Amount: amount,
		Total: o.Amount, Currency: "CNY", Reason: "用户申请退款 Refund requested", NotifyURL: h.hook.srv.URL + "/notify/wechat",
		RequestedAt: time.Now()}
}

// refundNotes waits for n acknowledged refund notifications of o.
func (h *harness) refundNotes(o payment.Order, n int) []payment.RefundResult {
	h.t.Helper()
	deadline := time.Now().Add(waitBound)
	for {
		var out []payment.RefundResult
		for _, note := range h.hook.notes(o.OutTradeNo) {
			if note.Refund != nil {
				if note.Status != "" {
					h.t.Fatalf("a refund notification carries payment status %q", note.Status)
				}
				out = append(out, *note.Refund)
			}
		}
		if len(out) >= n {
			return out
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: %d refund notifications, want %d (refused: %v)", o.OutTradeNo, len(out), n, h.hook.bad)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) tradeState(no string) string {
	h.sb.mu.Lock()
	defer h.sb.mu.Unlock()
	return h.sb.stateOf(h.sb.orders[no])
}

func TestAFullRefundIsProcessingThenNotifiedAsSucceeded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	o := h.paid(68_00)
	r := h.refundReq(o, 68_00)
	res, err := h.p.Refund(ctx, r)
	if err != nil || res.Status != payment.RefundProcessing || res.RequestNo != r.RequestNo || res.Amount != 68_00 || res.RefundID == "" {
		t.Fatalf("Refund: %+v, %v; want processing, accepted", res, err)
	}
	if st := h.tradeState(o.OutTradeNo); st != wechat.StateSuccess {
		t.Errorf("trade_state %s while the refund is processing, want SUCCESS", st)
	}
	got := h.refundNotes(o, 1)[0]
	if got.Status != payment.RefundSucceeded || got.RequestNo != r.RequestNo || got.RefundID != res.RefundID ||
		got.Amount != 68_00 || got.Currency != "CNY" || got.External || got.At.IsZero() {
		t.Fatalf("notification: %+v", got)
	}
	q, err := h.p.QueryRefund(ctx, r)
	if err != nil || q.Status != payment.RefundSucceeded || q.RefundID != res.RefundID {
		t.Fatalf("QueryRefund: %+v, %v", q, err)
	}
	// §2.4: after a refund the order's trade_state is REFUND, and the
	// merchant still reads the order as paid.
	if st := h.tradeState(o.OutTradeNo); st != wechat.StateRefund {
		t.Errorf("trade_state %s, want REFUND", st)
	}
	if p, err := h.p.Query(ctx, o.OutTradeNo, ""); err != nil || p.Status != payment.StatusPaid {
		t.Errorf("Query after the refund: %+v, %v", p, err)
	}
	if _, err := h.p.Refund(ctx, h.refundReq(o, 1)); !refused(err, payment.RefundAlreadyRefunded) {
		t.Errorf("a refund of a fully refunded order: %v, want already refunded", err)
	}
}

// refused reports whether err is a definite refusal for f.
func refused(err error, f payment.RefundFailure) bool {
	var rr *payment.RefundRefusal
	return errors.As(err, &rr) && rr.Failure == f
}

func TestPartialRefundsSumToAtMostTheTotal(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	o := h.paid(100_00)
	for _, amount := range []int64{30_00, 50_00} {
		if res, err := h.p.Refund(ctx, h.refundReq(o, amount)); err != nil || res.Status != payment.RefundProcessing {
			t.Fatalf("partial refund %d: %+v, %v", amount, res, err)
		}
	}
	if _, err := h.p.Refund(ctx, h.refundReq(o, 20_01)); !refused(err, payment.RefundAlreadyRefunded) {
		t.Fatalf("a refund past the total: %v, want refused as already refunded", err)
	}
	if _, err := h.p.Refund(ctx, h.refundReq(o, 20_00)); err != nil {
		t.Fatalf("the rest: %v", err)
	}
	var sum int64
	for _, n := range h.refundNotes(o, 3) {
		if n.Status != payment.RefundSucceeded {
			t.Errorf("notification %+v", n)
		}
		sum += n.Amount
	}
	if sum != 100_00 {
		t.Errorf("refunded %d, want the total", sum)
	}
}

func TestALostAnswerIsRetriedWithTheSameNumberAndRefundsOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	o := h.paid(68_00)
	r := h.refundReq(o, 18_00)
	h.sb.LoseRefundAnswers(1)
	_, err := h.p.Refund(ctx, r)
	var rr *payment.RefundRefusal
	if err == nil || errors.As(err, &rr) {
		t.Fatalf("a lost answer: %v, want an error of unknown outcome", err)
	}
	q, err := h.p.QueryRefund(ctx, r)
	if err != nil || q.Status != payment.RefundProcessing {
		t.Fatalf("query after the lost answer: %+v, %v; the refund was made", q, err)
	}
	again, err := h.p.Refund(ctx, r)
	if err != nil || again.RefundID != q.RefundID {
		t.Fatalf("retry with the same number: %+v, %v; want the same refund %s", again, err, q.RefundID)
	}
	// The same number with another amount is not this refund: never read
	// as its answer, never a refusal (which would reverse a made refund).
	other := r
	other.Amount = 20_00
	if _, err := h.p.Refund(ctx, other); err == nil || errors.As(err, &rr) {
		t.Errorf("the number reused for another amount: %v, want an error of unknown outcome", err)
	}
	h.refundNotes(o, 1)
	time.Sleep(50 * time.Millisecond) // room for a second refund's notification, were there one
	if notes := h.refundNotes(o, 1); len(notes) != 1 || notes[0].Amount != 18_00 {
		t.Errorf("notifications %+v, want one refund of 18.00", notes)
	}
	h.sb.mu.Lock()
	n := len(h.sb.orders[o.OutTradeNo].refunds)
	h.sb.mu.Unlock()
	if n != 1 {
		t.Errorf("%d refunds at WeChat, want 1", n)
	}
}

func TestAnUnknownRefundIsNotFound(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o := h.paid(10_00)
	if _, err := h.p.QueryRefund(context.Background(), h.refundReq(o, 10_00)); !errors.Is(err, payment.ErrRefundNotFound) {
		t.Fatalf("QueryRefund of a number never sent: %v, want ErrRefundNotFound", err)
	}
}

func TestARefundShortOfMerchantBalanceClosesAsFailed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	o := h.paid(50_00)
	h.sb.SetRefundOutcome(RefundClosesNoBalance)
	r := h.refundReq(o, 50_00)
	if res, err := h.p.Refund(ctx, r); err != nil || res.Status != payment.RefundProcessing {
		t.Fatalf("Refund: %+v, %v", res, err)
	}
	h.sb.Advance(ClosedAfter)
	got := h.refundNotes(o, 1)[0]
	if got.Status != payment.RefundFailed || got.Failure != payment.RefundNoMerchantFunds || got.Detail != wechat.RefundStatusClosed {
		t.Fatalf("notification: %+v, want failed (CLOSED)", got)
	}
	if q, err := h.p.QueryRefund(ctx, r); err != nil || q.Status != payment.RefundFailed {
		t.Fatalf("QueryRefund: %+v, %v", q, err)
	}
	// The same number stays closed; a new number refunds, since a CLOSED
	// refund took nothing (§2.4).
	if res, err := h.p.Refund(ctx, r); err != nil || res.Status != payment.RefundFailed {
		t.Errorf("the closed number again: %+v, %v", res, err)
	}
	h.sb.SetRefundOutcome(RefundSucceeds)
	if _, err := h.p.Refund(ctx, h.refundReq(o, 50_00)); err != nil {
		t.Errorf("a new number after CLOSED: %v", err)
	}
	if st := h.tradeState(o.OutTradeNo); st != wechat.StateSuccess {
		t.Errorf("trade_state %s after a closed refund, want SUCCESS", st)
	}
}

func TestAnAbnormalRefundStaysInFlightUntilResolved(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o := h.paid(20_00)
	h.sb.SetRefundOutcome(RefundAbnormal)
	r := h.refundReq(o, 20_00)
	if _, err := h.p.Refund(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	got := h.refundNotes(o, 1)[0]
	if got.Status != payment.RefundProcessing || got.Detail != wechat.RefundStatusAbnormal {
		t.Fatalf("REFUND.ABNORMAL: %+v, want processing flagged ABNORMAL (not final)", got)
	}
	if err := h.sb.ResolveAbnormal(r.RequestNo); err != nil {
		t.Fatal(err)
	}
	if got := h.refundNotes(o, 2)[1]; got.Status != payment.RefundSucceeded {
		t.Fatalf("after resolving: %+v", got)
	}
}

func TestRefusedRefundsSayWhy(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	o := h.paid(60_00)

	h.sb.SetRefundOutcome(RefundNotEnough)
	_, err := h.p.Refund(ctx, h.refundReq(o, 1_00))
	var rr *payment.RefundRefusal
	if !errors.As(err, &rr) || rr.Failure != payment.RefundNoMerchantFunds || rr.Code != wechat.CodeNotEnough {
		t.Errorf("short merchant balance: %v, want a NOT_ENOUGH refusal", err)
	}
	h.sb.SetRefundOutcome(RefundSucceeds)

	unpaid := h.order(payment.Desktop, 10_00)
	h.start(unpaid)
	if _, err := h.p.Refund(ctx, h.refundReq(unpaid, 10_00)); !refused(err, payment.RefundNotAllowed) {
		t.Errorf("an unpaid order: %v, want refused", err)
	}

	for i := range MaxRefunds {
		if _, err := h.p.Refund(ctx, h.refundReq(o, 1)); err != nil {
			t.Fatalf("refund %d of %d: %v", i+1, MaxRefunds, err)
		}
	}
	if _, err := h.p.Refund(ctx, h.refundReq(o, 1)); !refused(err, payment.RefundNotAllowed) {
		t.Errorf("refund %d: %v, want refused", MaxRefunds+1, err)
	}

	late := h.paid(10_00)
	h.sb.Advance(366 * 24 * time.Hour)
	if _, err := h.p.Refund(ctx, h.refundReq(late, 10_00)); !refused(err, payment.RefundWindowPassed) {
		t.Errorf("a year after payment: %v, want the window passed", err)
	}
}

// An outsider answering in WeChat's place (or tampering on the way) must
// not make a refund look definitely refused: the wallet would be given
// back money that WeChat may be paying out.
func TestAnUnsignedRefusalIsNotDefinite(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"code":"NOT_ENOUGH","message":"余额不足"}`))
	}))
	t.Cleanup(fake.Close)
	cfg := h.cfg
	cfg.BaseURL = fake.URL + "/wechat"
	p, err := wechat.New(cfg, fake.Client())
	if err != nil {
		t.Fatal(err)
	}
	o := h.order(payment.Desktop, 10_00)
	_, err = p.Refund(context.Background(), h.refundReq(o, 10_00))
	var rr *payment.RefundRefusal
	if errors.As(err, &rr) || !errors.Is(err, payment.ErrBadSignature) {
		t.Fatalf("an unsigned NOT_ENOUGH: %v, want a bad signature, not a refusal", err)
	}
}

func TestAPortalRefundArrivesAsARefundNeverAsAPayment(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o := h.paid(88_00)
	// The platform's refund URL: a second endpoint, so that the test sees
	// the portal refund goes there and not to the payment notify_url.
	platform := newHook(t, h.p)
	h.sb.RefundNotifyURL = platform.srv.URL + "/notify/wechat/refund"
	no, err := h.sb.PortalRefund(o.OutTradeNo, 8_00)
	if err != nil {
		t.Fatal(err)
	}
	notes := platform.waitFor(t, o.OutTradeNo, 1)
	n := notes[0]
	if n.Refund == nil || n.Status != "" {
		t.Fatalf("the portal refund parsed as %+v, want a refund and no payment status", n)
	}
	if r := n.Refund; r.RequestNo != no || !r.External || r.Status != payment.RefundSucceeded || r.Amount != 8_00 || n.OutTradeNo != o.OutTradeNo {
		t.Fatalf("portal refund: %+v", r)
	}
	for _, got := range h.hook.notes(o.OutTradeNo) {
		if got.Refund != nil {
			t.Errorf("the portal refund reached the payment notify_url too")
		}
	}
	if st := h.tradeState(o.OutTradeNo); st != wechat.StateRefund {
		t.Errorf("trade_state %s, want REFUND", st)
	}
}

// refundBody is a genuine REFUND.SUCCESS body for the harness's merchant.
func (h *harness) refundBody(aead cipher.AEAD, mchID string) []byte {
	n := refundNotice{MchID: mchID, OutTradeNo: "T0000000000000000000001", TransactionID: "4200000000000000000000000001",
		OutRefundNo: "R0000000000000000000001", RefundID: "50000000000000000000000000001", RefundStatus: wechat.RefundStatusSuccess,
		SuccessTime: time.Now().In(cst).Format(time.RFC3339), UserReceivedAccount: "支付用户零钱"}
	n.Amount.Total, n.Amount.Refund, n.Amount.PayerTotal, n.Amount.PayerRefund = 68_00, 68_00, 68_00, 68_00
	return sealRefund(aead, n)
}

func TestForgedRefundNotificationsAreRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	now := time.Now()
	body := h.refundBody(h.sb.aead, h.cfg.MchID)
	otherKey := writeKey(t, filepath.Join(t.TempDir(), "k.pem"))
	block, _ := aes.NewCipher([]byte("0123456789abcdef0123456789ABCDEF"))
	otherAEAD, _ := cipher.NewGCM(block)
	relabel := func(event string) []byte {
		var env map[string]any
		_ = json.Unmarshal(body, &env)
		env["event_type"] = event
		b, _ := json.Marshal(env)
		return b
	}
	cases := []struct {
		name   string
		header http.Header
		body   []byte
		want   error
	}{
		{"unsigned", http.Header{}, body, payment.ErrBadSignature},
		{"signed by another key", func() http.Header {
			hd := h.signed(body, now)
			hd.Set(wechat.HeaderSignature, signWith(otherKey, hd.Get(wechat.HeaderTimestamp)+"\n"+hd.Get(wechat.HeaderNonce)+"\n"+string(body)+"\n"))
			return hd
		}(), body, payment.ErrBadSignature},
		{"a resource under another APIv3 key", nil, h.refundBody(otherAEAD, h.cfg.MchID), payment.ErrBadSignature},
		{"another merchant's refund", nil, h.refundBody(h.sb.aead, "1900009999"), payment.ErrWrongMerchant},
		{"a success relabelled as closed", nil, relabel(wechat.EventRefundClosed), payment.ErrMalformed},
		{"a refund resource relabelled as a payment", nil, relabel(wechat.EventTransactionSuccess), payment.ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hd := c.header
			if hd == nil {
				hd = h.signed(c.body, now)
			}
			if n, err := h.p.ParseNotification(ctx, hd, c.body); !errors.Is(err, c.want) {
				t.Fatalf("ParseNotification: %+v, %v; want %v", n, err, c.want)
			}
		})
	}
	n, err := h.p.ParseNotification(ctx, h.signed(body, now), body)
	if err != nil || n.Refund == nil || n.Refund.Status != payment.RefundSucceeded || n.Refund.External || n.Status != "" {
		t.Fatalf("the genuine one: %+v, %v", n, err)
	}
}

// The refund controls over HTTP, as a test holding only the gateway's URL
// uses them; they live on the API origin.
func TestRefundControlsOverHTTP(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o := h.paid(40_00)
	post := func(path string, form url.Values) (int, string) {
		res, err := http.PostForm(h.api.URL+"/"+Name+"/_sim/"+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := post("refund-outcome", url.Values{"outcome": {"not_enough"}}); code != http.StatusOK {
		t.Fatalf("refund-outcome: %d %s", code, body)
	}
	if _, err := h.p.Refund(context.Background(), h.refundReq(o, 1_00)); !refused(err, payment.RefundNoMerchantFunds) {
		t.Errorf("after choosing not_enough: %v", err)
	}
	if code, _ := post("refund-outcome", url.Values{"outcome": {"nonsense"}}); code != http.StatusBadRequest {
		t.Errorf("an unknown outcome: %d", code)
	}
	code, body := post("orders/"+o.OutTradeNo+"/portal-refund", url.Values{"amount": {"500"}})
	if code != http.StatusOK || !strings.Contains(body, `"out_refund_no":"MP_`) {
		t.Fatalf("portal-refund: %d %s", code, body)
	}
	if got := h.refundNotes(o, 1)[0]; !got.External || got.Amount != 5_00 {
		t.Errorf("portal refund notification %+v", got)
	}
	if code, body := post("advance", url.Values{"by": {"1h"}}); code != http.StatusOK {
		t.Errorf("advance: %d %s", code, body)
	}
	if code, body := post("lose-refund-answers", url.Values{"n": {"1"}}); code != http.StatusOK {
		t.Errorf("lose-refund-answers: %d %s", code, body)
	}
	if h.sb.Page("/" + Name + "/_sim/advance") {
		t.Errorf("the controls are served on the web origin")
	}
}

// waitBound is how long a test waits for a notification the sandbox sends
// at once before calling it lost: a bound for a stalled machine, not a
// timing the test measures (a busy machine failed 10 s deadlines before).
const waitBound = 2 * time.Minute
