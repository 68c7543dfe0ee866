package adjust_test

// Probes of a staff member gone bad on adjustments that the tests above
// did not try yet, each kept with its figures.

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"im2pay/adjust"
	"im2pay/internal/figures"
	"im2pay/wallet"
)

func hasProblem(err error, field string) bool {
	var p *wallet.Problem
	if errors.As(err, &p) && p.Field == field {
		return true
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if hasProblem(e, field) {
				return true
			}
		}
	}
	return false
}

// TestProbeAmountsAndReasonsAStaffMemberShouldNotGetThrough: negative,
// zero, fractional, huge and oddly written amounts; reasons with control
// characters, line breaks and the bidirectional overrides that make the
// person's statement line read otherwise than it is stored.
func TestProbeAmountsAndReasonsAStaffMemberShouldNotGetThrough(t *testing.T) {
	f := newFixture(t)
	u := f.user("target", 10_00)
	asker := f.staff("asker")
	attempts, through := 0, 0
	for _, amount := range []string{"-5", "-0.01", "0", "0.00", "0.001", "1e3", "NaN", "Inf", "0x10", "5,00", "+5",
		"１０", "99999999999999999999", "10000000000.01", "5 5", "\u200b5", "5\x00", ""} {
		for _, dir := range []string{"credit", "debit"} {
			attempts++
			_, err := f.svc.Request(f.ctx, adjust.Request{RequestKey: formKey(), Username: "target", Direction: dir, Amount: amount,
				Reason: "probe", Ticket: "T-P", StaffID: asker}, entry(asker))
			if !hasProblem(err, "amount") {
				through++
				t.Errorf("%s of %q: %v, want a problem on amount", dir, amount, err)
			}
		}
	}
	for _, reason := range []string{"ok\nsecond line", "ok\rline", "\x1b[31mred", "a\x00b", "退款\u202e001 ¥ 0001",
		"refund \u2066hidden\u2069", "line\u2028break", "para\u2029break", "rtl\u200fmark", "\u061cx"} {
		attempts++
		_, err := f.svc.Request(f.ctx, adjust.Request{RequestKey: formKey(), Username: "target", Direction: "credit", Amount: "1",
			Reason: reason, Ticket: "T-P", StaffID: asker}, entry(asker))
		if !hasProblem(err, "reason") {
			through++
			t.Errorf("reason %q: %v, want a problem on reason", reason, err)
		}
	}
	figures.Record(t, "security", "probe adjust: hostile amounts and reasons", attempts, through)
	var n int
	_ = f.store.DB().GetContext(f.ctx, &n, `SELECT count(*) FROM adjustments`)
	if got := f.balance(u); got != 10_00 || n != 0 {
		t.Fatalf("balance %s and %d adjustments after refusals", got, n)
	}
}

// TestProbeAStaleApprovalAfterARejectionMovesNothing: a second staff
// member's approve form, opened before a colleague rejected the request,
// is sent afterwards (and the other way round).
func TestProbeAStaleApprovalAfterARejectionMovesNothing(t *testing.T) {
	f := newFixture(t)
	u := f.user("stale", 1000_00)
	asker, one, two := f.staff("asker"), f.staff("one"), f.staff("two")
	attempts, through := 0, 0
	for _, dir := range []string{"credit", "debit"} {
		a, err := f.svc.Request(f.ctx, adjust.Request{RequestKey: formKey(), Username: "stale", Direction: dir, Amount: "600",
			Reason: "probe", Ticket: "T-S", StaffID: asker}, entry(asker))
		if err != nil || a.State != adjust.StateRequested {
			t.Fatalf("%s request: %+v %v", dir, a, err)
		}
		if _, err := f.svc.Reject(f.ctx, a.ID, one, entry(one)); err != nil {
			t.Fatal(err)
		}
		for _, who := range []int64{one, two, asker} {
			attempts++
			if _, err := f.svc.Approve(f.ctx, a.ID, who, entry(who)); !errors.Is(err, adjust.ErrAlreadyDecided) && !errors.Is(err, adjust.ErrOwnRequest) {
				through++
				t.Errorf("approving a rejected %s as %d: %v", dir, who, err)
			}
		}
	}
	attempts++
	if _, err := f.svc.Approve(f.ctx, 1<<40, two, entry(two)); !errors.Is(err, adjust.ErrNotFound) {
		through++
		t.Errorf("approving an adjustment that does not exist: %v", err)
	}
	figures.Record(t, "security", "probe adjust: approvals after a rejection, and of a made-up id", attempts, through)
	if got := f.balance(u); got != 1000_00 {
		t.Fatalf("balance %s, want ¥1000.00 untouched", got)
	}
}

// TestProbeDebitsRacingEachOtherNeverGoBelowZero: twenty debits of ¥30 at
// once against ¥100 (each alone covered): three post, the rest are
// shortfalls, and the balance ends at ¥10, never below zero.
func TestProbeDebitsRacingEachOtherNeverGoBelowZero(t *testing.T) {
	f := newFixture(t)
	u := f.user("racer", 100_00)
	asker := f.staff("asker")
	var wg sync.WaitGroup
	var mu sync.Mutex
	posted, short := 0, 0
	const debits = 20
	for i := range debits {
		wg.Go(func() {
			_, err := f.svc.Request(f.ctx, adjust.Request{RequestKey: formKey(), Username: "racer", Direction: "debit", Amount: "30",
				Reason: "race", Ticket: fmt.Sprintf("T-R%d", i), StaffID: asker}, entry(asker))
			var s *adjust.Shortfall
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				posted++
			case errors.As(err, &s):
				short++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := f.balance(u)
	over := 0
	if posted > 3 {
		over = posted - 3
	}
	figures.Record(t, "security", "probe adjust: 20 concurrent debits of ¥30 against ¥100 (debits past the floor)", debits, over)
	if posted != 3 || short != debits-3 || got != 10_00 {
		t.Fatalf("%d posted, %d shortfalls, balance %s; want 3, %d, ¥10.00", posted, short, got, debits-3)
	}
}
