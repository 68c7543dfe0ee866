package refund_test

import (
	"errors"
	"testing"

	alipaysandbox "im2pay/payment/sandbox/alipay"
	"im2pay/refund"
)

// ¥68.00 paid by a first top-up earns 5% (¥3.40) and the first top-up's
// ¥6.00: ¥9.40 of bonus, ¥77.40 in the wallet.
const (
	paid68   = 68_00
	bonus68  = 3_40 + 6_00
	wallet68 = paid68 + bonus68
)

func TestRefundClawbackIsProRataRoundedHalfUpAndNeverMoreThanTheBonus(t *testing.T) {
	cases := []struct {
		name                                        string
		bonus, amount, refundedBefore, clawedBefore int64
		refund, want                                int64
	}{
		{"a full refund takes the whole bonus", 940, 6800, 0, 0, 6800, 940},
		{"a partial refund takes its share, half up", 940, 6800, 0, 0, 2000, 276}, // 276.47
		{"the rest takes the rest, exactly", 940, 6800, 2000, 276, 4800, 664},     // 940 - 276
		{"three thirds add up to the bonus", 100, 300, 200, 67, 100, 33},          // 33.3, 66.7→67, 100
		{"a half fen rounds up", 1, 2, 0, 0, 1, 1},                                // 0.5
		{"an order without bonus claws nothing", 0, 6800, 0, 0, 6800, 0},
		{"more than the order is capped at the bonus", 940, 6800, 6000, 900, 6800, 40},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := refund.Clawback(c.bonus, c.amount, c.refundedBefore, c.clawedBefore, c.refund); got != c.want {
				t.Fatalf("Clawback = %d, want %d", got, c.want)
			}
		})
	}
}

func TestAFullRefundThroughAlipayReturnsTheMoneyAndTheBonusToTheBudget(t *testing.T) {
	f := newFixture(t)
	u := f.user("fullrefund")
	o := f.paid(u.ID, "68.00", "full-refund-key-0001")
	asker := f.staff("finance1")
	clearing0, promo0 := f.system("clearing:alipay"), f.system("promotion")

	q, err := f.svc.Preview(f.ctx, o.OutTradeNo, paid68)
	if err != nil || q.Clawback != bonus68 || q.Total() != wallet68 {
		t.Fatalf("preview = %+v, %v", q, err)
	}
	r, err := f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: paid68, Reason: "客户要求", StaffID: asker}, entry(asker))
	if err != nil || r.State != refund.StateSucceeded || r.Clawback != bonus68 {
		t.Fatalf("refund = %+v, %v", r, err)
	}
	if b := f.balance(u); b != 0 {
		t.Fatalf("wallet %d after a full refund, want 0", b)
	}
	if got := f.system(refund.InFlightAccount); got != 0 {
		t.Fatalf("in flight %d, want 0", got)
	}
	if got := f.system("clearing:alipay") - clearing0; got != paid68 {
		t.Fatalf("clearing moved %d, want %d", got, paid68)
	}
	if got := f.system("promotion") - promo0; got != bonus68 {
		t.Fatalf("promotion got back %d, want %d", got, bonus68)
	}
	// The person's statement shows the two lines.
	if n := f.count(`SELECT count(*) FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
		WHERE e.account_id = $1 AND t.description IN ('refund', 'refund_clawback')`, u.WalletID); n != 2 {
		t.Fatalf("%d refund lines in the wallet, want 2", n)
	}
	if n := f.count(`SELECT count(*) FROM audit_log WHERE action = 'refund.send' AND object_id = $1`, itoa(r.ID)); n != 1 {
		t.Fatalf("%d audit lines", n)
	}
	// Nothing is left to refund.
	if _, err := f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: 1, StaffID: asker}, entry(asker)); !errors.Is(err, refund.ErrTooMuch) {
		t.Fatalf("a refund beyond the order: %v", err)
	}
}

func TestPartialRefundsClawBackTheirShareAndTogetherTheWholeBonus(t *testing.T) {
	f := newFixture(t)
	u := f.user("partial")
	o := f.paid(u.ID, "68.00", "partial-key-00000001")
	asker := f.staff("finance1")
	r1, err := f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: 20_00, StaffID: asker}, entry(asker))
	if err != nil || r1.State != refund.StateSucceeded || r1.Clawback != 276 {
		t.Fatalf("first partial refund = %+v, %v", r1, err)
	}
	if b := f.balance(u); b != wallet68-20_00-276 {
		t.Fatalf("wallet %d after the first refund", b)
	}
	r2, err := f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: 48_00, StaffID: asker}, entry(asker))
	if err != nil || r2.State != refund.StateSucceeded || r2.Clawback != bonus68-276 {
		t.Fatalf("second partial refund = %+v, %v", r2, err)
	}
	if b := f.balance(u); b != 0 {
		t.Fatalf("wallet %d after refunding everything", b)
	}
}

func TestARefundAlipayRefusesIsReversedToTheWallet(t *testing.T) {
	f := newFixture(t)
	u := f.user("refused")
	o := f.paid(u.ID, "68.00", "refused-key-00000001")
	asker := f.staff("finance1")
	f.gw.Alipay.FailNextRefund(o.OutTradeNo, alipaysandbox.FaultSellerBalance)
	r, err := f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: 30_00, StaffID: asker}, entry(asker))
	if err != nil || r.State != refund.StateFailed || r.Failure != "merchant_funds" || r.Detail != "ACQ.SELLER_BALANCE_NOT_ENOUGH" {
		t.Fatalf("refund = %+v, %v", r, err)
	}
	if b := f.balance(u); b != wallet68 {
		t.Fatalf("wallet %d after a refused refund, want %d back", b, wallet68)
	}
	if got := f.system(refund.InFlightAccount); got != 0 {
		t.Fatalf("in flight %d, want 0", got)
	}
	// The order can be refunded again once the refusal is booked.
	if r2, err := f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: 30_00, StaffID: asker}, entry(asker)); err != nil || r2.State != refund.StateSucceeded {
		t.Fatalf("refund after the refusal = %+v, %v", r2, err)
	}
}

func TestARefundWhoseAnswerIsLostIsQueriedAndCompletedOnce(t *testing.T) {
	f := newFixture(t)
	u := f.user("lost")
	o := f.paid(u.ID, "68.00", "lost-key-00000000001")
	asker := f.staff("finance1")
	f.gw.Alipay.FailNextRefund(o.OutTradeNo, alipaysandbox.FaultLoseAnswer)
	r, err := f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: 68_00, StaffID: asker}, entry(asker))
	if err != nil || r.State != refund.StateInFlight {
		t.Fatalf("refund with a lost answer = %+v, %v; want in flight", r, err)
	}
	if b := f.balance(u); b != 0 {
		t.Fatalf("wallet %d while in flight: the money must not be spendable", b)
	}
	// Before it is due, the pass leaves it alone.
	if p, err := f.svc.Pass(f.ctx); err != nil || p.Checked != 0 {
		t.Fatalf("early pass = %+v, %v", p, err)
	}
	// The failed call doubled the pause before the first check.
	f.later(2 * refund.DefaultCheckAfter)
	p, err := f.svc.Pass(f.ctx)
	if err != nil || p.Checked != 1 || p.Finished != 1 || p.Resent != 0 {
		t.Fatalf("pass = %+v, %v", p, err)
	}
	after, err := f.svc.Get(f.ctx, r.ID)
	if err != nil || after.State != refund.StateSucceeded {
		t.Fatalf("after the pass: %+v, %v", after, err)
	}
	f.later(refund.DefaultCheckAfter)
	if p, err := f.svc.Pass(f.ctx); err != nil || p.Checked != 0 {
		t.Fatalf("second pass = %+v, %v", p, err)
	}
	if n := f.count(`SELECT count(*) FROM ledger_transactions WHERE idempotency_key LIKE 'refund-done:%'`); n != 1 {
		t.Fatalf("%d completions, want 1", n)
	}
	if got := f.system(refund.InFlightAccount); got != 0 || f.balance(u) != 0 {
		t.Fatalf("in flight %d, wallet %d", got, f.balance(u))
	}
}

func TestARefundWithAnUnknownOutcomeIsSentAgainUnderTheSameNumber(t *testing.T) {
	f := newFixture(t)
	u := f.user("systemerror")
	o := f.paid(u.ID, "68.00", "syserr-key-000000001")
	asker := f.staff("finance1")
	f.gw.Alipay.FailNextRefund(o.OutTradeNo, alipaysandbox.FaultSystemError)
	r, err := f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: 10_00, StaffID: asker}, entry(asker))
	if err != nil || r.State != refund.StateInFlight || r.CheckFailures != 1 {
		t.Fatalf("refund after ACQ.SYSTEM_ERROR = %+v, %v", r, err)
	}
	f.later(2 * refund.DefaultCheckAfter)
	p, err := f.svc.Pass(f.ctx)
	if err != nil || p.Resent != 1 || p.Finished != 1 {
		t.Fatalf("pass = %+v, %v", p, err)
	}
	if after, _ := f.svc.Get(f.ctx, r.ID); after.State != refund.StateSucceeded || after.RequestNo != r.RequestNo {
		t.Fatalf("after the pass: %+v", after)
	}
}

func itoa(n int64) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}
