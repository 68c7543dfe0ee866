package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/ledger"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// fixture is a fresh database with a store and the grants account.
type fixture struct {
	t      testing.TB
	ctx    context.Context
	conn   *sqlx.DB
	store  *db.Store
	ledger *ledger.Ledger
	grants int64
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	conn := dbtest.New(t)
	// As in production (DB_MAX_CONNS): a hundred goroutines queue for
	// twenty connections instead of forking a hundred backends at once,
	// whose start-up on a busy machine outlasts connect_timeout.
	conn.SetMaxOpenConns(20)
	f := &fixture{t: t, ctx: context.Background(), conn: conn, store: db.New(conn)}
	f.ledger = ledger.New(f.store)
	var err error
	if f.grants, err = f.ledger.SystemAccountID(f.ctx, "grants"); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) user(name string) account.User {
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
	return u
}

func (f *fixture) grant(key string, wallet, amount int64) (ledger.Posted, error) {
	return f.ledger.Post(f.ctx, ledger.Posting{Key: key, Kind: ledger.Grant, Reference: "test", Description: "test",
		Entries: []ledger.Entry{{AccountID: f.grants, Amount: -amount}, {AccountID: wallet, Amount: amount}}})
}

func (f *fixture) spend(key string, wallet, amount int64) (ledger.Posted, error) {
	return f.ledger.Post(f.ctx, ledger.Posting{Key: key, Kind: ledger.Purchase, Reference: "test", Description: "test",
		Entries: []ledger.Entry{{AccountID: wallet, Amount: -amount}, {AccountID: f.grants, Amount: amount}}})
}

func (f *fixture) balance(wallet int64) int64 {
	f.t.Helper()
	b, err := f.ledger.Balance(f.ctx, wallet)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func TestPostingMovesMoneyAndReportsTheNewBalance(t *testing.T) {
	f := newFixture(t)
	u := f.user("alice")
	p, err := f.grant("g1", u.WalletID, 100_00)
	if err != nil {
		t.Fatal(err)
	}
	if p.Replayed || p.Balances[u.WalletID] != 100_00 {
		t.Fatalf("posted = %+v, want balance 10000 and not replayed", p)
	}
	if _, ok := p.Balances[f.grants]; ok {
		t.Fatal("a system account has no cached balance, so none should be reported")
	}
	if got := f.balance(u.WalletID); got != 100_00 {
		t.Fatalf("balance = %d, want 10000", got)
	}
}

func TestPostingTheSameKeyTwiceMovesMoneyOnce(t *testing.T) {
	f := newFixture(t)
	u := f.user("alice")
	first, err := f.grant("once", u.WalletID, 500)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.grant("once", u.WalletID, 500)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Replayed || again.TransactionID != first.TransactionID || again.Balances[u.WalletID] != 500 {
		t.Fatalf("replay = %+v, want the first result %+v", again, first)
	}
	if got := f.balance(u.WalletID); got != 500 {
		t.Fatalf("balance = %d, want 500", got)
	}
}

func TestTheSameKeyWithAnotherRequestIsRefused(t *testing.T) {
	f := newFixture(t)
	u := f.user("alice")
	if _, err := f.grant("k", u.WalletID, 500); err != nil {
		t.Fatal(err)
	}
	if _, err := f.grant("k", u.WalletID, 501); !errors.Is(err, ledger.ErrIdempotencyMismatch) {
		t.Fatalf("err = %v, want ErrIdempotencyMismatch", err)
	}
	if got := f.balance(u.WalletID); got != 500 {
		t.Fatalf("balance = %d, want 500", got)
	}
}

func TestOverdraftIsRefusedAndChangesNothing(t *testing.T) {
	f := newFixture(t)
	u := f.user("alice")
	if _, err := f.grant("g", u.WalletID, 100); err != nil {
		t.Fatal(err)
	}
	if _, err := f.spend("s", u.WalletID, 101); !errors.Is(err, ledger.ErrInsufficientFunds) {
		t.Fatalf("err = %v, want ErrInsufficientFunds", err)
	}
	if got := f.balance(u.WalletID); got != 100 {
		t.Fatalf("balance = %d, want 100", got)
	}
	// The refused key was rolled back with everything else, so it is free.
	if _, err := f.spend("s", u.WalletID, 100); err != nil {
		t.Fatalf("spend of the whole balance under the refused key: %v", err)
	}
}

func TestPostingRefusesMalformedTransactionsBeforeAnySQL(t *testing.T) {
	f := newFixture(t)
	u := f.user("alice")
	cases := []struct {
		name    string
		entries []ledger.Entry
	}{
		{"a single entry", []ledger.Entry{{u.WalletID, 100}}},
		{"entries that do not sum to zero", []ledger.Entry{{u.WalletID, 100}, {f.grants, -99}}},
		{"a zero entry", []ledger.Entry{{u.WalletID, 0}, {f.grants, 0}}},
		{"an absurd amount", []ledger.Entry{{u.WalletID, 1 << 62}, {f.grants, -(1 << 62)}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.ledger.Post(f.ctx, ledger.Posting{Key: c.name, Kind: ledger.Grant, Reference: "t", Description: "t", Entries: c.entries})
			if err == nil {
				t.Fatal("posting accepted")
			}
		})
	}
	if got := f.balance(u.WalletID); got != 0 {
		t.Fatalf("balance = %d, want 0", got)
	}
}

// The database refuses on its own what the Go code also refuses, so a bug or
// a hand-written query cannot break the ledger.
func TestTheDatabaseItselfRefusesLedgerViolations(t *testing.T) {
	f := newFixture(t)
	u := f.user("alice")
	p, err := f.grant("g", u.WalletID, 100)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, sql string }{
		{"an unbalanced transaction", fmt.Sprintf(`
			WITH t AS (INSERT INTO ledger_transactions (idempotency_key, request_hash, kind, reference, description)
			           VALUES ('raw', '\x00', 'grant', 'r', 'd') RETURNING id)
			INSERT INTO ledger_entries (transaction_id, account_id, amount) SELECT id, %d, 5 FROM t`, u.WalletID)},
		{"a transaction without entries", `INSERT INTO ledger_transactions (idempotency_key, request_hash, kind, reference, description)
			VALUES ('empty', '\x00', 'grant', 'r', 'd')`},
		{"an update of an entry", `UPDATE ledger_entries SET amount = amount * 2`},
		{"a delete of an entry", `DELETE FROM ledger_entries`},
		{"a truncate of the entries", `TRUNCATE ledger_entries CASCADE`},
		{"an update of a transaction", `UPDATE ledger_transactions SET description = 'x'`},
		{"a wallet below zero", fmt.Sprintf(`UPDATE accounts SET balance = -1 WHERE id = %d`, u.WalletID)},
		{"a zero entry", fmt.Sprintf(`INSERT INTO ledger_entries (transaction_id, account_id, amount) VALUES (%d, %d, 0)`, p.TransactionID, u.WalletID)},
		{"a duplicate idempotency key", `INSERT INTO ledger_transactions (idempotency_key, request_hash, kind, reference, description)
			VALUES ('g', '\x00', 'grant', 'r', 'd')`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := f.store.InTx(f.ctx, func(tx *sqlx.Tx) error {
				_, err := tx.ExecContext(f.ctx, c.sql)
				return err
			})
			if err == nil {
				t.Fatal("the database accepted it")
			}
		})
	}
	if got := f.balance(u.WalletID); got != 100 {
		t.Fatalf("balance = %d, want 100", got)
	}
	checkInvariants(t, f)
}

// checkInvariants asserts, from SQL alone, what must hold after any history:
// every transaction balances, all entries sum to zero, each cached balance
// equals the sum of its entries, and no wallet is below zero.
func checkInvariants(t *testing.T, f *fixture) {
	t.Helper()
	var unbalanced, drift, negative int
	var total int64
	queries := []struct {
		dest any
		sql  string
	}{
		{&unbalanced, `SELECT count(*) FROM (SELECT transaction_id FROM ledger_entries GROUP BY 1 HAVING sum(amount) <> 0 OR count(*) < 2) x`},
		{&total, `SELECT coalesce(sum(amount), 0) FROM ledger_entries`},
		{&drift, `SELECT count(*) FROM accounts a WHERE a.balance IS NOT NULL
			AND a.balance <> (SELECT coalesce(sum(amount), 0) FROM ledger_entries e WHERE e.account_id = a.id)`},
		{&negative, `SELECT count(*) FROM accounts WHERE balance < 0`},
	}
	for _, q := range queries {
		if err := f.conn.GetContext(f.ctx, q.dest, q.sql); err != nil {
			t.Fatal(err)
		}
	}
	if unbalanced != 0 || total != 0 || drift != 0 || negative != 0 {
		t.Fatalf("invariants broken: %d unbalanced transactions, entries sum to %d, %d drifted balances, %d negative wallets",
			unbalanced, total, drift, negative)
	}
}

func TestConcurrentSpendsFromOneWalletNeverOverdraw(t *testing.T) {
	f := newFixture(t)
	u := f.user("alice")
	const affordable, attempts, price = 37, 100, 250
	if _, err := f.grant("fund", u.WalletID, affordable*price); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for i := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.spend(fmt.Sprintf("spend-%d", i), u.WalletID, price)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ledger.ErrInsufficientFunds):
				refused++
			default:
				t.Errorf("spend %d: unexpected error %v", i, err)
			}
		}()
	}
	wg.Wait()
	if ok != affordable || refused != attempts-affordable {
		t.Fatalf("%d spends succeeded and %d were refused, want %d and %d", ok, refused, affordable, attempts-affordable)
	}
	if got := f.balance(u.WalletID); got != 0 {
		t.Fatalf("balance = %d, want exactly 0", got)
	}
	checkInvariants(t, f)
}

func TestConcurrentPostingsOfOneKeyMoveMoneyOnce(t *testing.T) {
	f := newFixture(t)
	u := f.user("alice")
	var wg sync.WaitGroup
	ids := make([]int64, 20)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := f.grant("same-key", u.WalletID, 300)
			if err != nil {
				t.Errorf("posting %d: %v", i, err)
			}
			ids[i] = p.TransactionID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("transaction ids differ: %v", ids)
		}
	}
	if got := f.balance(u.WalletID); got != 300 {
		t.Fatalf("balance = %d, want 300", got)
	}
}
