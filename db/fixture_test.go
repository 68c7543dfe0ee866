package db_test

import (
	"context"
	"testing"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
	"im2pay/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// fixture is a fresh database with a store.
type fixture struct {
	t     testing.TB
	ctx   context.Context
	conn  *sqlx.DB
	store *db.Store
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	conn := dbtest.New(t)
	conn.SetMaxOpenConns(20) // as in production (DB_MAX_CONNS)
	return &fixture{t: t, ctx: context.Background(), conn: conn, store: db.New(conn)}
}

// The app's connections plan prepared queries once (WithAppSettings);
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
