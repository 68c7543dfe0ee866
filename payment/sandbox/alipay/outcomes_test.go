package alipaysandbox

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/alipay"
	"im2pay/payment/sandbox/sim"
)

// How the person comes back.
const (
	backNone   = ""       // no redirect
	backSigned = "signed" // return_url with Alipay's signed query
	backPlain  = "plain"  // the bare return_url
	backQuit   = "quit"   // quit_url: a cancellation
)

type outcomeCase struct {
	name    string
	outcome sim.Outcome
	device  payment.Device
	form    bool // post the cashier form instead of calling Simulate
	notes   int  // verified notifications at least
	exact   bool // exactly notes, no more
	back    string
	status  payment.Status
	reason  payment.Reason
}

// statusUnknown: trade.query answers ACQ.TRADE_NOT_EXIST (ErrNotFound).
const statusUnknown payment.Status = "unknown"

// Refusals leave the trade WAIT_BUYER_PAY and tell the merchant nothing
// (PROVIDERS.md §1.2); earlier versions of this table expected the
// sandbox's invented ACQ.* refusal codes from trade.query.
var outcomeCases = []outcomeCase{
	{"a desktop payment on the cashier form notifies once and returns signed", sim.Success, payment.Desktop, true, 1, true, backSigned, payment.StatusPaid, ""},
	{"a phone payment on the cashier form notifies once and returns signed", sim.Success, payment.Phone, true, 1, true, backSigned, payment.StatusPaid, ""},
	{"a simulated success notifies once and returns signed", sim.Success, payment.Desktop, false, 1, true, backSigned, payment.StatusPaid, ""},
	{"three wrong passwords on the form leave the trade waiting, no reason told", sim.WrongPassword, payment.Desktop, true, 0, true, backPlain, payment.StatusPending, ""},
	{"three simulated wrong passwords leave the trade waiting", sim.WrongPassword, payment.Phone, false, 0, true, backPlain, payment.StatusPending, ""},
	{"a declined payment leaves the trade waiting", sim.Declined, payment.Desktop, false, 0, true, backPlain, payment.StatusPending, ""},
	{"a declined payment on the form leaves the trade waiting", sim.Declined, payment.Phone, true, 0, true, backPlain, payment.StatusPending, ""},
	{"insufficient funds leave the trade waiting", sim.InsufficientFunds, payment.Desktop, false, 0, true, backPlain, payment.StatusPending, ""},
	{"a restricted account leaves the trade waiting", sim.Restricted, payment.Desktop, false, 0, true, backPlain, payment.StatusPending, ""},
	{"the buyer's daily limit leaves the trade waiting", sim.OverLimit, payment.Phone, false, 0, true, backPlain, payment.StatusPending, ""},
	{"a desktop cancel before logging in comes back plain; Alipay never created the trade", sim.Cancel, payment.Desktop, false, 0, true, backPlain, statusUnknown, ""},
	{"a phone cancel on the form comes back through quit_url; Alipay never created the trade", sim.Cancel, payment.Phone, true, 0, true, backQuit, statusUnknown, ""},
	{"a dropped network pays without notification or return", sim.DropNotify, payment.Desktop, false, 0, true, backNone, payment.StatusPaid, ""},
	{"a duplicate notification arrives at least twice", sim.DuplicateNotify, payment.Desktop, false, 2, false, backSigned, payment.StatusPaid, ""},
	{"notify before return has notified when the person is sent back", sim.NotifyBeforeReturn, payment.Desktop, false, 1, true, backSigned, payment.StatusPaid, ""},
	{"return before notify notifies shortly after", sim.ReturnBeforeNotify, payment.Phone, false, 1, true, backSigned, payment.StatusPaid, ""},
	{"no return still notifies", sim.NoReturn, payment.Desktop, false, 1, true, backNone, payment.StatusPaid, ""},
	{"a late notification arrives after the late delay", sim.LateNotify, payment.Desktop, false, 1, true, backSigned, payment.StatusPaid, ""},
}

func TestEveryOutcome(t *testing.T) {
	h := newHarness(t)
	for _, c := range outcomeCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h.runOutcome(t, c)
		})
	}
}

func (h *harness) runOutcome(t *testing.T, c outcomeCase) {
	o := h.order(c.device, 6800)
	cashier := h.start(t, o)
	page := readBody(t, h.get(t, cashier))
	if !strings.Contains(page, "¥68.00") || !strings.Contains(page, "沙箱") {
		t.Fatalf("cashier page does not show the amount and the sandbox mark:\n%s", page)
	}
	began := time.Now()
	back := h.choose(t, c, o.OutTradeNo, cashier)
	if c.outcome == sim.NotifyBeforeReturn && len(h.shop.deliveries(o.OutTradeNo)) == 0 {
		t.Error("the person was sent back before the notification")
	}
	h.checkBack(t, c, o, back)
	h.checkNotes(t, c, o, began)
	res, err := h.p.Query(context.Background(), o.OutTradeNo, "")
	if c.status == statusUnknown {
		if !errors.Is(err, payment.ErrNotFound) {
			t.Fatalf("Query = %+v, %v; want ACQ.TRADE_NOT_EXIST", res, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	if res.Status != c.status || res.Reason != c.reason || res.Amount != o.Amount || res.Currency != "CNY" {
		t.Errorf("Query = %+v, want %s/%q %d CNY", res, c.status, c.reason, o.Amount)
	}
}

// choose settles the trade through the form or Simulate, the wrong
// password three times; it returns where the person ends up.
func (h *harness) choose(t *testing.T, c outcomeCase, no, cashier string) string {
	tries := 1
	if c.outcome == sim.WrongPassword {
		tries = sim.MaxPasswordTries
	}
	var back string
	for i := range tries {
		if c.form {
			password := Password
			if c.outcome == sim.WrongPassword {
				password = "000000"
			}
			var body string
			back, body = h.submit(t, cashier, password, c.outcome)
			if i < tries-1 && !strings.Contains(body, "支付密码不正确") {
				t.Fatalf("wrong try %d did not keep the person on the cashier:\n%s", i+1, body)
			}
		} else {
			var found bool
			var err error
			back, found, err = h.sb.Simulate(context.Background(), no, c.outcome)
			if err != nil || !found {
				t.Fatalf("Simulate: found %v, %v", found, err)
			}
		}
		if i < tries-1 && back != "" {
			t.Fatalf("wrong try %d sent the person to %q", i+1, back)
		}
	}
	return back
}

func (h *harness) checkBack(t *testing.T, c outcomeCase, o payment.Order, back string) {
	t.Helper()
	if c.back == backNone {
		if back != "" {
			t.Fatalf("sent back to %q, want no redirect", back)
		}
		return
	}
	if !strings.HasPrefix(back, o.ReturnURL) {
		t.Fatalf("sent back to %q, want our return URL %q", back, o.ReturnURL)
	}
	u, err := url.Parse(back)
	if err != nil {
		t.Fatal(err)
	}
	ret, err := h.p.ParseReturn(context.Background(), u.Query(), url.Values{})
	if err != nil {
		t.Fatalf("ParseReturn(%s): %v", back, err)
	}
	want := payment.Return{}
	switch c.back {
	case backSigned:
		want.OutTradeNo = o.OutTradeNo
	case backQuit:
		want.Cancelled = true
	}
	if ret != want {
		t.Errorf("ParseReturn = %+v, want %+v", ret, want)
	}
}

func (h *harness) checkNotes(t *testing.T, c outcomeCase, o payment.Order, began time.Time) {
	t.Helper()
	if c.notes == 0 {
		time.Sleep(300 * time.Millisecond)
		if got := h.shop.deliveries(o.OutTradeNo); len(got) != 0 {
			t.Fatalf("%d notifications, want none", len(got))
		}
		return
	}
	got := h.waitFor(t, o.OutTradeNo, c.notes)
	if c.exact {
		time.Sleep(100 * time.Millisecond)
		if got = h.shop.deliveries(o.OutTradeNo); len(got) != c.notes {
			t.Errorf("%d notifications, want %d", len(got), c.notes)
		}
	}
	for _, d := range got {
		n := d.n
		if d.err != nil || n.Status != payment.StatusPaid || n.Amount != o.Amount || n.Currency != "CNY" ||
			n.TradeNo == "" || n.EventID == "" || n.Final || n.PaidAt.IsZero() {
			t.Errorf("notification %+v (%v), want a verified, not final TRADE_SUCCESS of %d CNY", n, d.err, o.Amount)
		}
	}
	if c.outcome == sim.LateNotify {
		if late := h.n.Scaled(sim.LateDelay); got[0].at.Sub(began) < late {
			t.Errorf("late notification after %v, want at least %v", got[0].at.Sub(began), late)
		}
	}
}

func TestUnacknowledgedNotificationIsRetried(t *testing.T) {
	h := newHarness(t)
	o := h.order(payment.Desktop, 100)
	h.start(t, o)
	h.shop.mu.Lock()
	h.shop.refuse[o.OutTradeNo] = 2
	h.shop.mu.Unlock()
	if _, _, err := h.sb.Simulate(context.Background(), o.OutTradeNo, sim.Success); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, o.OutTradeNo, 3)
	time.Sleep(h.n.Scaled(sim.AlipaySchedule[2]) + 100*time.Millisecond)
	got := h.shop.deliveries(o.OutTradeNo)
	if len(got) != 3 || got[0].ack || got[1].ack || !got[2].ack {
		t.Fatalf("attempts %+v, want two refused then one acknowledged", got)
	}
	if gap := got[1].at.Sub(got[0].at); gap < h.n.Scaled(sim.AlipaySchedule[0]) {
		t.Errorf("first retry after %v, want Alipay's %v (scaled)", gap, h.n.Scaled(sim.AlipaySchedule[0]))
	}
	for _, d := range got {
		if d.n.EventID != got[0].n.EventID {
			t.Errorf("retries carry notify_id %q and %q, want one notification", got[0].n.EventID, d.n.EventID)
		}
	}
}

func TestFinishedTradeNotifiesAFinalStatement(t *testing.T) {
	h := newHarness(t)
	o := h.order(payment.Desktop, 6800)
	h.start(t, o)
	if _, _, err := h.sb.Simulate(context.Background(), o.OutTradeNo, sim.Success); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, o.OutTradeNo, 1)
	if err := h.sb.Finish(o.OutTradeNo); err != nil {
		t.Fatal(err)
	}
	got := h.waitFor(t, o.OutTradeNo, 2)
	if n := got[1].n; got[1].err != nil || n.Status != payment.StatusPaid || !n.Final || got[0].n.Final {
		t.Fatalf("TRADE_SUCCESS then TRADE_FINISHED read as %+v then %+v (%v)", got[0].n, n, got[1].err)
	}
	res, err := h.p.Query(context.Background(), o.OutTradeNo, "")
	if err != nil || res.Status != payment.StatusPaid || !res.Final {
		t.Fatalf("Query after TRADE_FINISHED = %+v, %v", res, err)
	}
	var refusal *payment.RefundRefusal
	_, err = h.p.Refund(context.Background(), payment.RefundRequest{OutTradeNo: o.OutTradeNo, RequestNo: "R000000000000001",
		Amount: 100, Total: o.Amount, Currency: "CNY"})
	if !errors.As(err, &refusal) || refusal.Code != "ACQ.TRADE_HAS_FINISHED" || refusal.Failure != payment.RefundWindowPassed {
		t.Fatalf("refund after TRADE_FINISHED: %v", err)
	}
}

func isAPIError(err error, sub string) bool {
	e, ok := err.(*alipay.APIError)
	return ok && e.SubCode == sub
}
