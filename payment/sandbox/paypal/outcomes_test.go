package paypalsandbox

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
)

// outcomeCase is what each outcome means in PayPal terms: where the person
// lands, what our capture (Complete) meets, which webhooks follow, and what
// a later GET of the order says.
type outcomeCase struct {
	outcome   sim.Outcome
	redirect  bool           // the person comes back (else our reconciler captures)
	cancelled bool           // back through cancel_url
	complete  payment.Status // what Complete says
	reason    payment.Reason
	webhooks  int // PAYMENT.CAPTURE.COMPLETED deliveries to expect
	query     payment.Status
}

var outcomeCases = []outcomeCase{
	{sim.Success, true, false, payment.StatusPaid, "", 1, payment.StatusPaid},
	// Three wrong passwords void the order; capture says MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED.
	{sim.WrongPassword, true, false, payment.StatusFailed, payment.ReasonWrongDetails, 0, payment.StatusClosed},
	// Funding failures surface as the capture's 422 issue; the order stays APPROVED (pending).
	{sim.Declined, true, false, payment.StatusFailed, payment.ReasonDeclined, 0, payment.StatusPending},
	{sim.InsufficientFunds, true, false, payment.StatusFailed, payment.ReasonNoFunds, 0, payment.StatusPending},
	{sim.Restricted, true, false, payment.StatusFailed, payment.ReasonRestricted, 0, payment.StatusPending},
	{sim.OverLimit, true, false, payment.StatusFailed, payment.ReasonOverLimit, 0, payment.StatusPending},
	// A cancelled order was never approved: capture says ORDER_NOT_APPROVED.
	{sim.Cancel, true, true, payment.StatusPending, "", 0, payment.StatusPending},
	{sim.DropNotify, false, false, payment.StatusPaid, "", 0, payment.StatusPaid},
	{sim.DuplicateNotify, true, false, payment.StatusPaid, "", 2, payment.StatusPaid},
	{sim.NotifyBeforeReturn, true, false, payment.StatusPaid, "", 1, payment.StatusPaid},
	{sim.ReturnBeforeNotify, true, false, payment.StatusPaid, "", 1, payment.StatusPaid},
	{sim.NoReturn, false, false, payment.StatusPaid, "", 1, payment.StatusPaid},
	{sim.LateNotify, true, false, payment.StatusPaid, "", 1, payment.StatusPaid},
}

func TestEveryOutcomeReachesTheMerchantThroughPayPalsOwnProtocol(t *testing.T) {
	h := newHarness(t)
	if len(outcomeCases) != len(sim.Outcomes) {
		t.Fatalf("%d cases for %d outcomes", len(outcomeCases), len(sim.Outcomes))
	}
	for _, c := range outcomeCases {
		t.Run(string(c.outcome), func(t *testing.T) {
			t.Parallel()
			h.runOutcome(t, c)
		})
	}
}

func (h *harness) runOutcome(t *testing.T, c outcomeCase) {
	ctx := context.Background()
	o := h.order(6800)
	next := h.start(t, o)
	page := h.get(t, next.RedirectURL)
	if !strings.Contains(page, "US$68.00") || !strings.Contains(page, "SANDBOX") {
		t.Fatalf("approval page does not show US$68.00 in the sandbox frame:\n%s", page)
	}
	redirect := h.simulate(t, o.OutTradeNo, c.outcome)
	if (redirect != "") != c.redirect {
		t.Fatalf("Simulate redirect = %q, want one: %v", redirect, c.redirect)
	}
	if c.redirect {
		ret := h.returnOf(t, o, redirect)
		if ret.ProviderRef != next.ProviderRef || ret.Cancelled != c.cancelled {
			t.Fatalf("return = %+v, want ref %s cancelled %v", ret, next.ProviderRef, c.cancelled)
		}
	} else {
		// Nobody came back: our reconciler finds the order APPROVED and captures it.
		if r, err := h.prov.Query(ctx, o.OutTradeNo, next.ProviderRef); err != nil || r.Status != payment.StatusPending {
			t.Fatalf("Query before capture = %+v, %v; want pending", r, err)
		}
	}
	started := time.Now()
	r, err := h.prov.Complete(ctx, o.OutTradeNo, next.ProviderRef)
	completed := time.Now()
	if err != nil || r.Status != c.complete || r.Reason != c.reason {
		t.Fatalf("Complete = %+v, %v; want %s %q", r, err, c.complete, c.reason)
	}
	if r.Status == payment.StatusPaid && (r.Amount != 6800 || r.Currency != "USD" || r.TradeNo == "" || !r.Final) {
		t.Fatalf("paid result = %+v", r)
	}
	h.checkWebhooks(t, c, o, r, started, completed)
	q, err := h.prov.Query(ctx, o.OutTradeNo, next.ProviderRef)
	if err != nil || q.Status != c.query || q.Amount != 6800 || q.Currency != "USD" || q.TradeNo != r.TradeNo {
		t.Fatalf("Query = %+v, %v; want %s US$68.00 trade %q", q, err, c.query, r.TradeNo)
	}
}

// simulate chooses the outcome; a wrong password needs three tries, the
// first two keeping the person on the page.
func (h *harness) simulate(t *testing.T, outTradeNo string, oc sim.Outcome) string {
	tries := 1
	if oc == sim.WrongPassword {
		tries = sim.MaxPasswordTries
	}
	var redirect string
	for i := range tries {
		u, found, err := h.sb.Simulate(context.Background(), outTradeNo, oc)
		if err != nil || !found {
			t.Fatalf("Simulate: found %v, %v", found, err)
		}
		if i < tries-1 && u != "" {
			t.Fatalf("wrong password %d redirected to %q", i+1, u)
		}
		redirect = u
	}
	return redirect
}

// checkWebhooks checks the webhooks of the capture made between started and
// completed. A late webhook is scheduled from the moment the sandbox took
// the capture, which lies between the two: its delay is measured from
// started, the bound that holds however slow the round trip was.
func (h *harness) checkWebhooks(t *testing.T, c outcomeCase, o payment.Order, r payment.Result, started, completed time.Time) {
	if c.webhooks == 0 {
		time.Sleep(150 * time.Millisecond) // room for a webhook that should not come
		if got := h.hook.deliveries(o.OutTradeNo); len(got) != 0 {
			t.Fatalf("%d webhooks, want none", len(got))
		}
		return
	}
	got := h.hook.wait(t, o.OutTradeNo, c.webhooks)
	for _, d := range got {
		if d.err != nil || d.n.Status != payment.StatusPaid || d.n.Amount != 6800 || d.n.Currency != "USD" ||
			d.n.TradeNo != r.TradeNo || d.n.EventID != got[0].n.EventID {
			t.Fatalf("webhook = %+v, %v", d.n, d.err)
		}
	}
	switch c.outcome {
	case sim.NotifyBeforeReturn:
		if got[0].at.After(completed) {
			t.Fatal("the webhook arrived after the capture call returned")
		}
	case sim.ReturnBeforeNotify:
		// The sandbox answers the capture at once and sends the webhook
		// ReturnDelay after it took the call. Comparing the webhook with the
		// moment this test read the answer raced the scheduler by the
		// scaled delay (3 ms) and failed on a busy machine; the delay
		// measured from before the call is the bound that always holds.
		if d := got[0].at.Sub(started); d < h.n.Scaled(sim.ReturnDelay) {
			t.Fatalf("webhook after %v, want at least %v after the capture call", d, h.n.Scaled(sim.ReturnDelay))
		}
	case sim.LateNotify:
		if d := got[0].at.Sub(started); d < h.n.Scaled(sim.LateDelay) {
			t.Fatalf("late webhook after %v, want at least %v", d, h.n.Scaled(sim.LateDelay))
		}
	}
}

func (h *harness) get(t *testing.T, u string) string {
	t.Helper()
	res, err := h.api.Client().Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", u, res.StatusCode, b)
	}
	return string(b)
}
