package recharge

import (
	"context"
	"testing"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/db"
	"im2pay/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// fixture is a fresh database with a store and a recharge service over it.
type fixture struct {
	t       testing.TB
	ctx     context.Context
	store   *db.Store
	service *Service
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	store := db.New(dbtest.New(t))
	return &fixture{t: t, ctx: context.Background(), store: store, service: NewService(store, Options{})}
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
