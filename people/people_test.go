package people

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/problem"
	"im2pay/recharge"
	"im2pay/spend"
	"im2pay/wallet"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type fixture struct {
	t      *testing.T
	ctx    context.Context
	store  *db.Store
	people *Service
	now    time.Time
}

func newFixture(t *testing.T) *fixture {
	store := db.New(dbtest.New(t))
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	return &fixture{t: t, ctx: context.Background(), store: store, now: now,
		people: New(store, Options{Now: func() time.Time { return now }})}
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

func (f *fixture) exec(q string, args ...any) {
	f.t.Helper()
	if _, err := f.store.DB().ExecContext(f.ctx, q, args...); err != nil {
		f.t.Fatal(err)
	}
}

func TestAPersonsPageShowsMoneyMembershipOrdersGiftsAndSessionsWithoutSecrets(t *testing.T) {
	f := newFixture(t)
	alice, bob := f.user("alice"), f.user("bob")
	ws := wallet.NewService(f.store, wallet.Options{})
	if _, err := ws.Grant(f.ctx, alice.ID, 100_00, "grant-alice", "grant_welcome"); err != nil {
		t.Fatal(err)
	}
	sp := spend.NewService(f.store, spend.Options{})
	if _, err := sp.SendGift(f.ctx, spend.GiftRequest{SenderID: alice.ID, To: "bob", Gift: "heart", Quantity: "2",
		Message: "hi", Key: "gift-key-alice-0001"}); err != nil {
		t.Fatal(err)
	}
	f.exec(`INSERT INTO memberships (user_id, expires_at) VALUES ($1, $2)`, alice.ID, f.now.AddDate(0, 1, 0))
	err := f.store.InTx(f.ctx, func(tx *sqlx.Tx) error {
		_, _, err := recharge.InsertOrder(f.ctx, tx, recharge.Order{OutTradeNo: "PERSONORDER00001", UserID: alice.ID,
			RequestKey: "person-order-key-01", Method: "alipay", Device: "desktop", Amount: 30_00, Currency: "CNY",
			CreatedAt: f.now, ExpiresAt: f.now.Add(time.Hour)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	acc := account.NewService(f.store, account.Options{})
	for i, hash := range [][]byte{[]byte("hash-one-0123456789012345678901"), []byte("hash-two-0123456789012345678901")} {
		err := acc.InsertSession(f.ctx, account.Session{TokenHash: hash, UserID: sqlNullInt(alice.ID),
			Data: []byte("csrf-token-secret"), CreatedAt: f.now, LastSeenAt: f.now.Add(time.Duration(i) * time.Minute),
			UserAgent: "Firefox", ClientIP: "203.0.113.7"})
		if err != nil {
			t.Fatal(err)
		}
	}

	p, err := f.people.ByName(f.ctx, "ALICE")
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != alice.ID || p.Username != "alice" || p.Balance != 100_00-2*5_20 || !p.Member ||
		!p.MemberUntil.Equal(f.now.AddDate(0, 1, 0)) || p.Since.IsZero() {
		t.Fatalf("person %+v", p)
	}
	if len(p.Lines) != 2 || p.Lines[0].Amount != -2*5_20 || p.Lines[1].Amount != 100_00 {
		t.Fatalf("lines %+v", p.Lines)
	}
	if len(p.Orders) != 1 || p.Orders[0].OutTradeNo != "PERSONORDER00001" {
		t.Fatalf("orders %+v", p.Orders)
	}
	if len(p.Gifts.Sent) != 1 || p.Gifts.Sent[0].Counterparty != "bob" || len(p.Gifts.Received) != 0 {
		t.Fatalf("gifts %+v", p.Gifts)
	}
	if len(p.Sessions) != 2 || p.Sessions[0].ClientIP != "203.0.113.7" {
		t.Fatalf("sessions %+v", p.Sessions)
	}
	byID, err := f.people.ByID(f.ctx, bob.ID)
	if err != nil || byID.Username != "bob" || len(byID.Gifts.Received) != 1 || byID.Gifts.ReceivedTotal != 2*5_20 || byID.Member {
		t.Fatalf("bob %+v %v", byID, err)
	}

	// End all: every session gone, the generation bumped, so a request
	// that loaded one before finds it dead.
	n, err := f.people.EndAllSessions(f.ctx, alice.ID)
	if err != nil || n != 2 {
		t.Fatalf("ended %d, %v", n, err)
	}
	after, err := acc.UserByID(f.ctx, alice.ID)
	if err != nil || after.SessionGeneration != alice.SessionGeneration+1 {
		t.Fatalf("generation %d, %v", after.SessionGeneration, err)
	}
	if p, err = f.people.ByID(f.ctx, alice.ID); err != nil || len(p.Sessions) != 0 {
		t.Fatalf("sessions after end all: %+v %v", p.Sessions, err)
	}
	// Bob's sessions are his own: nothing of his was touched.
	if bobNow, _ := acc.UserByID(f.ctx, bob.ID); bobNow.SessionGeneration != bob.SessionGeneration {
		t.Fatal("ending alice's sessions bumped bob's generation")
	}
}

func TestLookingUpSomeoneWhoDoesNotExistIsNotFound(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"nobody", "x'OR'1'='1", "a\x00bc", "ab", "\xff\xfe\xfd"} {
		_, err := f.people.ByName(f.ctx, name)
		var p *problem.Problem
		if !errors.Is(err, db.ErrNotFound) && !errors.As(err, &p) {
			t.Errorf("%q: %v", name, err)
		}
	}
	for _, id := range []int64{0, -1, 999999} {
		if _, err := f.people.ByID(f.ctx, id); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("%d: %v", id, err)
		}
		if _, err := f.people.EndAllSessions(f.ctx, id); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("end all of %d: %v", id, err)
		}
	}
}

func sqlNullInt(v int64) sql.NullInt64 { return sql.NullInt64{Int64: v, Valid: true} }

func TestTheLookupFieldTakesANameOrAnID(t *testing.T) {
	f := newFixture(t)
	alice, digits := f.user("alice"), f.user("12345")
	for who, want := range map[string]int64{"alice": alice.ID, " Alice ": alice.ID, "12345": digits.ID,
		fmt.Sprint(alice.ID): alice.ID, "#" + fmt.Sprint(digits.ID): digits.ID} {
		p, err := f.people.Find(f.ctx, who)
		if err != nil || p.ID != want {
			t.Errorf("%q: %d %v, want %d", who, p.ID, err, want)
		}
	}
	for _, who := range []string{"", "nobody", "#0", "999999", "a\x00b"} {
		var p *problem.Problem
		if _, err := f.people.Find(f.ctx, who); !errors.As(err, &p) {
			t.Errorf("%q: %v", who, err)
		}
	}
}
