package db_test

import (
	"context"
	"testing"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/ledger"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// fixture is a fresh database with a store, the ledger over it and the
// grants account.
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
	conn.SetMaxOpenConns(20) // as in production (DB_MAX_CONNS)
	return fixtureOn(t, conn, db.New(conn))
}

// fixtureOn is a fixture over a store the test opened itself (a primary
// with a replica).
func fixtureOn(t testing.TB, conn *sqlx.DB, store *db.Store) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), conn: conn, store: store, ledger: ledger.New(store)}
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

func (f *fixture) balance(wallet int64) int64 {
	f.t.Helper()
	b, err := f.ledger.Balance(f.ctx, wallet)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

// The app's connections plan prepared statements once (WithAppSettings);
// the queries that must see their parameters plan them per run.
func TestConnectionsPlanPreparedStatementsOnce(t *testing.T) {
	f := newFixture(t)
	var mode string
	if err := f.conn.Get(&mode, `SHOW plan_cache_mode`); err != nil {
		t.Fatal(err)
	}
	if mode != "force_generic_plan" {
		t.Fatalf("plan_cache_mode = %q, want force_generic_plan", mode)
	}
}
