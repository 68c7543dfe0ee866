package adjust_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"im2pay/adjust"
	"im2pay/internal/figures"
	"im2pay/wallet"
)

func credit(name, amount string) adjust.Request {
	return adjust.Request{RequestKey: formKey(), Username: name, Direction: "credit", Amount: amount,
		Reason: "goodwill", Ticket: "T-9"}
}

// TestSmallAdjustmentsCannotAddUpPastTheThresholdWithoutApproval: a finance
// member splits ¥1,000 into ¥100 requests for one person. Up to the
// threshold (¥500) in a day they post alone; the rest wait for a second
// member; a day later (by the app's clock) one pair of eyes suffices again.
func TestSmallAdjustmentsCannotAddUpPastTheThresholdWithoutApproval(t *testing.T) {
	f := newFixture(t)
	u := f.user("split", 0)
	asker := f.staff("splitter")
	other := f.staff("otherfin")
	states := map[string]int{}
	for i := 0; i < 10; i++ {
		r := credit("split", "100")
		r.StaffID = asker
		if i%2 == 1 {
			r.StaffID = other // two members together count against the same day
		}
		a, err := f.svc.Request(f.ctx, r, entry(r.StaffID))
		if err != nil {
			t.Fatal(err)
		}
		states[a.State]++
	}
	through := max(states[adjust.StatePosted]-5, 0)
	figures.Record(t, "security", "adjustments: ¥1,000 split into ¥100 requests (¥500 may post alone a day)", 10, through)
	if states[adjust.StatePosted] != 5 || states[adjust.StateRequested] != 5 {
		t.Fatalf("states %v, want 5 posted and 5 waiting", states)
	}
	if got := f.balance(u); got != 500_00 {
		t.Fatalf("balance %s, want ¥500.00", got)
	}
	f.now = f.now.Add(adjust.SingleEyedWindow + time.Minute)
	r := credit("split", "100")
	r.StaffID = asker
	if a, err := f.svc.Request(f.ctx, r, entry(asker)); err != nil || a.State != adjust.StatePosted {
		t.Fatalf("a day later: %v, %v; want posted alone", a.State, err)
	}
}

// TestARepostedFormMakesNoSecondAdjustment: the same request key, posted
// again in turn and then ten times at once, finds the first adjustment.
func TestARepostedFormMakesNoSecondAdjustment(t *testing.T) {
	f := newFixture(t)
	u := f.user("repost", 0)
	asker := f.staff("reposter")
	r := credit("repost", "20")
	r.StaffID = asker
	first, err := f.svc.Request(f.ctx, r, entry(asker))
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.svc.Request(f.ctx, r, entry(asker))
	if err != nil || again.ID != first.ID {
		t.Fatalf("the same form again: id %d (%v), want %d", again.ID, err, first.ID)
	}
	r2 := credit("repost", "30")
	r2.StaffID = asker
	var wg sync.WaitGroup
	ids := make([]int64, 10)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := f.svc.Request(f.ctx, r2, entry(asker))
			if err != nil {
				t.Error(err)
			}
			ids[i] = a.ID
		}()
	}
	wg.Wait()
	through := 0
	for _, id := range ids {
		if id != ids[0] {
			through++
		}
	}
	figures.Record(t, "security", "adjustments: one form posted ten times at once", 10, through)
	if through > 0 {
		t.Fatalf("ten posts of one form made adjustments %v", ids)
	}
	if got := f.balance(u); got != wallet.Money(50_00) {
		t.Fatalf("balance %s, want ¥50.00 (¥20 and ¥30, once each)", got)
	}
	if n := f.auditCount("adjustment.request_repeat"); n != 10 {
		t.Fatalf("%d repeat lines in the audit log, want 10", n)
	}
}

// TestAFormWithoutAValidRequestKeyIsRefused: the key is checked like any
// field; a made-up one never reaches the database.
func TestAFormWithoutAValidRequestKeyIsRefused(t *testing.T) {
	f := newFixture(t)
	f.user("keyless", 0)
	asker := f.staff("keyless.asker")
	for _, key := range []string{"", "short", "has space in it 12345", "'; DROP TABLE adjustments; --"} {
		r := credit("keyless", "1")
		r.StaffID, r.RequestKey = asker, key
		if _, err := f.svc.Request(f.ctx, r, entry(asker)); !strings.Contains(fmt.Sprint(err), "adjust.form_expired") {
			t.Errorf("key %q: %v, want adjust.form_expired", key, err)
		}
	}
}
