package adjust_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/adjust"
	"im2pay/audit"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/ledger"
	"im2pay/views/i18n"
	"im2pay/wallet"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type fixture struct {
	t      *testing.T
	ctx    context.Context
	store  *db.Store
	ledger *ledger.Ledger
	wallet *wallet.Service
	svc    *adjust.Service
	now    time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store := db.New(dbtest.New(t))
	led := ledger.New(store)
	f := &fixture{t: t, ctx: context.Background(), store: store, ledger: led,
		now: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	// The app's clock is f.now, which a test may move.
	clock := func() time.Time { return f.now }
	acc := account.NewService(store, account.Options{Now: clock, Ledger: led})
	f.wallet = wallet.NewService(store, wallet.Options{Accounts: acc, Now: clock, Ledger: led})
	f.svc = adjust.NewService(store, adjust.Options{Ledger: led, Accounts: acc, Now: clock})
	return f
}

// user creates a person holding balance fen.
func (f *fixture) user(name string, balance wallet.Money) account.User {
	f.t.Helper()
	var u account.User
	err := f.store.InTx(f.ctx, func(tx *sqlx.Tx) error {
		var err error
		u, err = account.CreateUser(f.ctx, tx, name, "x")
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	if balance > 0 {
		if _, err := f.wallet.Grant(f.ctx, u.ID, balance, "grant:test:"+name, "test"); err != nil {
			f.t.Fatal(err)
		}
	}
	return u
}

func (f *fixture) staff(name string) int64 {
	f.t.Helper()
	var id int64
	err := f.store.DB().GetContext(f.ctx, &id, `INSERT INTO staff (name, role, password_hash, created_at)
		VALUES ($1, 'finance', 'x', now()) RETURNING id`, name)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

func (f *fixture) balance(u account.User) wallet.Money {
	f.t.Helper()
	b, err := f.ledger.Balance(f.ctx, u.WalletID)
	if err != nil {
		f.t.Fatal(err)
	}
	return wallet.Money(b)
}

func (f *fixture) auditCount(action string) int {
	f.t.Helper()
	var n int
	if err := f.store.DB().GetContext(f.ctx, &n, `SELECT count(*) FROM audit_log WHERE action = $1`, action); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func entry(staffID int64) audit.Entry {
	return audit.Entry{StaffID: staffID, StaffName: "s", ClientIP: "127.0.0.1"}
}

func TestASmallAdjustmentIsPostedAtOnceWithItsReasonInThePersonsLanguage(t *testing.T) {
	f := newFixture(t)
	u := f.user("alice", 10_00)
	asker := f.staff("asker")
	// The IM backend hears of it as of any balance change.
	if _, err := f.store.DB().ExecContext(f.ctx, `UPDATE webhook_settings SET enabled = true`); err != nil {
		t.Fatal(err)
	}
	a, err := f.svc.Request(f.ctx, adjust.Request{RequestKey: formKey(), Username: "alice", Direction: "credit", Amount: "12.50",
		Reason: "退还重复扣费 100%", Ticket: "T-1", StaffID: asker}, entry(asker))
	if err != nil {
		t.Fatal(err)
	}
	if a.State != adjust.StatePosted || a.TransactionID == nil || a.DecidedBy != nil {
		t.Fatalf("adjustment = %+v, want posted by nobody's second decision", a)
	}
	if got := f.balance(u); got != 22_50 {
		t.Fatalf("balance = %s, want ¥22.50", got)
	}
	var desc string
	if err := f.store.DB().GetContext(f.ctx, &desc, `SELECT description FROM ledger_transactions WHERE id = $1`, *a.TransactionID); err != nil {
		t.Fatal(err)
	}
	zh := i18n.Describe(i18n.WithLocale(f.ctx, i18n.ZH, time.UTC), desc)
	en := i18n.Describe(i18n.WithLocale(f.ctx, i18n.EN, time.UTC), desc)
	if zh != "客服调整：退还重复扣费 100%" || en != "Adjustment by support: 退还重复扣费 100%" {
		t.Fatalf("described as %q / %q", zh, en)
	}
	var event string
	if err := f.store.DB().GetContext(f.ctx, &event, `SELECT type FROM webhook_events WHERE user_id = $1 AND amount = 1250`, u.ID); err != nil || event != "adjustment" {
		t.Fatalf("webhook event %q, %v; want adjustment", event, err)
	}
	if n := f.auditCount("adjustment.post"); n != 1 {
		t.Fatalf("%d audit lines for the posting, want 1", n)
	}
	if total, _ := f.ledger.SystemAccountTotal(f.ctx, adjust.SystemAccount); total != -12_50 {
		t.Fatalf("adjustments account holds %d, want -1250", total)
	}
}

func TestEveryFieldIsCheckedAndReportedAtOnce(t *testing.T) {
	f := newFixture(t)
	asker := f.staff("asker")
	_, err := f.svc.Request(f.ctx, adjust.Request{RequestKey: formKey(), Username: "nobody", Direction: "steal", Amount: "0",
		Reason: " ", Ticket: "a\x00b", StaffID: asker}, entry(asker))
	want := map[string]string{"user": "adjust.user_unknown", "direction": "adjust.direction",
		"amount": "adjust.amount_zero", "reason": "adjust.reason_empty", "ticket": "adjust.ticket_invalid"}
	for field, code := range want {
		found := false
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			var p *wallet.Problem
			if errors.As(e, &p) && p.Field == field && p.Code == code {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s on %s in %v", code, field, err)
		}
	}
}

func TestADebitNeverTakesAWalletBelowZero(t *testing.T) {
	f := newFixture(t)
	u := f.user("bob", 5_00)
	asker := f.staff("asker")
	_, err := f.svc.Request(f.ctx, adjust.Request{RequestKey: formKey(), Username: "bob", Direction: "debit", Amount: "5.01",
		Reason: "wrong bonus", Ticket: "T-2", StaffID: asker}, entry(asker))
	var short *adjust.Shortfall
	if !errors.As(err, &short) || short.Missing() != 1 {
		t.Fatalf("err = %v, want a shortfall of 1 fen", err)
	}
	if got := f.balance(u); got != 5_00 {
		t.Fatalf("balance = %s after a refused debit", got)
	}
	var n int
	_ = f.store.DB().GetContext(f.ctx, &n, `SELECT count(*) FROM adjustments`)
	if n != 0 || f.auditCount("adjustment.post") != 0 {
		t.Fatalf("a refused debit left %d adjustments or an audit line", n)
	}
}

func TestALargeAdjustmentWaitsForASecondStaffMember(t *testing.T) {
	f := newFixture(t)
	u := f.user("carol", 0)
	asker, second := f.staff("asker"), f.staff("second")
	a, err := f.svc.Request(f.ctx, adjust.Request{RequestKey: formKey(), Username: "carol", Direction: "credit", Amount: "500.01",
		Reason: "compensation", Ticket: "T-3", StaffID: asker}, entry(asker))
	if err != nil || a.State != adjust.StateRequested {
		t.Fatalf("request = %+v, %v; want it waiting", a, err)
	}
	if got := f.balance(u); got != 0 {
		t.Fatalf("balance = %s before approval", got)
	}
	if _, err := f.svc.Approve(f.ctx, a.ID, asker, entry(asker)); !errors.Is(err, adjust.ErrOwnRequest) {
		t.Fatalf("the asker's own approval: %v, want ErrOwnRequest", err)
	}
	// The database refuses it too, whatever the code above it does.
	_, err = f.store.DB().ExecContext(f.ctx, `UPDATE adjustments SET state = 'rejected', decided_by = requested_by,
		decided_at = now() WHERE id = $1`, a.ID)
	if err == nil {
		t.Fatal("the database let the requester decide their own adjustment")
	}

	// Ten approvals at once: one posts, the others find it decided.
	var wg sync.WaitGroup
	var mu sync.Mutex
	posted, decided := 0, 0
	for range 10 {
		wg.Go(func() {
			_, err := f.svc.Approve(f.ctx, a.ID, second, entry(second))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				posted++
			case errors.Is(err, adjust.ErrAlreadyDecided):
				decided++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if posted != 1 || decided != 9 {
		t.Fatalf("%d approvals posted and %d found it decided, want 1 and 9", posted, decided)
	}
	if got := f.balance(u); got != 500_01 {
		t.Fatalf("balance = %s, want ¥500.01 once", got)
	}
	if f.auditCount("adjustment.request") != 1 || f.auditCount("adjustment.approve") != 1 {
		t.Fatal("want one audit line for the request and one for the approval")
	}
	if _, err := f.svc.Reject(f.ctx, a.ID, second, entry(second)); !errors.Is(err, adjust.ErrAlreadyDecided) {
		t.Fatalf("rejecting a posted adjustment: %v", err)
	}
}

func TestAnApprovedDebitTheWalletNoLongerCoversIsRefusedWithTheShortfall(t *testing.T) {
	f := newFixture(t)
	u := f.user("dave", 600_00)
	asker, second := f.staff("asker"), f.staff("second")
	a, err := f.svc.Request(f.ctx, adjust.Request{RequestKey: formKey(), Username: "dave", Direction: "debit", Amount: "600",
		Reason: "chargeback", Ticket: "T-4", StaffID: asker}, entry(asker))
	if err != nil {
		t.Fatal(err)
	}
	// Meanwhile the person spends ¥100 of it.
	small, err := f.svc.Request(f.ctx, adjust.Request{RequestKey: formKey(), Username: "dave", Direction: "debit", Amount: "100",
		Reason: "spent", Ticket: "T-5", StaffID: asker}, entry(asker))
	if err != nil || small.State != adjust.StatePosted {
		t.Fatal(small, err)
	}
	_, err = f.svc.Approve(f.ctx, a.ID, second, entry(second))
	var short *adjust.Shortfall
	if !errors.As(err, &short) || short.Missing() != 100_00 {
		t.Fatalf("approval: %v, want a shortfall of ¥100", err)
	}
	if got := f.balance(u); got != 500_00 {
		t.Fatalf("balance = %s", got)
	}
	pending, err := f.svc.Pending(f.ctx, 10)
	if err != nil || len(pending) != 1 || pending[0].ID != a.ID {
		t.Fatalf("pending = %+v, %v; the refused approval must leave the request waiting", pending, err)
	}
	r, err := f.svc.Reject(f.ctx, a.ID, second, entry(second))
	if err != nil || r.State != adjust.StateRejected {
		t.Fatalf("reject: %+v %v", r, err)
	}
}

// keys counts the request keys the tests made, so each is new.
var keys atomic.Int64

// formKey is a new request key, as a rendered form would carry.
func formKey() string { return fmt.Sprintf("test-form-key-%08d", keys.Add(1)) }
