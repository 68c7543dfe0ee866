package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"im2pay/db"
	"im2pay/internal/cache"
)

// postSQL writes a posting in one query: one exchange with the server
// and, outside a transaction, one commit. %[1]s is the movement's gate,
// %[2]s how the key's insert meets a key posted before, %[3]s the row the
// movement writes beside its posting and %[4]s/%[5]s its columns (see Row;
// without one: "SELECT true", the ON CONFLICT clause and nothing). Its
// parts run in this order, each held back until the one before is done by
// reading it:
//  1. gate: the movement's condition, which may itself write (an order
//     marked paid, under that order's row lock); no row, nothing below;
//  2. locked takes the wallets' row locks in id order, so two postings
//     touching the same wallets cannot deadlock each other;
//  3. payer reads, from those locked rows, the balance of the wallet that
//     pays ($8, NULL when none must be covered), after every lock is held
//     (the count over locked makes sure);
//  4. txn inserts the key only when the payer holds at least $9. A twin
//     under the same key has waited for the wallet locks, so it meets the
//     first one's committed key here: DO NOTHING, and the caller reads the
//     first result (see replay);
//  5. entries: the trigger on ledger_entries updates each wallet's balance
//     and fills balance_after; WITH ORDINALITY keeps the caller's order;
//  6. the movement's row, written from txn (its transaction id) when
//     there is one.
//
// Every row carries whether the gate opened and the payer's balance before;
// with no entries there is one row of them.
//
// Parameters: $1 key, $2 request hash, $3 kind, $4 reference, $5
// description, $6 the entries' accounts and $7 their amounts, $8 the
// payer's wallet or NULL, $9 the least it must hold; a Row's from $10.
const postSQL = `
	WITH gate AS (%[1]s),
	locked AS MATERIALIZED (
		SELECT id, balance FROM accounts
		 WHERE id = ANY($6::bigint[]) AND balance IS NOT NULL AND EXISTS (SELECT 1 FROM gate)
		 ORDER BY id FOR UPDATE),
	payer AS (
		SELECT EXISTS (SELECT 1 FROM gate) AS open,
		       (SELECT l.balance FROM locked l WHERE l.id = $8::bigint) AS balance
		  FROM (SELECT count(*) FROM locked) c),
	txn AS (
		INSERT INTO ledger_transactions (idempotency_key, request_hash, kind, reference, description)
		SELECT $1::text, $2::bytea, $3::txn_kind, $4::text, $5::text
		  FROM payer
		 WHERE payer.open AND ($8::bigint IS NULL OR payer.balance >= $9::bigint)
		%[2]s
		RETURNING id),
	entries AS (
		INSERT INTO ledger_entries (transaction_id, account_id, amount)
		SELECT txn.id, t.a, t.m
		  FROM txn, unnest($6::bigint[], $7::bigint[]) WITH ORDINALITY AS t(a, m, n)
		 ORDER BY t.n
		RETURNING transaction_id, account_id, balance_after)%[3]s
	SELECT payer.open, payer.balance, e.transaction_id, e.account_id, e.balance_after%[4]s
	  FROM payer LEFT JOIN entries e ON true%[5]s`

// replayKey is the ON CONFLICT clause of a key that may have been posted
// before (the common case: a retry then replays the first result).
const replayKey = `ON CONFLICT (idempotency_key) DO NOTHING`

// Row is what a movement writes beside its posting, in the same query.
// Its SQL refers to the posting's parameters ($1-$9) and to its own Args
// from $10 on.
type Row struct {
	// Gate is a query that yields a row when the posting may happen; it
	// runs before any wallet is locked and may write (an UPDATE ...
	// RETURNING). Empty: always.
	Gate string
	// Write is a CTE named written, e.g. "written AS (INSERT INTO gifts
	// ... SELECT ... FROM txn RETURNING id)", run after the entries; txn
	// holds the transaction's id and entries the balances after.
	Write string
	// Columns lists written's columns the caller reads, scanned into
	// Dest (which must take NULL: there is no written row when nothing was
	// posted).
	Columns string
	Dest    []any
	Args    []any
	// NewKey makes a key posted before fail the whole query
	// (ErrDuplicate) instead of replaying: for a gate that writes, which
	// must never stand without its posting.
	NewKey bool
}

// ErrGateClosed means a Row's gate yielded nothing: nothing was written.
var ErrGateClosed = errors.New("ledger: the movement's condition did not hold")

// query is postSQL with r spliced in.
func (r *Row) query() string {
	if r == nil {
		return fmt.Sprintf(postSQL, "SELECT true", replayKey, "", "", "")
	}
	gate, conflict, write, cols, join := "SELECT true", replayKey, "", "", ""
	if r.Gate != "" {
		gate = r.Gate
	}
	if r.NewKey {
		conflict = ""
	}
	if r.Write != "" {
		write, cols, join = ",\n\t"+r.Write, ", "+r.Columns, " LEFT JOIN written ON true"
	}
	return fmt.Sprintf(postSQL, gate, conflict, write, cols, join)
}

// Ledger posts and answers the questions a posting needs first (which
// account is a user's wallet, which is a system account's).
type Ledger struct {
	store *db.Store
	plain string // postSQL without a Row
	// Account ids never change once read: accounts are never deleted or
	// renamed (their entries reference them for ever).
	wallets *cache.Bounded[int64, int64]
	system  *cache.Bounded[string, int64]
	// observe hears of each posting that moved money (not a replay, not a
	// refusal): its kind and how long its query took. nil: nobody.
	observe func(Kind, time.Duration)
}

// Cache bounds: about 100 bytes an entry; one gift income account per
// recipient could otherwise grow the system accounts' with the users.
const (
	maxCachedWallets        = 100_000
	maxCachedSystemAccounts = 10_000
)

// New returns the ledger over store. The plain posting is prepared before
// the first transaction (see db.Store.PrepareForTx).
func New(store *db.Store) *Ledger {
	l := &Ledger{store: store, plain: (*Row)(nil).query(),
		wallets: cache.New[int64, int64](maxCachedWallets), system: cache.New[string, int64](maxCachedSystemAccounts)}
	store.PrepareForTx(l.plain)
	return l
}

// Observe sets the observer of postings (metrics); call it before serving.
func (l *Ledger) Observe(f func(kind Kind, took time.Duration)) { l.observe = f }

// Option says how Post writes a posting.
type Option func(*options)

type options struct {
	tx     *sqlx.Tx
	payer  int64
	covers int64
	row    *Row
}

// InTx posts inside the caller's transaction, which also writes whatever
// caused the posting (the caller retries the whole transaction: see
// db.Store.InTx). Without it, the posting is a query of its own,
// retried after a deadlock.
func InTx(tx *sqlx.Tx) Option { return func(o *options) { o.tx = tx } }

// Covered posts only when wallet payer holds at least amount: a payment
// that must not overdraw. A short balance is ErrInsufficientFunds with
// nothing written (so the caller's transaction can still record the
// refusal) and Posted.Before the balance found. The database's CHECK on
// balances stays the backstop.
func Covered(payer, amount int64) Option {
	return func(o *options) { o.payer, o.covers = payer, amount }
}

// With writes r beside the posting, in the same query.
func With(r *Row) Option { return func(o *options) { o.row = r } }

// Post records p, the only way money moves. Wallets are locked in id
// order, so postings touching the same wallets cannot deadlock each other.
// Posting a key again returns the first result (Replayed) and moves
// nothing; the same key with another request is ErrIdempotencyMismatch.
func (l *Ledger) Post(ctx context.Context, p Posting, opts ...Option) (posted Posted, err error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if err := p.validate(); err != nil {
		return Posted{}, err
	}
	start := time.Now()
	defer func() {
		if l.observe != nil && err == nil && !posted.Replayed {
			l.observe(p.Kind, time.Since(start))
		}
	}()
	hash := p.requestHash()
	ids, amounts := p.columns()
	var payer any // NULL: nobody's balance to cover
	if o.payer != 0 {
		payer = o.payer
	}
	args := []any{p.Key, hash, p.Kind, p.Reference, p.Description, pq.Array(ids), pq.Array(amounts), payer, o.covers}
	q := l.plain
	var dest []any
	if o.row != nil {
		q, dest = o.row.query(), o.row.Dest
		args = append(args, o.row.Args...)
	}
	var res result
	if o.tx != nil {
		res, err = l.run(ctx, o.tx, q, args, dest)
	} else {
		err = db.RetryQuery(ctx, func() error {
			var err error
			res, err = l.run(ctx, nil, q, args, dest)
			return err
		})
	}
	if err != nil {
		return Posted{}, db.MapError(fmt.Errorf("post %q: %w", p.Key, err))
	}
	switch {
	case !res.open:
		return Posted{}, fmt.Errorf("post %q: %w", p.Key, ErrGateClosed)
	case o.payer != 0 && !res.payerFound:
		return Posted{}, fmt.Errorf("post %q: wallet %d: %w", p.Key, o.payer, ErrNotFound)
	case o.payer != 0 && res.before < o.covers:
		return Posted{Before: res.before}, fmt.Errorf("post %q: wallet %d holds %d of %d: %w",
			p.Key, o.payer, res.before, o.covers, ErrInsufficientFunds)
	case res.txnID == 0:
		// The key was there already: this is a retry.
		var reader sqlx.QueryerContext = l.store.DB()
		if o.tx != nil {
			reader = o.tx
		}
		posted, err := replay(ctx, reader, p.Key, hash)
		posted.Before = res.before
		return posted, err
	}
	return Posted{TransactionID: res.txnID, Balances: res.balances, Before: res.before}, nil
}

// result is what postSQL's rows say.
type result struct {
	open       bool
	payerFound bool
	before     int64
	txnID      int64
	balances   map[int64]int64
}

// run executes q, in tx or (nil) on its own, prepared when it can be.
func (l *Ledger) run(ctx context.Context, tx *sqlx.Tx, q string, args, dest []any) (result, error) {
	var rows *sqlx.Rows
	var err error
	if tx != nil {
		rows, err = l.store.TxQueryx(ctx, tx, q, args...)
	} else {
		var st *sqlx.Stmt
		if st, err = l.store.Prepared(ctx, q); err == nil {
			rows, err = st.QueryxContext(ctx, args...)
		}
	}
	if err != nil {
		return result{}, err
	}
	defer rows.Close()
	res := result{balances: map[int64]int64{}}
	for rows.Next() {
		var before, txn, account, after sql.NullInt64
		if err := rows.Scan(append([]any{&res.open, &before, &txn, &account, &after}, dest...)...); err != nil {
			return result{}, err
		}
		res.payerFound, res.before = before.Valid, before.Int64
		if txn.Valid {
			res.txnID = txn.Int64
		}
		if after.Valid {
			res.balances[account.Int64] = after.Int64
		}
	}
	return res, rows.Err()
}

// Replay returns the first result of p's key when it was posted before
// (ErrNotFound otherwise), without posting anything.
func (l *Ledger) Replay(ctx context.Context, q sqlx.QueryerContext, p Posting) (Posted, error) {
	var exists bool
	if err := sqlx.GetContext(ctx, q, &exists, `SELECT EXISTS (SELECT 1 FROM ledger_transactions WHERE idempotency_key = $1)`, p.Key); err != nil {
		return Posted{}, fmt.Errorf("replay %q: %w", p.Key, err)
	}
	if !exists {
		return Posted{}, fmt.Errorf("replay %q: %w", p.Key, ErrNotFound)
	}
	return replay(ctx, q, p.Key, p.requestHash())
}

func replay(ctx context.Context, q sqlx.QueryerContext, key string, hash []byte) (Posted, error) {
	var first struct {
		ID   int64  `db:"id"`
		Hash []byte `db:"request_hash"`
	}
	const firstSQL = `SELECT id, request_hash FROM ledger_transactions WHERE idempotency_key = $1`
	if err := sqlx.GetContext(ctx, q, &first, firstSQL, key); err != nil {
		return Posted{}, fmt.Errorf("post %q: load first result: %w", key, err)
	}
	if string(first.Hash) != string(hash) {
		return Posted{}, fmt.Errorf("post %q: %w", key, ErrIdempotencyMismatch)
	}
	// The last balance_after per wallet: an account with two entries in
	// one transaction ends at its second.
	const entries = `SELECT account_id, balance_after FROM ledger_entries WHERE transaction_id = $1 ORDER BY id`
	rows, err := q.QueryxContext(ctx, entries, first.ID)
	if err != nil {
		return Posted{}, fmt.Errorf("post %q: load first entries: %w", key, err)
	}
	defer rows.Close()
	balances := map[int64]int64{}
	for rows.Next() {
		var id int64
		var after sql.NullInt64
		if err := rows.Scan(&id, &after); err != nil {
			return Posted{}, fmt.Errorf("post %q: load first entries: %w", key, err)
		}
		if after.Valid {
			balances[id] = after.Int64
		}
	}
	if err := rows.Err(); err != nil {
		return Posted{}, fmt.Errorf("post %q: load first entries: %w", key, err)
	}
	return Posted{TransactionID: first.ID, Replayed: true, Balances: balances}, nil
}
