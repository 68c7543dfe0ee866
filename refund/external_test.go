package refund_test

import (
	"errors"
	"sync"
	"testing"

	"im2pay/internal/figures"
	alipaysandbox "im2pay/payment/sandbox/alipay"
	"im2pay/refund"
)

// externalRefunds waits until the order has n external refunds booked.
func (f *fixture) externalRefunds(no string, n int) []refund.Refund {
	f.t.Helper()
	var got []refund.Refund
	f.waitUntil("external refunds booked", func() bool {
		all, err := f.svc.OfOrder(f.ctx, no)
		if err != nil {
			f.t.Fatal(err)
		}
		got = got[:0]
		for _, r := range all {
			if r.External {
				got = append(got, r)
			}
		}
		return len(got) >= n
	})
	return got
}

func TestAPortalRefundArrivesByNotificationAndIsBookedOnceNeverAsAPayment(t *testing.T) {
	f := newFixture(t)
	u := f.user("portal")
	o := f.paid(u.ID, "68.00", "portal-key-000000001")
	if _, err := f.gw.Alipay.PortalRefund(o.OutTradeNo, 20_00); err != nil {
		t.Fatal(err)
	}
	r := f.externalRefunds(o.OutTradeNo, 1)[0]
	if r.Amount != 20_00 || r.Clawback != 276 || r.State != refund.StateSucceeded || r.Debt != 0 {
		t.Fatalf("external refund = %+v", r)
	}
	if b := f.balance(u); b != wallet68-20_00-276 {
		t.Fatalf("wallet %d", b)
	}
	// The notification was recorded as a refund, and the order stays paid,
	// credited once.
	if n := f.count(`SELECT count(*) FROM payment_events WHERE out_trade_no = $1 AND status = 'refund_succeeded'`, o.OutTradeNo); n < 1 {
		t.Fatal("the refund notification was not recorded")
	}
	if n := f.count(`SELECT count(*) FROM ledger_transactions WHERE reference = $1 AND kind = 'topup'`, "order:"+o.OutTradeNo); n != 1 {
		t.Fatalf("%d top-ups of the order", n)
	}
	// A second portal refund: refund_fee is the running total, so only
	// the new part is booked.
	if _, err := f.gw.Alipay.PortalRefund(o.OutTradeNo, 10_00); err != nil {
		t.Fatal(err)
	}
	got := f.externalRefunds(o.OutTradeNo, 2)
	if got[0].Amount != 10_00 {
		t.Fatalf("second external refund = %+v", got[0])
	}
}

func TestAPortalRefundBeyondTheWalletLeavesADebtTheNextTopUpRepaysFirst(t *testing.T) {
	f := newFixture(t)
	u := f.user("debtor")
	o := f.paid(u.ID, "68.00", "debt-key-00000000001")
	f.spend(u, wallet68-10_00, "spent-debtor-1") // ¥10.00 left
	if _, err := f.gw.Alipay.PortalRefund(o.OutTradeNo, 50_00); err != nil {
		t.Fatal(err)
	}
	r := f.externalRefunds(o.OutTradeNo, 1)[0]
	// ¥50.00 and 691 fen of bonus (940 × 50/68 = 691.18): ¥10.00 from the
	// wallet, ¥46.91 owed.
	if r.Amount != 50_00 || r.Clawback != 691 || r.Debt != 50_00+691-10_00 {
		t.Fatalf("external refund = %+v", r)
	}
	if b := f.balance(u); b != 0 {
		t.Fatalf("wallet %d, want 0", b)
	}
	if d, err := f.svc.Debt(f.ctx, u.ID); err != nil || d != r.Debt {
		t.Fatalf("debt = %d, %v; want %d", d, err, r.Debt)
	}
	// The next top-up (¥30.00, no bonus) repays ¥30.00 of it at once.
	f.paid(u.ID, "30.00", "debt-key-00000000002")
	if b := f.balance(u); b != 0 {
		t.Fatalf("wallet %d after a top-up smaller than the debt, want 0", b)
	}
	if d, _ := f.svc.Debt(f.ctx, u.ID); d != r.Debt-30_00 {
		t.Fatalf("debt %d after repaying ¥30.00", d)
	}
	// The next one repays the rest and keeps what is over.
	f.paid(u.ID, "68.00", "debt-key-00000000003")
	if d, _ := f.svc.Debt(f.ctx, u.ID); d != 0 {
		t.Fatalf("debt %d, want 0", d)
	}
	if b, want := f.balance(u), int64(68_00+3_40)-(r.Debt-30_00); b != want {
		t.Fatalf("wallet %d, want %d", b, want)
	}
}

func TestAtMostOneRefundOfAnOrderIsOpenAtATime(t *testing.T) {
	f := newFixture(t)
	u := f.user("twice")
	o := f.paid(u.ID, "68.00", "twice-key-0000000001")
	// The person asks ten times at once: one request stands.
	const tries = 10
	var wg sync.WaitGroup
	errs := make([]error, tries)
	for i := range tries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: 10_00, Reason: "不想要了", UserID: u.ID}, entry(0))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, refund.ErrOpen):
			t.Fatalf("a concurrent request: %v", err)
		}
	}
	figures.Record(t, "security", "refund: ten requests of one order at once", tries, ok-1)
	if ok != 1 {
		t.Fatalf("%d requests stand, want 1", ok)
	}
	// Staff cannot send another while it waits.
	asker := f.staff("finance1")
	if _, err := f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: 10_00, StaffID: asker}, entry(asker)); !errors.Is(err, refund.ErrOpen) {
		t.Fatalf("a second refund while one waits: %v", err)
	}
	// The database refuses a second open one however it is written.
	_, err := f.store.DB().ExecContext(f.ctx, `INSERT INTO refunds (order_id, out_trade_no, user_id, method, request_no,
		amount, clawback, state, asked_by_user, requested_at) SELECT id, out_trade_no, user_id, method, 'RFhandwritten0000000001',
		100, 0, 'in_flight', user_id, now() FROM recharge_orders WHERE out_trade_no = $1`, o.OutTradeNo)
	if err == nil {
		t.Fatal("a second open refund was written by hand")
	}
}

func TestTwoStaffRefundsAtOnceNeverRefundMoreThanTheOrder(t *testing.T) {
	f := newFixture(t)
	u := f.user("race")
	o := f.paid(u.ID, "68.00", "race-key-00000000001")
	asker := f.staff("finance1")
	const tries = 8
	var wg sync.WaitGroup
	for range tries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: 40_00, StaffID: asker}, entry(asker))
		}()
	}
	wg.Wait()
	var refunded int64
	if err := f.store.DB().GetContext(f.ctx, &refunded, `SELECT coalesce(sum(amount), 0) FROM refunds
		WHERE out_trade_no = $1 AND state IN ('in_flight', 'succeeded')`, o.OutTradeNo); err != nil {
		t.Fatal(err)
	}
	through := 0
	if refunded > paid68 {
		through = 1
	}
	figures.Record(t, "security", "refund: eight refunds of ¥40 of one ¥68 order at once", tries, through)
	if refunded != 40_00 {
		t.Fatalf("refunded %d of a %d order, want one ¥40.00 refund", refunded, paid68)
	}
}

func TestARefundAboveTheThresholdNeedsASecondStaffMember(t *testing.T) {
	f := newFixture(t)
	u := f.user("foureyes")
	o := f.paid(u.ID, "648.00", "foureyes-key-0000001")
	asker, second := f.staff("finance1"), f.staff("finance2")
	r, err := f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: 600_00, StaffID: asker}, entry(asker))
	if err != nil || r.State != refund.StateRequested {
		t.Fatalf("refund above the threshold = %+v, %v; want requested", r, err)
	}
	before := f.balance(u)
	if _, err := f.svc.Approve(f.ctx, r.ID, asker, entry(asker)); !errors.Is(err, refund.ErrOwnRequest) {
		t.Fatalf("the asker's approval: %v", err)
	}
	// Nor by hand: the database's CHECK.
	if _, err := f.store.DB().ExecContext(f.ctx, `UPDATE refunds SET approved_by = asked_by_staff WHERE id = $1`, r.ID); err == nil {
		t.Fatal("the asker approved by hand")
	}
	figures.Record(t, "security", "refund: the asker approves their own refund (service, SQL)", 2, 0)
	if f.balance(u) != before {
		t.Fatal("money moved before approval")
	}
	var wg sync.WaitGroup
	results := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i] = f.svc.Approve(f.ctx, r.ID, second, entry(second))
		}()
	}
	wg.Wait()
	if (results[0] == nil) == (results[1] == nil) || !(errors.Is(results[0], refund.ErrNotDecidable) || errors.Is(results[1], refund.ErrNotDecidable)) {
		t.Fatalf("two approvals at once: %v / %v; want one", results[0], results[1])
	}
	after, _ := f.svc.Get(f.ctx, r.ID)
	if after.State != refund.StateSucceeded || !after.ApprovedBy.Valid || after.ApprovedBy.Int64 != second {
		t.Fatalf("after approval: %+v", after)
	}
	if n := f.count(`SELECT count(*) FROM ledger_transactions WHERE idempotency_key = $1`, "refund:"+r.RequestNo); n != 1 {
		t.Fatalf("%d debits", n)
	}
}

func TestAPersonAsksForARefundOfAnUnspentTopUpAndFinanceApprovesIt(t *testing.T) {
	f := newFixture(t)
	u, other := f.user("asker"), f.user("other")
	o := f.paid(u.ID, "68.00", "person-key-000000001")
	if _, err := f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: paid68, Reason: "买错了", UserID: other.ID}, entry(0)); !errors.Is(err, refund.ErrNotOwner) {
		t.Fatalf("someone else's order: %v", err)
	}
	if _, err := f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: paid68, UserID: u.ID}, entry(0)); !errors.Is(err, refund.ErrReason) {
		t.Fatalf("no reason: %v", err)
	}
	// Spent: the wallet no longer covers refund and clawback.
	f.spend(u, 5_00, "spent-asker-1")
	var short *refund.Shortfall
	if _, err := f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: paid68, Reason: "买错了", UserID: u.ID}, entry(0)); !errors.As(err, &short) ||
		short.Missing() != 5_00 {
		t.Fatalf("a spent top-up: %v", err)
	}
	r, err := f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: 60_00, Reason: "买错了", UserID: u.ID}, entry(0))
	if err != nil || r.State != refund.StateRequested {
		t.Fatalf("request = %+v, %v", r, err)
	}
	fin := f.staff("finance1")
	after, err := f.svc.Approve(f.ctx, r.ID, fin, entry(fin))
	if err != nil || after.State != refund.StateSucceeded {
		t.Fatalf("approved = %+v, %v", after, err)
	}
	mine, err := f.svc.OfUser(f.ctx, u.ID, 10)
	if err != nil || len(mine) != 1 || mine[0].ID != r.ID {
		t.Fatalf("the person's refunds: %+v, %v", mine, err)
	}
}

func TestARequestOvertakenByAPortalRefundCannotBeApprovedButCanBeRejected(t *testing.T) {
	f := newFixture(t)
	u := f.user("overtaken")
	o := f.paid(u.ID, "68.00", "overtaken-key-000001")
	r, err := f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: 60_00, Reason: "买错了", UserID: u.ID}, entry(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.gw.Alipay.PortalRefund(o.OutTradeNo, 20_00); err != nil {
		t.Fatal(err)
	}
	f.externalRefunds(o.OutTradeNo, 1)
	fin := f.staff("finance1")
	if _, err := f.svc.Approve(f.ctx, r.ID, fin, entry(fin)); !errors.Is(err, refund.ErrTooMuch) {
		t.Fatalf("approving more than is left: %v", err)
	}
	if after, err := f.svc.Reject(f.ctx, r.ID, fin, entry(fin)); err != nil || after.State != refund.StateRejected {
		t.Fatalf("reject = %+v, %v", after, err)
	}
	if b := f.balance(u); b != wallet68-20_00-276 {
		t.Fatalf("wallet %d", b)
	}
}

// TestAPortalRefundWhileOursIsInFlightIsBookedInFull: our refund of ¥10.00
// is in flight (Alipay answered ACQ.SYSTEM_ERROR: nothing refunded there
// yet) when the merchant refunds ¥20.00 of the same order in Alipay's
// portal. The portal refund's notification says only refund_fee, the
// total Alipay refunded so far (¥20.00); taking what we hold as refunded
// (our ¥10.00 in flight) from it booked ¥10.00 of the ¥20.00. Its amount
// must come from Alipay's record of that refund request (the refund query
// by its out_request_no), whatever ours is doing.
func TestAPortalRefundWhileOursIsInFlightIsBookedInFull(t *testing.T) {
	f := newFixture(t)
	u := f.user("portalrace")
	o := f.paid(u.ID, "68.00", "portalrace-key-00001")
	asker := f.staff("finance1")
	clearing0 := f.system("clearing:alipay")
	f.gw.Alipay.FailNextRefund(o.OutTradeNo, alipaysandbox.FaultSystemError)
	ours, err := f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: 10_00, StaffID: asker}, entry(asker))
	if err != nil || ours.State != refund.StateInFlight {
		t.Fatalf("our refund = %+v, %v; want in flight", ours, err)
	}
	if _, err := f.gw.Alipay.PortalRefund(o.OutTradeNo, 20_00); err != nil {
		t.Fatal(err)
	}
	ext := f.externalRefunds(o.OutTradeNo, 1)[0]
	if ext.Amount != 20_00 {
		t.Fatalf("the portal refund of ¥20.00 was booked as %d", ext.Amount)
	}
	// Ours is sent again under its number and completes: ¥30.00 in all.
	f.later(2 * refund.DefaultCheckAfter)
	if p, err := f.svc.Pass(f.ctx); err != nil || p.Finished != 1 {
		t.Fatalf("pass = %+v, %v", p, err)
	}
	if after, _ := f.svc.Get(f.ctx, ours.ID); after.State != refund.StateSucceeded || after.Amount != 10_00 {
		t.Fatalf("our refund after the pass: %+v", after)
	}
	if got := f.system("clearing:alipay") - clearing0; got != 30_00 {
		t.Fatalf("clearing got back %d, want 3000", got)
	}
	if got := f.system(refund.InFlightAccount); got != 0 {
		t.Fatalf("in flight %d", got)
	}
}
