package center

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/ledger"
	"im2pay/spend"
	"im2pay/wallet"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// fixture is a fresh database with one person, a ledger, spending and the
// center over it.
type fixture struct {
	t      testing.TB
	ctx    context.Context
	store  *db.Store
	ledger *ledger.Ledger
	spend  *spend.Service
	center *Service
	user   account.User
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	conn := dbtest.New(t)
	f := &fixture{t: t, ctx: context.Background(), store: db.New(conn)}
	f.ledger = ledger.New(f.store)
	accounts := account.NewService(f.store, account.Options{Ledger: f.ledger,
		Hasher: account.PasswordHasher{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32}})
	f.spend = spend.NewService(f.store, spend.Options{Ledger: f.ledger, Accounts: accounts})
	f.center = NewService(f.store, Options{Spend: f.spend})
	err := f.store.InTx(f.ctx, func(tx *sqlx.Tx) error {
		var err error
		f.user, err = account.CreateUser(f.ctx, tx, "center_u1", "x")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// grant credits the person's wallet from the grants account.
func (f *fixture) grant(key string, amount wallet.Money) {
	f.t.Helper()
	grants, err := f.ledger.SystemAccountID(f.ctx, "grants")
	if err != nil {
		f.t.Fatal(err)
	}
	_, err = f.ledger.Post(f.ctx, ledger.Posting{Key: key, Kind: ledger.Grant, Reference: "test", Description: "test",
		Entries: []ledger.Entry{{AccountID: grants, Amount: -int64(amount)}, {AccountID: f.user.WalletID, Amount: int64(amount)}}})
	if err != nil {
		f.t.Fatal(err)
	}
}

// event is the running event with code, or fails.
func event(t *testing.T, o Overview, code string) spend.EventStatus {
	t.Helper()
	for _, e := range o.Events {
		if e.Code == code {
			return e
		}
	}
	t.Fatalf("event %q is not among the running ones: %+v", code, o.Events)
	return spend.EventStatus{}
}

func TestTheCenterShowsTheBalanceTheNewestLinesAndTheDefaultThreshold(t *testing.T) {
	f := newFixture(t)
	for i := range 7 {
		f.grant("grant:"+string(rune('a'+i)), 10_00)
	}
	o, err := f.center.AccountCenter(f.ctx, f.user)
	if err != nil {
		t.Fatal(err)
	}
	if o.Balance != 70_00 || o.LowBalance != spend.DefaultSettings.LowBalance || !o.MembershipUntil.IsZero() {
		t.Fatalf("balance %s, low balance %s, member until %v", o.Balance, o.LowBalance, o.MembershipUntil)
	}
	if len(o.Recent) != recentRecords {
		t.Fatalf("%d recent lines, want %d", len(o.Recent), recentRecords)
	}
	for i, r := range o.Recent {
		if want := wallet.Money(70_00 - 10_00*i); r.BalanceAfter != want || r.Amount != 10_00 || r.Kind != ledger.Grant {
			t.Fatalf("line %d: %+v, want +10.00 leaving %s", i, r, want)
		}
	}
	if e := event(t, o, "spend_50_get_5"); !e.Running || e.Spent != 0 || e.Awarded {
		t.Fatalf("spend bonus before any spending: %+v", e)
	}
}

func TestViewingTheCenterCreditsASpendBonusThatIsDue(t *testing.T) {
	f := newFixture(t)
	f.grant("grant:a", 100_00)
	revenue, err := f.spend.SystemAccount(f.ctx, "revenue:shop")
	if err != nil {
		t.Fatal(err)
	}
	// Spending outside the shop (which awards it itself) leaves the bonus
	// due until a page looks.
	_, err = f.spend.Debit(f.ctx, spend.Debit{UserID: f.user.ID, Amount: 50_00, To: revenue, Key: "spend:a",
		Kind: ledger.Purchase, Reference: "test", Description: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second view finds it awarded and credits nothing more
		o, err := f.center.AccountCenter(f.ctx, f.user)
		if err != nil {
			t.Fatal(err)
		}
		e := event(t, o, "spend_50_get_5")
		if o.Balance != 55_00 || !e.Awarded || e.Spent != 50_00 {
			t.Fatalf("balance %s, event %+v: want 55.00 with the bonus awarded on 50.00 spent", o.Balance, e)
		}
	}
}

// BenchmarkAccountViewQuery is the account center's query alone, one at a time.
func BenchmarkAccountViewQuery(b *testing.B) {
	f := newFixture(b)
	f.grant("grant:a", 1_000_000_00)
	for b.Loop() {
		if _, err := f.center.view(f.ctx, f.user.ID, f.user.WalletID, time.Now(), recentRecords); err != nil {
			b.Fatal(err)
		}
	}
}
