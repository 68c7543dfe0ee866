package db

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// TxnKind says what moved money; it matches the txn_kind enum.
type TxnKind string

// Ledger transaction kinds.
const (
	KindGrant    TxnKind = "grant"
	KindTopup    TxnKind = "topup"
	KindBonus    TxnKind = "bonus"
	KindPurchase TxnKind = "purchase"
	KindGift     TxnKind = "gift"
	KindCharge   TxnKind = "charge"
	KindRefund   TxnKind = "refund"
	KindTransfer TxnKind = "transfer"
	KindReversal TxnKind = "reversal"
)

// Kinds lists every kind, in the order filters show them.
var Kinds = []TxnKind{KindTopup, KindBonus, KindGrant, KindPurchase, KindGift, KindCharge, KindRefund, KindTransfer, KindReversal}

// maxEntryAmount keeps any sum of a transaction's entries far from int64
// overflow (10^15 fen is ten trillion yuan).
const maxEntryAmount = 1_000_000_000_000_000

// Entry moves Amount fen (signed, non-zero) into or out of an account.
type Entry struct {
	AccountID int64
	Amount    int64
}

// Posting is one ledger transaction: entries that sum to zero, under a key
// that makes retries safe.
type Posting struct {
	Key         string
	Kind        TxnKind
	Reference   string // what caused it, e.g. "user:42" or "order:2026..."
	Description string // a locale catalog code naming the movement, e.g. "welcome_grant"
	Entries     []Entry
}

// Posted is the outcome of a posting; for a replayed key it is the first
// outcome, unchanged.
type Posted struct {
	TransactionID int64
	Replayed      bool
	// Balances holds each wallet's balance after the transaction (system
	// accounts keep no cached balance and are absent).
	Balances map[int64]int64
}

func (p Posting) validate() error {
	if p.Key == "" || len(p.Key) > 200 {
		return fmt.Errorf("posting: idempotency key must be 1-200 bytes")
	}
	if !slices.Contains(Kinds, p.Kind) {
		return fmt.Errorf("posting: unknown kind %q", p.Kind)
	}
	if len(p.Entries) < 2 {
		return fmt.Errorf("%w: posting %q has %d entries, needs at least 2", ErrUnbalanced, p.Key, len(p.Entries))
	}
	var sum int64
	for _, e := range p.Entries {
		if e.Amount == 0 || e.Amount > maxEntryAmount || e.Amount < -maxEntryAmount {
			return fmt.Errorf("posting %q: entry amount %d out of range", p.Key, e.Amount)
		}
		sum += e.Amount
	}
	if sum != 0 {
		return fmt.Errorf("%w: posting %q sums to %d", ErrUnbalanced, p.Key, sum)
	}
	return nil
}

// requestHash fingerprints everything that makes a posting what it is, so a
// key reused for another request is detected rather than silently replayed.
func (p Posting) requestHash() []byte {
	h := sha256.New()
	for _, s := range []string{string(p.Kind), p.Reference, p.Description} {
		binary.Write(h, binary.BigEndian, int64(len(s)))
		h.Write([]byte(s))
	}
	entries := slices.Clone(p.Entries)
	slices.SortFunc(entries, func(a, b Entry) int {
		if a.AccountID != b.AccountID {
			return cmpInt(a.AccountID, b.AccountID)
		}
		return cmpInt(a.Amount, b.Amount)
	})
	for _, e := range entries {
		binary.Write(h, binary.BigEndian, e.AccountID)
		binary.Write(h, binary.BigEndian, e.Amount)
	}
	return h.Sum(nil)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// postSQL is a posting in one statement, so it costs one exchange with the
// server rather than three. Its parts run in this order:
//  1. txn inserts the key first: a concurrent twin waits here on the
//     unique index, holding no wallet locks, and then finds no row, so
//     nothing below happens and the first result is replayed;
//  2. locked takes the wallets' row locks in id order, so two postings
//     touching the same wallets cannot deadlock each other. The entries are
//     built from a join with locked's count, an aggregate that must have
//     read (and locked) every wallet before it yields its one row, and
//     sorted, so no entry is inserted before every lock is held;
//  3. the entry trigger updates each wallet's balance and fills
//     balance_after; WITH ORDINALITY keeps the caller's entry order.
const postSQL = `
	WITH txn AS (
		INSERT INTO ledger_transactions (idempotency_key, request_hash, kind, reference, description)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (idempotency_key) DO NOTHING
		RETURNING id),
	` + postLockAndInsert + `
	SELECT transaction_id, account_id, balance_after FROM entries`

// postLockAndInsert is steps 2 and 3 of postSQL, shared with debitSQL.
const postLockAndInsert = `locked AS (
		SELECT id FROM accounts
		 WHERE id = ANY($6::bigint[]) AND balance IS NOT NULL AND EXISTS (SELECT 1 FROM txn)
		 ORDER BY id FOR UPDATE),
	entries AS (
		INSERT INTO ledger_entries (transaction_id, account_id, amount)
		SELECT txn.id, t.a, t.m
		  FROM txn, (SELECT count(*) FROM locked) l,
		       unnest($6::bigint[], $7::bigint[]) WITH ORDINALITY AS t(a, m, n)
		 ORDER BY t.n
		RETURNING transaction_id, account_id, balance_after)`

// debitSQL is postSQL for a payment out of one wallet ($8) that must hold
// at least $9. Every wallet of the posting is locked first, in id order
// like postSQL's, and the payer's balance read from those locked rows; when
// it is short nothing is written, so the caller's transaction stays usable
// for the refusal. (Locking the payer alone first would deadlock two
// payments crossing each other, A to B and B to A.) The join with locked's
// count holds everything back until every lock is taken. Every row carries
// the payer's balance before the posting; with no entries there is one row
// of it, and none when the payer's wallet does not exist.
var debitSQL = debitCTEs + `
	SELECT payer.balance, e.transaction_id, e.account_id, e.balance_after
	  FROM payer LEFT JOIN entries e ON true`

// debitCTEs is debitSQL without its final SELECT, shared with chargeSQL.
var debitCTEs = debitCTEsWhere("")

// debitCTEsWhere is debitCTEs posting only when cond (SQL: "AND ...") holds
// as well as the balance.
func debitCTEsWhere(cond string) string {
	return `
	WITH locked AS MATERIALIZED (
		SELECT id, balance FROM accounts
		 WHERE id = ANY($6::bigint[]) AND balance IS NOT NULL
		 ORDER BY id FOR UPDATE),
	payer AS (
		SELECT l.balance FROM locked l, (SELECT count(*) FROM locked) c WHERE l.id = $8),
	txn AS (
		INSERT INTO ledger_transactions (idempotency_key, request_hash, kind, reference, description)
		SELECT $1::text, $2::bytea, $3::txn_kind, $4::text, $5::text FROM payer WHERE payer.balance >= $9::bigint ` + cond + `
		ON CONFLICT (idempotency_key) DO NOTHING
		RETURNING id),
	entries AS (
		INSERT INTO ledger_entries (transaction_id, account_id, amount)
		SELECT txn.id, t.a, t.m
		  FROM txn, unnest($6::bigint[], $7::bigint[]) WITH ORDINALITY AS t(a, m, n)
		 ORDER BY t.n
		RETURNING transaction_id, account_id, balance_after)`
}

// Post records a ledger transaction inside the caller's database transaction
// (which also changes the order, purchase or gift behind it). Wallets are
// locked in id order, so two postings touching the same wallets cannot
// deadlock each other; overdraft is refused by the database with
// ErrInsufficientFunds. Posting a key again returns the first result and
// moves nothing; the same key with a different request is
// ErrIdempotencyMismatch. Wrap the caller's work in Store.InTx to get
// bounded retries of serialization failures and deadlocks. Store.Post is
// the same with a prepared statement.
func Post(ctx context.Context, tx *sqlx.Tx, p Posting) (Posted, error) {
	return post(ctx, tx, nil, p)
}

// Post is db.Post through a prepared statement (see txStatements): the
// server then neither parses nor plans the posting again.
func (s *Store) Post(ctx context.Context, tx *sqlx.Tx, p Posting) (Posted, error) {
	start := time.Now()
	posted, err := post(ctx, tx, s.TxStmt(ctx, tx, postSQL), p)
	s.posted(p.Kind, start, err == nil && !posted.Replayed)
	return posted, err
}

func post(ctx context.Context, tx *sqlx.Tx, st *sqlx.Stmt, p Posting) (Posted, error) {
	if err := p.validate(); err != nil {
		return Posted{}, err
	}
	hash := p.requestHash()
	ids, amounts := p.columns()
	args := []any{p.Key, hash, p.Kind, p.Reference, p.Description, pq.Array(ids), pq.Array(amounts)}
	var rows *sqlx.Rows
	var err error
	if st != nil {
		rows, err = tx.StmtxContext(ctx, st).QueryxContext(ctx, args...)
	} else {
		rows, err = tx.QueryxContext(ctx, postSQL, args...)
	}
	if err != nil {
		return Posted{}, MapError(fmt.Errorf("post %q: %w", p.Key, err))
	}
	txnID, balances, err := scanPosted(rows)
	if err != nil {
		return Posted{}, MapError(fmt.Errorf("post %q: %w", p.Key, err))
	}
	if txnID == 0 {
		// The key was there already: this is a retry.
		return replay(ctx, tx, p.Key, hash)
	}
	return Posted{TransactionID: txnID, Balances: balances}, nil
}

// PostDebit posts p, a payment of amount out of wallet payer (p's entries
// include it), when the wallet holds at least amount. It returns the
// wallet's balance before the posting. A short balance is
// ErrInsufficientFunds with nothing written, so tx can still record the
// refusal; the database's CHECK stays the backstop. A key posted before
// replays the first result, as with Post (only when the balance would
// cover it again: a caller that sees ErrInsufficientFunds should ask
// Replay).
func (s *Store) PostDebit(ctx context.Context, tx *sqlx.Tx, p Posting, payer, amount int64) (Posted, int64, error) {
	return s.debit(ctx, tx, func(args ...any) (*sqlx.Rows, error) { return s.TxQueryx(ctx, tx, debitSQL, args...) },
		p, payer, amount)
}

// DebitNow is PostDebit as a statement of its own, outside any
// transaction: one exchange with the server and one commit. It suits a
// payment with nothing else to write beside it. A deadlock with a payment
// crossing it (each locks its payer first) is retried, as InTx would.
func (s *Store) DebitNow(ctx context.Context, p Posting, payer, amount int64) (Posted, int64, error) {
	st, err := s.Prepared(ctx, debitSQL)
	if err != nil {
		return Posted{}, 0, fmt.Errorf("debit %q: %w", p.Key, err)
	}
	for attempt := 1; ; attempt++ {
		posted, balance, err := s.debit(ctx, s.db, func(args ...any) (*sqlx.Rows, error) {
			return st.QueryxContext(ctx, args...)
		}, p, payer, amount)
		if !Retryable(err) || attempt == maxTxAttempts {
			return posted, balance, err
		}
		if berr := backoff(ctx, attempt); berr != nil {
			return posted, balance, errors.Join(err, berr)
		}
	}
}

// debit is PostDebit and DebitNow: run executes debitSQL, and q reads a
// replayed key's first result.
func (s *Store) debit(ctx context.Context, q sqlx.QueryerContext, run func(args ...any) (*sqlx.Rows, error),
	p Posting, payer, amount int64) (posted Posted, before int64, err error) {
	start := time.Now()
	defer func() { s.posted(p.Kind, start, err == nil && !posted.Replayed) }()
	if err := p.validate(); err != nil {
		return Posted{}, 0, err
	}
	hash := p.requestHash()
	ids, amounts := p.columns()
	rows, err := run(p.Key, hash, p.Kind, p.Reference, p.Description, pq.Array(ids), pq.Array(amounts), payer, amount)
	if err != nil {
		return Posted{}, 0, MapError(fmt.Errorf("debit %q: %w", p.Key, err))
	}
	found, balance, txnID, balances, err := scanDebited(rows)
	switch {
	case err != nil:
		return Posted{}, 0, MapError(fmt.Errorf("debit %q: %w", p.Key, err))
	case !found:
		return Posted{}, 0, fmt.Errorf("debit %q: wallet %d: %w", p.Key, payer, ErrNotFound)
	case balance < amount:
		return Posted{}, balance, fmt.Errorf("debit %q: wallet %d holds %d of %d: %w", p.Key, payer, balance, amount, ErrInsufficientFunds)
	case txnID == 0:
		posted, err := replay(ctx, q, p.Key, hash)
		return posted, balance, err
	}
	return Posted{TransactionID: txnID, Balances: balances}, balance, nil
}

// columns splits the entries into the two arrays the statements take.
func (p Posting) columns() (ids, amounts []int64) {
	ids = make([]int64, 0, len(p.Entries))
	amounts = make([]int64, 0, len(p.Entries))
	for _, e := range p.Entries {
		ids = append(ids, e.AccountID)
		amounts = append(amounts, e.Amount)
	}
	return ids, amounts
}

// scanDebited reads debitSQL's rows: whether the payer's wallet exists, its
// balance before, and what scanPosted reads.
func scanDebited(rows *sqlx.Rows) (found bool, balance, txnID int64, out map[int64]int64, err error) {
	defer rows.Close()
	out = map[int64]int64{}
	for rows.Next() {
		var txn, id, after sql.NullInt64
		if err := rows.Scan(&balance, &txn, &id, &after); err != nil {
			return false, 0, 0, nil, err
		}
		found = true
		if txn.Valid {
			txnID = txn.Int64
		}
		if after.Valid {
			out[id.Int64] = after.Int64
		}
	}
	return found, balance, txnID, out, rows.Err()
}

// scanPosted reads the entries a posting inserted: the transaction id (0
// when none were inserted) and each wallet's balance after it.
func scanPosted(rows *sqlx.Rows) (int64, map[int64]int64, error) {
	defer rows.Close()
	var txnID int64
	out := map[int64]int64{}
	for rows.Next() {
		var id int64
		var after sql.NullInt64
		if err := rows.Scan(&txnID, &id, &after); err != nil {
			return 0, nil, err
		}
		if after.Valid {
			out[id] = after.Int64
		}
	}
	return txnID, out, rows.Err()
}

// Replay returns the first result of p's key when it was posted before
// (ErrNotFound otherwise), without posting anything.
func Replay(ctx context.Context, q sqlx.QueryerContext, p Posting) (Posted, error) {
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
	const entries = `SELECT account_id, balance_after FROM ledger_entries WHERE transaction_id = $1 ORDER BY id`
	rows, err := q.QueryxContext(ctx, entries, first.ID)
	if err != nil {
		return Posted{}, fmt.Errorf("post %q: load first entries: %w", key, err)
	}
	balances, err := scanBalances(rows)
	if err != nil {
		return Posted{}, fmt.Errorf("post %q: load first entries: %w", key, err)
	}
	return Posted{TransactionID: first.ID, Replayed: true, Balances: balances}, nil
}

// scanBalances keeps the last balance_after per wallet: an account with two
// entries in one transaction ends at its second.
func scanBalances(rows *sqlx.Rows) (map[int64]int64, error) {
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var id int64
		var after sql.NullInt64
		if err := rows.Scan(&id, &after); err != nil {
			return nil, err
		}
		if after.Valid {
			out[id] = after.Int64
		}
	}
	return out, rows.Err()
}

// PostTransaction posts p in a transaction of its own, with retries.
func (s *Store) PostTransaction(ctx context.Context, p Posting) (Posted, error) {
	var out Posted
	err := s.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		out, err = s.Post(ctx, tx, p)
		return err
	})
	return out, err
}

// Balance returns a wallet's cached balance.
func (s *Store) Balance(ctx context.Context, accountID int64) (int64, error) {
	var b sql.NullInt64
	err := s.db.GetContext(ctx, &b, `SELECT balance FROM accounts WHERE id = $1`, accountID)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !b.Valid) {
		return 0, fmt.Errorf("balance of account %d: %w", accountID, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("balance of account %d: %w", accountID, err)
	}
	return b.Int64, nil
}

// SystemAccountID looks up a system account by its code (e.g. "grants").
func (s *Store) SystemAccountID(ctx context.Context, code string) (int64, error) {
	if id, ok := s.sysAccounts.Load(code); ok {
		return id.(int64), nil
	}
	var id int64
	err := s.db.GetContext(ctx, &id, `SELECT id FROM accounts WHERE kind = 'system' AND code = $1`, code)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("system account %q: %w", code, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("system account %q: %w", code, err)
	}
	s.rememberSystemAccount(code, id)
	return id, nil
}

// maxCachedWallets bounds WalletOf's cache (about 100 bytes a user).
const maxCachedWallets = 100_000

// WalletOf returns the id of a user's wallet, reading through q (the
// caller's transaction, so it never needs a second pool connection) only
// the first time: a user's wallet is created with the user and never
// changes or goes away (accounts are never deleted; their entries
// reference them for ever), so a cached id cannot go stale. Every spend
// needs it before its statement, to fingerprint the request.
func (s *Store) WalletOf(ctx context.Context, q sqlx.QueryerContext, userID int64) (int64, error) {
	if id, ok := s.wallets.Load(userID); ok {
		return id.(int64), nil
	}
	var id int64
	err := sqlx.GetContext(ctx, q, &id, `SELECT id FROM accounts WHERE user_id = $1 AND kind = 'wallet'`, userID)
	if err != nil {
		return 0, NotFound(err, "wallet of user %d", userID)
	}
	if s.walletsCount.Load() < maxCachedWallets {
		if _, loaded := s.wallets.LoadOrStore(userID, id); !loaded {
			s.walletsCount.Add(1)
		}
	}
	return id, nil
}

// maxCachedSystemAccounts bounds the cache of system account ids: one gift
// income account per recipient could otherwise grow it with the users.
const maxCachedSystemAccounts = 10_000

// rememberSystemAccount caches a code's account id. The mapping never
// changes (accounts are never deleted or renamed: their entries reference
// them for ever), so a cached id cannot go stale, and every top-up, charge
// and gift saves a query.
func (s *Store) rememberSystemAccount(code string, id int64) {
	if s.sysCount.Load() >= maxCachedSystemAccounts {
		return
	}
	if _, loaded := s.sysAccounts.LoadOrStore(code, id); !loaded {
		s.sysCount.Add(1)
	}
}

// EnsureSystemAccount returns the system account with code, creating it
// if needed; concurrent callers get the same account. It takes two
// statements on purpose: an INSERT that meets a concurrent twin waits for
// it to commit, and only a new statement's snapshot can then see its row.
func (s *Store) EnsureSystemAccount(ctx context.Context, code string) (int64, error) {
	// Nearly always the account exists: a cached id or a read finds it,
	// without a write.
	if id, err := s.SystemAccountID(ctx, code); !errors.Is(err, ErrNotFound) {
		return id, err
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO accounts (kind, code) VALUES ('system', $1) ON CONFLICT (code) DO NOTHING`, code); err != nil {
		return 0, fmt.Errorf("create system account %q: %w", code, err)
	}
	return s.SystemAccountID(ctx, code)
}
