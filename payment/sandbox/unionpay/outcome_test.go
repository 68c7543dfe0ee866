package unionpaysandbox

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
)

type outcomeCase struct {
	name     string
	outcome  sim.Outcome
	cashier  bool   // pay on the card page instead of Simulate
	card     string // card number typed on the page
	amount   int64
	status   payment.Status
	reason   payment.Reason
	notes    int  // notifications expected (at least)
	late     bool // the notification comes after sim.LateDelay
	redirect bool
}

func outcomeCases() []outcomeCase {
	paid := func(name string, o sim.Outcome, notes int, redirect bool) outcomeCase {
		return outcomeCase{name: name, outcome: o, status: payment.StatusPaid, notes: notes, redirect: redirect}
	}
	refused := func(name string, o sim.Outcome, r payment.Reason) outcomeCase {
		return outcomeCase{name: name, outcome: o, status: payment.StatusFailed, reason: r, redirect: true}
	}
	card := func(name, number string, r payment.Reason) outcomeCase {
		c := refused(name, sim.Success, r)
		c.cashier, c.card = true, number
		return c
	}
	cases := []outcomeCase{
		paid("success by Simulate is notified, returned and queried as paid", sim.Success, 1, true),
		paid("notify_before_return is notified and returned", sim.NotifyBeforeReturn, 1, true),
		paid("return_before_notify returns first and is notified after", sim.ReturnBeforeNotify, 1, true),
		paid("duplicate_notify delivers the notification at least twice", sim.DuplicateNotify, 2, true),
		paid("drop_notify is paid with neither notification nor return", sim.DropNotify, 0, false),
		paid("no_return is notified but never returns", sim.NoReturn, 1, false),
		paid("late_notify is notified only after the late delay", sim.LateNotify, 1, true),
		refused("wrong_password by Simulate fails on the third try as wrong details", sim.WrongPassword, payment.ReasonWrongDetails),
		refused("declined fails as declined (60)", sim.Declined, payment.ReasonDeclined),
		refused("insufficient_funds fails as insufficient funds (64)", sim.InsufficientFunds, payment.ReasonNoFunds),
		refused("restricted fails as restricted (63)", sim.Restricted, payment.ReasonRestricted),
		refused("over_limit fails as over the limit (33)", sim.OverLimit, payment.ReasonOverLimit),
		refused("cancel returns cancelled (69)", sim.Cancel, payment.ReasonCancelled),
		card("test card 0026 on the card page is declined", "6216261000000000026", payment.ReasonDeclined),
		card("test card 0034 on the card page lacks funds", "6216261000000000034", payment.ReasonNoFunds),
		card("test card 0042 on the card page is restricted", "6216261000000000042", payment.ReasonRestricted),
		card("test card 0059 on the card page has wrong details", "6216261000000000059", payment.ReasonWrongDetails),
		card("test card 0067 on the card page is over the limit", "6216261000000000067", payment.ReasonOverLimit),
		card("three wrong passwords on the card page fail as wrong details", "", payment.ReasonWrongDetails),
		refused("an amount over the single limit fails as over the limit", sim.Success, payment.ReasonOverLimit),
	}
	cases[len(cases)-2].outcome = sim.WrongPassword
	cases[len(cases)-1].amount = SingleLimit + 1
	cancel := refused("cancel chosen on the card page returns cancelled, whatever was typed", sim.Cancel, payment.ReasonCancelled)
	cancel.cashier, cancel.card = true, "12"
	cases = append(cases, cancel)
	success := paid("success on the card page is notified, returned and queried as paid", sim.Success, 1, true)
	success.cashier, success.card = true, TestCards[0].Number
	return append(cases, success)
}

// Every sandbox outcome, through Simulate or the card page, ends as the
// plan says in notifications, the return and the query.
func TestEveryOutcome(t *testing.T) {
	e := newEnv(t)
	for _, c := range outcomeCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e.runOutcome(t, c)
		})
	}
}

func (e *env) runOutcome(t *testing.T, c outcomeCase) {
	if c.amount == 0 {
		c.amount = 6800
	}
	o := e.order(c.amount)
	next, page := e.start(t, o)
	body := e.get(t, page)
	if !strings.Contains(body, "¥"+payment.FenToYuan(c.amount)) || !strings.Contains(body, "沙箱 SANDBOX") {
		t.Fatalf("card page does not show the amount ¥%s:\n%s", payment.FenToYuan(c.amount), body)
	}
	settledAt := time.Now()
	var ret payment.Return
	var returned bool
	if c.cashier {
		ret, returned = e.payOnPage(t, c, o, page)
	} else {
		ret, returned = e.payBySimulate(t, c, o)
	}
	if returned != c.redirect {
		t.Fatalf("returned to the merchant: %v, want %v", returned, c.redirect)
	}
	if returned && (ret.OutTradeNo != o.OutTradeNo || ret.Cancelled != (c.reason == payment.ReasonCancelled)) {
		t.Fatalf("return = %+v", ret)
	}
	e.checkNotes(t, c, o, settledAt)
	res, err := e.p.Query(context.Background(), o.OutTradeNo, next.ProviderRef)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != c.status || res.Reason != c.reason || res.Amount != c.amount || res.Currency != "CNY" {
		t.Fatalf("query = %+v, want %s/%q %d CNY", res, c.status, c.reason, c.amount)
	}
	if c.status == payment.StatusPaid && (res.TradeNo == "" || res.PaidAt.IsZero()) {
		t.Fatalf("paid query without trade number or time: %+v", res)
	}
}

// payOnPage submits the card page (three wrong passwords for the wrong
// password case) and reads the front notification form off the result.
func (e *env) payOnPage(t *testing.T, c outcomeCase, o payment.Order, page string) (payment.Return, bool) {
	card, password, tries := c.card, PaymentPassword, 1
	if card == "" {
		card = TestCards[0].Number
	}
	if c.outcome == sim.WrongPassword {
		password, tries = "000000", sim.MaxPasswordTries
	}
	radio := c.outcome
	if radio == sim.WrongPassword {
		radio = sim.Success // the person picks success but types the wrong password
	}
	var body string
	for i := range tries {
		_, body = e.postForm(t, page, cardForm(card, password, radio))
		if i < tries-1 && !strings.Contains(body, "还可尝试") {
			t.Fatalf("wrong try %d did not keep the person on the page:\n%s", i+1, body)
		}
	}
	action, form := frontForm(body)
	if action == "" {
		return payment.Return{}, false
	}
	if action != o.ReturnURL {
		t.Fatalf("front notification posts to %q, want %q", action, o.ReturnURL)
	}
	ret, err := e.p.ParseReturn(context.Background(), nil, form)
	if err != nil {
		t.Fatalf("ParseReturn of the page's form: %v", err)
	}
	return ret, true
}

func (e *env) payBySimulate(t *testing.T, c outcomeCase, o payment.Order) (payment.Return, bool) {
	ctx := context.Background()
	if c.outcome == sim.WrongPassword {
		for i := 1; i < sim.MaxPasswordTries; i++ {
			if u, found, err := e.sb.Simulate(ctx, o.OutTradeNo, c.outcome); u != "" || !found || err != nil {
				t.Fatalf("wrong try %d: %q %v %v", i, u, found, err)
			}
		}
	}
	u, found, err := e.sb.Simulate(ctx, o.OutTradeNo, c.outcome)
	if err != nil || !found {
		t.Fatalf("Simulate: found %v, %v", found, err)
	}
	if u == "" {
		return payment.Return{}, false
	}
	parsed, err := url.Parse(u)
	if err != nil || !strings.HasPrefix(u, o.ReturnURL+"?") {
		t.Fatalf("redirect %q does not go to the return URL", u)
	}
	ret, err := e.p.ParseReturn(ctx, parsed.Query(), url.Values{})
	if err != nil {
		t.Fatalf("ParseReturn of the redirect: %v", err)
	}
	return ret, true
}

func (e *env) checkNotes(t *testing.T, c outcomeCase, o payment.Order, settledAt time.Time) {
	if c.notes == 0 {
		time.Sleep(e.n.Scaled(sim.UnionPaySchedule[0]) * 3)
		if notes, tries, _ := e.rec.get(o.OutTradeNo); len(notes)+tries > 0 {
			t.Fatalf("%d notifications for an outcome that sends none", tries)
		}
		return
	}
	notes := e.waitNotes(t, o.OutTradeNo, c.notes)
	for _, n := range notes {
		if n.Status != payment.StatusPaid || n.Amount != o.Amount || n.Currency != "CNY" || n.TradeNo == "" ||
			n.TradeNo != n.EventID || !n.Final {
			t.Fatalf("notification = %+v", n.Notification)
		}
	}
	if c.late && notes[0].at.Sub(settledAt) < e.n.Scaled(sim.LateDelay) {
		t.Fatalf("late notification came after %v, before the late delay %v", notes[0].at.Sub(settledAt), e.n.Scaled(sim.LateDelay))
	}
}
