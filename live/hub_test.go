package live_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/ledger"
	"im2pay/live"
	"im2pay/spend"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// bound is how long a notice may take on the busiest machine: a bound for
// a hung test, never a measure of speed.
const bound = 2 * time.Minute

type fixture struct {
	t      *testing.T
	ctx    context.Context
	store  *db.Store
	ledger *ledger.Ledger
	hub    *live.Hub
	grants int64
}

// newFixture starts a hub listening on a fresh database, and a second
// pool for the postings: the notices must cross connections, as they cross
// processes in production.
func newFixture(t *testing.T, o live.Options) *fixture {
	t.Helper()
	url := dbtest.NewURL(t)
	conn, err := sqlx.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	store := db.New(conn)
	// The hub reads through a pool of its own, as another process would.
	hubConn, err := sqlx.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hubConn.Close() })
	f := &fixture{t: t, ctx: context.Background(), store: store, ledger: ledger.New(store), hub: live.NewHub(url, hubConn, o)}
	if f.grants, err = f.ledger.SystemAccountID(f.ctx, "grants"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	ran := make(chan error, 1)
	go func() { ran <- f.hub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("hub: %v", err)
		}
	})
	select {
	case <-f.hub.Ready():
	case err := <-ran:
		t.Fatalf("hub stopped before listening: %v", err)
	case <-time.After(bound):
		t.Fatal("hub never listened")
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

func (f *fixture) grant(key string, u account.User, fen int64) ledger.Posted {
	f.t.Helper()
	p, err := f.ledger.Post(f.ctx, ledger.Posting{Key: key, Kind: ledger.Grant, Reference: "test", Description: "welcome_grant",
		Entries: []ledger.Entry{{AccountID: f.grants, Amount: -fen}, {AccountID: u.WalletID, Amount: fen}}})
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *fixture) subscribe(u account.User) *live.Subscription {
	f.t.Helper()
	s, err := f.hub.Subscribe(u.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(s.Close)
	return s
}

func next(t *testing.T, s *live.Subscription) live.Event {
	t.Helper()
	select {
	case ev, ok := <-s.C():
		if !ok {
			t.Fatal("subscription closed")
		}
		return ev
	case <-time.After(bound):
		t.Fatal("no event within the bound")
	}
	return live.Event{}
}

func TestAPostingInAnotherConnectionReachesItsOwnersSubscriptionsOnly(t *testing.T) {
	f := newFixture(t, live.Options{})
	alice, bob := f.user("alice"), f.user("bob")
	a1, a2, b := f.subscribe(alice), f.subscribe(alice), f.subscribe(bob)

	posted := f.grant("g-alice", alice, 500)
	for _, s := range []*live.Subscription{a1, a2} {
		if ev := next(t, s); ev.Kind != live.Moved || ev.TxnID != posted.TransactionID {
			t.Fatalf("alice's stream got %+v, want the grant %d", ev, posted.TransactionID)
		}
	}
	// Bob's posting comes after alice's, and a read covers both or alice's
	// first, so once his reached him, alice's would have too: his first
	// event is his own.
	mine := f.grant("g-bob", bob, 300)
	if ev := next(t, b); ev.TxnID != mine.TransactionID {
		t.Fatalf("bob's stream got %+v: another person's movement (alice's is %d)", ev, posted.TransactionID)
	}

	r := live.NewReader(f.store)
	if _, err := r.Movement(f.ctx, bob.ID, posted.TransactionID); !errors.Is(err, live.ErrNotMine) {
		t.Fatalf("bob reading alice's grant: %v, want ErrNotMine", err)
	}
	m, err := r.Movement(f.ctx, alice.ID, posted.TransactionID)
	if err != nil || m.Amount != 500 || m.Kind != "grant" || m.Description != "welcome_grant" {
		t.Fatalf("alice's grant read as %+v, %v", m, err)
	}
	if bal, err := r.Balance(f.ctx, alice.ID); err != nil || bal != 500 {
		t.Fatalf("alice's balance %v, %v", bal, err)
	}
}

// Ids commit out of order: a posting may draw its ids and stay
// uncommitted while a later posting, for someone else, commits and is
// read. Its movement must still be told, once, and the later one not told
// again. (The lookback is set far above any wait here, so the test does
// not depend on the machine's speed.)
func TestAMovementCommittedOutOfIdOrderIsToldOnce(t *testing.T) {
	f := newFixture(t, live.Options{PollEvery: 20 * time.Millisecond, Lookback: time.Hour})
	u, v := f.user("grace"), f.user("heidi")
	su, sv := f.subscribe(u), f.subscribe(v)

	tx, err := f.store.DB().BeginTxx(f.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	early, err := f.ledger.Post(f.ctx, ledger.Posting{Key: "early", Kind: ledger.Grant, Reference: "test", Description: "welcome_grant",
		Entries: []ledger.Entry{{AccountID: f.grants, Amount: -100}, {AccountID: u.WalletID, Amount: 100}}}, ledger.InTx(tx))
	if err != nil {
		t.Fatal(err)
	}
	late := f.grant("late", v, 50)
	if late.TransactionID <= early.TransactionID {
		t.Fatalf("late %d drew its id before early %d", late.TransactionID, early.TransactionID)
	}
	// v hearing of late proves a read has passed over ids above early's.
	if ev := next(t, sv); ev.TxnID != late.TransactionID {
		t.Fatalf("heidi got %+v, want %d", ev, late.TransactionID)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, su); ev.Kind != live.Moved || ev.TxnID != early.TransactionID {
		t.Fatalf("grace got %+v, want the early posting %d", ev, early.TransactionID)
	}
	// Nothing twice: each person's next event is a new posting, not a
	// movement the reads found again.
	for _, p := range []struct {
		u account.User
		s *live.Subscription
	}{{u, su}, {v, sv}} {
		marker := f.grant("marker-"+p.u.Username, p.u, 1)
		if ev := next(t, p.s); ev.TxnID != marker.TransactionID {
			t.Fatalf("%s got %+v, want the marker %d (a movement told twice?)", p.u.Username, ev, marker.TransactionID)
		}
	}
}

func TestAGiftReachesTheRecipientWithSenderItemAndQuantity(t *testing.T) {
	f := newFixture(t, live.Options{})
	sender, friend := f.user("sender"), f.user("friend")
	f.grant("g-sender", sender, 10_000)
	s := f.subscribe(friend)
	accounts := account.NewService(f.store, account.Options{Ledger: f.ledger})
	sp := spend.NewService(f.store, spend.Options{Ledger: f.ledger, Accounts: accounts})
	sent, err := sp.SendGift(f.ctx, spend.GiftRequest{SenderID: sender.ID, To: "friend", Gift: "rose", Quantity: "3", Key: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	ev := next(t, s)
	if ev.Kind != live.Moved {
		t.Fatalf("friend got %+v", ev)
	}
	m, err := live.NewReader(f.store).Movement(f.ctx, friend.ID, ev.TxnID)
	if err != nil {
		t.Fatal(err)
	}
	if m.GiftFrom != "sender" || m.GiftItem != "rose" || m.GiftQuantity != 3 || m.Amount != 0 {
		t.Fatalf("gift read as %+v (sent %+v)", m, sent.Gift)
	}
}

func TestAnEndedSessionIsAnnouncedToItsOwner(t *testing.T) {
	f := newFixture(t, live.Options{})
	u := f.user("carol")
	s := f.subscribe(u)
	if _, err := f.store.DB().ExecContext(f.ctx,
		`INSERT INTO sessions (token_hash, user_id, data, created_at, last_seen_at) VALUES ('\x01', $1, '', now(), now())`, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.DB().ExecContext(f.ctx, `DELETE FROM sessions WHERE user_id = $1`, u.ID); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, s); ev.Kind != live.SessionEnded {
		t.Fatalf("got %+v, want SessionEnded", ev)
	}
	if _, err := f.store.DB().ExecContext(f.ctx, `UPDATE users SET session_generation = session_generation + 1 WHERE id = $1`, u.ID); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, s); ev.Kind != live.SessionEnded {
		t.Fatalf("got %+v after a generation bump, want SessionEnded", ev)
	}
}

func TestStreamsPerPersonAreCapped(t *testing.T) {
	f := newFixture(t, live.Options{MaxPerUser: 2})
	u, other := f.user("dave"), f.user("erin")
	first := f.subscribe(u)
	f.subscribe(u)
	if _, err := f.hub.Subscribe(u.ID); !errors.Is(err, live.ErrTooMany) {
		t.Fatalf("third stream: %v, want ErrTooMany", err)
	}
	f.subscribe(other) // another person's cap is their own
	first.Close()
	f.subscribe(u) // a closed stream frees its place
}

func TestClosingTheHubEndsEveryStream(t *testing.T) {
	f := newFixture(t, live.Options{})
	s := f.subscribe(f.user("frank"))
	f.hub.Close()
	select {
	case _, ok := <-s.C():
		if ok {
			t.Fatal("an event instead of the end")
		}
	case <-time.After(bound):
		t.Fatal("the stream outlived the hub")
	}
	if _, err := f.hub.Subscribe(1); !errors.Is(err, live.ErrClosed) {
		t.Fatalf("subscribing after close: %v", err)
	}
}
