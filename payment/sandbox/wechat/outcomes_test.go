package wechatsandbox

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
)

// outcomeCase is what one outcome must look like to the merchant.
type outcomeCase struct {
	outcome  sim.Outcome
	status   payment.Status
	reason   payment.Reason
	notes    int  // notifications expected (at least, for duplicates)
	redirect bool // an H5 payer is sent back
	late     bool
}

// A refused Native or H5 payment stays NOTPAY with no reason for the
// merchant (PROVIDERS.md §2.2): earlier versions of this table expected
// the sandbox's invented PAYERROR and bracketed codes. The H5 page shows
// the refusal with a link back instead of sending the payer back.
var outcomeCases = []outcomeCase{
	{sim.Success, payment.StatusPaid, "", 1, true, false},
	{sim.WrongPassword, payment.StatusPending, "", 0, false, false},
	{sim.Declined, payment.StatusPending, "", 0, false, false},
	{sim.InsufficientFunds, payment.StatusPending, "", 0, false, false},
	{sim.Restricted, payment.StatusPending, "", 0, false, false},
	{sim.OverLimit, payment.StatusPending, "", 0, false, false},
	// WeChat has no failed state for a cancelled payment: the order stays
	// NOTPAY (pending) and can still be paid until it expires or is closed.
	{sim.Cancel, payment.StatusPending, "", 0, true, false},
	{sim.DropNotify, payment.StatusPaid, "", 0, false, false},
	{sim.DuplicateNotify, payment.StatusPaid, "", 2, true, false},
	{sim.NotifyBeforeReturn, payment.StatusPaid, "", 1, true, false},
	{sim.ReturnBeforeNotify, payment.StatusPaid, "", 1, true, false},
	{sim.NoReturn, payment.StatusPaid, "", 1, false, false},
	{sim.LateNotify, payment.StatusPaid, "", 1, true, true},
}

func TestEveryOutcomeReachesTheMerchantThroughTheProtocol(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, dev := range []payment.Device{payment.Desktop, payment.Phone} {
		for _, c := range outcomeCases {
			t.Run(string(dev)+"/"+string(c.outcome), func(t *testing.T) {
				t.Parallel()
				h.checkOutcome(t, dev, c)
			})
		}
	}
}

func (h *harness) checkOutcome(t *testing.T, dev payment.Device, c outcomeCase) {
	ctx := context.Background()
	o := h.order(dev, 68_00)
	next := h.start(o)
	page := next.RedirectURL
	if dev == payment.Desktop {
		page = ScanURL(h.api.URL, next.QRCode)
	}
	if code, body := h.get(page); code != 200 || !strings.Contains(body, "¥68.00") {
		t.Fatalf("cashier page %d does not show ¥68.00", code)
	}
	began := time.Now()
	redirect := h.simulate(t, o.OutTradeNo, c.outcome)
	if c.outcome == sim.NotifyBeforeReturn && len(h.hook.notes(o.OutTradeNo)) == 0 {
		t.Errorf("the person was sent back before the notification was acknowledged")
	}
	want := ""
	if dev == payment.Phone && c.redirect {
		want = o.ReturnURL
	}
	if redirect != want {
		t.Errorf("redirect = %q, want %q", redirect, want)
	}
	if redirect != "" {
		u, _ := url.Parse(redirect)
		if ret, err := h.p.ParseReturn(ctx, u.Query(), nil); err != nil || ret != (payment.Return{}) {
			t.Errorf("ParseReturn = %+v, %v", ret, err)
		}
	}
	res, err := h.p.Query(ctx, o.OutTradeNo, "")
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	if res.Status != c.status || res.Reason != c.reason || res.Amount != o.Amount || res.Currency != "CNY" {
		t.Errorf("Query = %s/%q %d %s, want %s/%q %d CNY", res.Status, res.Reason, res.Amount, res.Currency,
			c.status, c.reason, o.Amount)
	}
	h.checkNotes(t, o, c, began)
}

// simulate plays the outcome; a wrong password needs three tries, and the
// first two keep the person on the cashier page.
func (h *harness) simulate(t *testing.T, no string, out sim.Outcome) string {
	t.Helper()
	tries := 1
	if out == sim.WrongPassword {
		tries = sim.MaxPasswordTries
	}
	var redirect string
	for i := range tries {
		r, found, err := h.sb.Simulate(context.Background(), no, out)
		if err != nil || !found {
			t.Fatalf("Simulate %s try %d: found=%v err=%v", out, i+1, found, err)
		}
		if i < tries-1 {
			if r != "" {
				t.Fatalf("a wrong password on try %d redirected to %q", i+1, r)
			}
			if res, _ := h.p.Query(context.Background(), no, ""); res.Status != payment.StatusPending {
				t.Fatalf("after wrong password %d the order is %s, want pending", i+1, res.Status)
			}
		}
		redirect = r
	}
	return redirect
}

func (h *harness) checkNotes(t *testing.T, o payment.Order, c outcomeCase, began time.Time) {
	if c.notes == 0 {
		time.Sleep(100 * time.Millisecond)
		if got := h.hook.notes(o.OutTradeNo); len(got) != 0 {
			t.Fatalf("%d notifications for an outcome that sends none", len(got))
		}
		return
	}
	got := h.hook.waitFor(t, o.OutTradeNo, c.notes)
	if c.late {
		h.hook.mu.Lock()
		at := h.hook.at[o.OutTradeNo]
		h.hook.mu.Unlock()
		if at.Sub(began) < h.n.Scaled(sim.LateDelay) {
			t.Errorf("late notification after %s, want ≥ %s", at.Sub(began), h.n.Scaled(sim.LateDelay))
		}
	}
	for _, n := range got {
		if n.OutTradeNo != o.OutTradeNo || n.Status != payment.StatusPaid || n.Amount != o.Amount ||
			n.Currency != "CNY" || n.TradeNo == "" || n.EventID == "" || !n.Final || n.PaidAt.IsZero() {
			t.Errorf("notification = %+v", n)
		}
	}
	if c.outcome == sim.Success || c.outcome == sim.NoReturn {
		time.Sleep(50 * time.Millisecond)
		if n := len(h.hook.notes(o.OutTradeNo)); n != 1 {
			t.Errorf("%d notifications acknowledged, want exactly 1", n)
		}
	}
}

func TestAmountOverTheLimitIsRefusedOnTheCashierOnly(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o := h.order(payment.Phone, MaxAmountFen+1)
	code, page := h.get(h.start(o).RedirectURL)
	if code != 200 || !strings.Contains(page, "RULE_LIMIT") {
		t.Errorf("cashier page does not warn about the limit (%d)", code)
	}
	if _, _, err := h.sb.Simulate(context.Background(), o.OutTradeNo, sim.Success); err != nil {
		t.Fatal(err)
	}
	res, err := h.p.Query(context.Background(), o.OutTradeNo, "")
	if err != nil || res.Status != payment.StatusPending || res.Reason != "" {
		t.Fatalf("Query = %+v, %v; want NOTPAY (pending), no reason", res, err)
	}
}
