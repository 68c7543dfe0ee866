package seal_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/ledger"
	"im2pay/seal"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// fixture is a fresh ledger, a sealer stepped by the test on a clock the
// test moves, and wallets to post to.
type fixture struct {
	t        testing.TB
	ctx      context.Context
	conn     *sqlx.DB
	store    *db.Store
	ledger   *ledger.Ledger
	grants   int64
	wallets  []int64
	clock    time.Time
	sealer   *seal.Sealer
	shanghai *time.Location
}

func newFixture(t testing.TB, wallets int, o seal.Options) *fixture {
	t.Helper()
	conn := dbtest.New(t)
	conn.SetMaxOpenConns(20)
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ctx: context.Background(), conn: conn, store: db.New(conn), shanghai: loc,
		clock: time.Date(2026, 5, 1, 9, 0, 0, 0, loc)}
	f.ledger = ledger.New(f.store)
	if f.grants, err = f.ledger.SystemAccountID(f.ctx, "grants"); err != nil {
		t.Fatal(err)
	}
	for i := range wallets {
		err := f.store.InTx(f.ctx, func(tx *sqlx.Tx) error {
			u, err := account.CreateUser(f.ctx, tx, fmt.Sprintf("user%d", i), "x")
			f.wallets = append(f.wallets, u.WalletID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	o.Now = func() time.Time { return f.clock }
	f.sealer = seal.NewSealer(conn, o)
	return f
}

func (f *fixture) grant(key string, wallet, amount int64, opts ...ledger.Option) int64 {
	f.t.Helper()
	p, err := f.ledger.Post(f.ctx, ledger.Posting{Key: key, Kind: ledger.Grant, Reference: "test:" + key,
		Description: "welcome_grant", Entries: []ledger.Entry{{AccountID: f.grants, Amount: -amount}, {AccountID: wallet, Amount: amount}}}, opts...)
	if err != nil {
		f.t.Fatal(err)
	}
	return p.TransactionID
}

// tick is one period of the sealer's loop: the clock moves a period on.
func (f *fixture) tick() {
	f.t.Helper()
	f.clock = f.clock.Add(seal.Period)
	if _, err := f.sealer.Tick(f.ctx); err != nil {
		f.t.Fatal(err)
	}
}

// sealedThrough is the last transaction id the chain covers (0: none).
func (f *fixture) sealedThrough() int64 {
	f.t.Helper()
	var last int64
	if err := f.conn.GetContext(f.ctx, &last, `SELECT coalesce(max(last_transaction_id), 0) FROM ledger_seals`); err != nil {
		f.t.Fatal(err)
	}
	return last
}

func (f *fixture) lastTxn() int64 {
	f.t.Helper()
	var last int64
	if err := f.conn.GetContext(f.ctx, &last, `SELECT coalesce(max(id), 0) FROM ledger_transactions`); err != nil {
		f.t.Fatal(err)
	}
	return last
}

// sealAll ticks until every committed transaction is sealed; a quiet
// ledger needs two ticks (one to see nobody writing, one to seal).
func (f *fixture) sealAll() {
	f.t.Helper()
	want := f.lastTxn()
	for range 3 {
		f.tick()
		if f.sealedThrough() >= want {
			return
		}
	}
	f.t.Fatalf("three ticks on a quiet ledger sealed through %d of %d", f.sealedThrough(), want)
}

func (f *fixture) verify(o seal.VerifyOptions) *seal.Report {
	f.t.Helper()
	o.Location = f.shanghai
	r, err := seal.Verify(f.ctx, f.conn, o)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func TestTheChainOfABusyLedgerVerifies(t *testing.T) {
	f := newFixture(t, 12, seal.Options{Batch: 25})
	const workers, each = 6, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				wallet := f.wallets[(w*each+i)%len(f.wallets)]
				if i%10 == 9 {
					// A posting rolled back: its id is a gap the chain must
					// pass over without waiting for ever.
					err := f.store.InTx(f.ctx, func(tx *sqlx.Tx) error {
						if _, err := f.ledger.Post(f.ctx, ledger.Posting{Key: fmt.Sprintf("undone-%d-%d", w, i), Kind: ledger.Grant,
							Reference: "test", Description: "welcome_grant",
							Entries: []ledger.Entry{{AccountID: f.grants, Amount: -1}, {AccountID: wallet, Amount: 1}}}, ledger.InTx(tx)); err != nil {
							return err
						}
						return errRollback
					})
					if !errors.Is(err, errRollback) {
						errs <- err
					}
					continue
				}
				_, err := f.ledger.Post(f.ctx, ledger.Posting{Key: fmt.Sprintf("busy-%d-%d", w, i), Kind: ledger.Grant,
					Reference: "test", Description: "welcome_grant",
					Entries: []ledger.Entry{{AccountID: f.grants, Amount: -int64(100 + i)}, {AccountID: wallet, Amount: int64(100 + i)}}})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	// The sealer's loop, stepped as fast as the test can while the
	// postings run: no sleeping, the steps interleave as they will.
	during := 0
	for stepping := true; stepping; {
		select {
		case <-done:
			stepping = false
		default:
		}
		f.tick()
		during++
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	f.sealAll()
	r := f.verify(seal.VerifyOptions{})
	var committed int
	if err := f.conn.GetContext(f.ctx, &committed, `SELECT count(*) FROM ledger_transactions`); err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Unsealed != 0 || r.Transactions != committed || committed != workers*each*9/10 {
		t.Fatalf("after %d ticks: %d of %d committed transactions sealed in %d seals, %d unsealed, problems %v",
			during, r.Transactions, committed, r.Seals, r.Unsealed, r.Problems)
	}
	t.Logf("%d transactions in %d seals, %d ticks during the postings", committed, r.Seals, during)
}

var errRollback = fmt.Errorf("rolled back on purpose")

// A posting that drew its id and has not committed while later ones have:
// sealing the later ones would leave it out of the chain for ever.
func TestAPostingHeldOpenIsChainedOnceAfterItCommits(t *testing.T) {
	f := newFixture(t, 2, seal.Options{})
	before := f.grant("before", f.wallets[1], 100)
	f.sealAll()

	tx, err := f.conn.BeginTxx(f.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	held := f.grant("held", f.wallets[0], 500, ledger.InTx(tx))
	var later []int64
	for i := range 5 {
		later = append(later, f.grant(fmt.Sprintf("later-%d", i), f.wallets[1], 100))
		f.tick()
		f.tick()
	}
	if held <= before || later[0] <= held {
		t.Fatalf("ids: before %d, held %d, later %v", before, held, later)
	}
	if got := f.sealedThrough(); got >= held {
		t.Fatalf("sealed through %d while transaction %d was still open", got, held)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	f.sealAll()
	var covering int
	err = f.conn.GetContext(f.ctx, &covering, `
		SELECT count(*) FROM ledger_seals s
		 WHERE s.last_transaction_id >= $1
		   AND coalesce((SELECT p.last_transaction_id FROM ledger_seals p WHERE p.n = s.n - 1), 0) < $1`, held)
	if err != nil {
		t.Fatal(err)
	}
	r := f.verify(seal.VerifyOptions{})
	if covering != 1 || !r.OK() || r.Unsealed != 0 || r.Transactions != 7 {
		t.Fatalf("the held transaction is covered by %d seals; %d sealed, %d unsealed, problems %v",
			covering, r.Transactions, r.Unsealed, r.Problems)
	}
}

// The promise: sealed within a minute of the commit, on the app clock,
// with the sealer's own period and batch limits (here a tiny batch, so a
// backlog of five batches must drain as well).
func TestATransactionIsSealedWithinAMinuteOfItsCommit(t *testing.T) {
	f := newFixture(t, 1, seal.Options{Batch: 10})
	for i := range 50 {
		f.grant(fmt.Sprintf("backlog-%d", i), f.wallets[0], 1)
	}
	committed := f.clock
	last := f.lastTxn()
	for f.sealedThrough() < last {
		f.tick()
		if f.clock.Sub(committed) > time.Minute {
			t.Fatalf("a minute after the commit sealed through %d of %d", f.sealedThrough(), last)
		}
	}
	var sealedAt time.Time
	if err := f.conn.GetContext(f.ctx, &sealedAt, `SELECT max(sealed_at) FROM ledger_seals`); err != nil {
		t.Fatal(err)
	}
	if took := sealedAt.Sub(committed); took > 3*seal.Period {
		t.Fatalf("the backlog was sealed %s after its commit; a quiet sealer needs at most three periods", took)
	}
}
