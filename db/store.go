// Package db is the plumbing every domain package's SQL runs on: the pool
// and its settings, the embedded migrations, transactions (Store.InTx, the
// one way to open one), prepared queries, the advisory lock classes and the
// mapping of constraint violations to typed errors. The SQL itself lives
// with the domain that runs it (account, ledger, recharge, spend,
// statement, center). It knows nothing about HTTP.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Errors the store returns in place of driver errors.
var (
	ErrNotFound            = errors.New("db: not found")
	ErrDuplicate           = errors.New("db: duplicate")
	ErrInsufficientFunds   = errors.New("db: insufficient funds")
	ErrIdempotencyMismatch = errors.New("db: idempotency key reused with a different request")
	ErrUnbalanced          = errors.New("db: ledger transaction does not balance")
)

// maxTxAttempts bounds retries of serialization failures and deadlocks:
// enough to ride out contention, few enough that a caller still gets an answer.
const maxTxAttempts = 5

// Store runs queries against one PostgreSQL database, and optionally a
// streaming replica of it for the reads that may trail (see NewWithReplica).
type Store struct {
	db *sqlx.DB
	// Several instances run over one database, each with its own Store;
	// the store caches nothing but prepared queries. Sessions,
	// throttles, maintenance and balances are read from PostgreSQL on
	// every request, so instances cannot disagree.
	//
	// replica serves the history, the statement export and the monthly
	// summary when set; nil: everything reads from db.
	replica *sqlx.DB
	// txPrepared is set once txQueries are prepared (see InTx); txMu
	// guards txQueries, named by PrepareForTx.
	txPrepared atomic.Bool
	txMu       sync.Mutex
	txQueries  []string
	// stmts holds the queries prepared on first use (see prepared.go).
	stmts sync.Map
}

// New wraps an open connection pool.
func New(conn *sqlx.DB) *Store { return &Store{db: conn} }

// DB exposes the pool for migrations and tests.
func (s *Store) DB() *sqlx.DB { return s.db }

// Open connects to url and checks the server answers. The pool is bounded so
// that load beyond it queues in Go instead of exhausting the server.
func Open(ctx context.Context, url string, maxConns int) (*sqlx.DB, error) {
	return OpenBounded(ctx, url, maxConns, 0)
}

// WithAppSettings adds the connection settings the app is built for,
// unless the caller chose a value:
//
//   - binary_parameters=yes (lib/pq): a parameterised query then costs one
//     exchange with the server (Parse, Bind, Execute together) instead of
//     two. Its price is that every []byte parameter goes in binary format,
//     which only bytea reads as intended: JSON and text must be passed as
//     strings.
//   - plan_cache_mode=force_generic_plan (PostgreSQL): a prepared query
//     is planned once per connection. Left to itself, PostgreSQL kept
//     planning the hot queries afresh on every run, because their
//     generic plans' estimates (parameters unknown) look far worse than
//     the custom ones, and the planning cost more than running them: the
//     account center's query ran 6,700 times a second on the bench
//     cluster that way, 38,000 with the generic plan. The few queries whose
//     plan must see their parameters run through Store.SelectCustom.
//
// rawURL may be a postgres:// URL or a key=value connection string.
func WithAppSettings(rawURL string) string {
	settings := [][2]string{{"binary_parameters", "yes"}, {"plan_cache_mode", "force_generic_plan"}}
	if strings.HasPrefix(rawURL, "postgres://") || strings.HasPrefix(rawURL, "postgresql://") {
		u, err := url.Parse(rawURL)
		if err != nil {
			return rawURL // let the driver report the malformed URL
		}
		q := u.Query()
		for _, kv := range settings {
			if !q.Has(kv[0]) {
				q.Set(kv[0], kv[1])
			}
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	for _, kv := range settings {
		if !strings.Contains(rawURL, kv[0]) {
			rawURL = strings.TrimSpace(rawURL + " " + kv[0] + "=" + kv[1])
		}
	}
	return rawURL
}

// SelectCustom is SelectContext for a query whose good plan depends on its
// parameters' values (optional filters written "$n IS NULL OR ...", a
// keyset cursor that may be 0): it runs in a read-only transaction that
// plans it for them (see WithAppSettings), at the price of three more
// exchanges with the server.
func (s *Store) SelectCustom(ctx context.Context, conn *sqlx.DB, dest any, q string, args ...any) error {
	tx, err := conn.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SET LOCAL plan_cache_mode = force_custom_plan`); err != nil {
		return err
	}
	if err := tx.SelectContext(ctx, dest, q, args...); err != nil {
		return err
	}
	return tx.Commit()
}

// Ready says whether the database answers and holds this binary's schema.
// The replica is left out on purpose: every instance shares it, so a
// replica down would take every instance out of the load balancer and the
// whole site with it, when only the history, the export and the summary
// need it. Those fail alone instead (an error page).
func (s *Store) Ready(ctx context.Context) error { return SchemaCurrent(ctx, s.db) }

// ReplicaReady says whether the replica, when there is one, answers and has
// replayed this binary's schema (nil without a replica), for tests and
// tools.
func (s *Store) ReplicaReady(ctx context.Context) error {
	if s.replica == nil {
		return nil
	}
	if err := SchemaCurrent(ctx, s.replica); err != nil {
		return fmt.Errorf("replica: %w", err)
	}
	return nil
}

// InTx runs fn in a transaction and commits it. A serialization failure or a
// deadlock aborts the whole transaction, so the retry has to wrap all of fn,
// not a single query; fn must therefore be safe to run again.
func (s *Store) InTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	var err error
	for attempt := 1; attempt <= maxTxAttempts; attempt++ {
		err = s.inTxOnce(ctx, fn)
		if !Retryable(err) || attempt == maxTxAttempts {
			return err
		}
		if berr := backoff(ctx, attempt); berr != nil {
			return errors.Join(err, berr)
		}
	}
	return err
}

// RetryQuery runs fn, one query outside any transaction, again
// after a serialization failure or a deadlock (two payments crossing each
// other), as InTx does for a whole transaction.
func RetryQuery(ctx context.Context, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if !Retryable(err) || attempt == maxTxAttempts {
			return err
		}
		if berr := backoff(ctx, attempt); berr != nil {
			return errors.Join(err, berr)
		}
	}
}

// backoff waits before retry number attempt+1, jittered so that colliding
// transactions do not collide again, or until ctx ends.
func backoff(ctx context.Context, attempt int) error {
	pause := time.Duration(attempt*attempt)*time.Millisecond + rand.N(5*time.Millisecond)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(pause):
		return nil
	}
}

func (s *Store) inTxOnce(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	s.prepareTxQueries(ctx)
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return MapError(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// PrepareForTx names hot queries run inside transactions (postings, the
// order marked paid, the gift recorded), to be prepared before the first
// transaction begins: preparing takes a pool connection, and a transaction
// waiting for a second one could wait for ever once every connection is
// held by a transaction doing the same. Each connection then prepares them
// once, on its own, the first time a transaction on it runs one, and
// TxStmt finds them. Each domain package names its own while it is wired,
// before any transaction.
func (s *Store) PrepareForTx(queries ...string) {
	s.txMu.Lock()
	defer s.txMu.Unlock()
	s.txQueries = append(s.txQueries, queries...)
	s.txPrepared.Store(false)
}

// prepareTxQueries prepares the txQueries until it once succeeds; a
// failure (the database away) leaves them to run unprepared.
func (s *Store) prepareTxQueries(ctx context.Context) {
	if s.txPrepared.Load() {
		return
	}
	s.txMu.Lock()
	defer s.txMu.Unlock()
	for _, q := range s.txQueries {
		if _, err := s.Prepared(ctx, q); err != nil {
			return
		}
	}
	s.txPrepared.Store(true)
}

// TxStmt is q's prepared query bound to tx, or nil when q was not
// prepared yet (then the caller runs it unprepared). It never prepares:
// see PrepareForTx.
func (s *Store) TxStmt(ctx context.Context, tx *sqlx.Tx, q string) *sqlx.Stmt {
	st, ok := s.stmts.Load(q)
	if !ok {
		return nil
	}
	return tx.StmtxContext(ctx, st.(*sqlx.Stmt))
}

// TxQueryx runs q in tx, prepared when it can be.
func (s *Store) TxQueryx(ctx context.Context, tx *sqlx.Tx, q string, args ...any) (*sqlx.Rows, error) {
	if st := s.TxStmt(ctx, tx, q); st != nil {
		return st.QueryxContext(ctx, args...)
	}
	return tx.QueryxContext(ctx, q, args...)
}

// TxGet is TxQueryx for one row.
func (s *Store) TxGet(ctx context.Context, tx *sqlx.Tx, dest any, q string, args ...any) error {
	if st := s.TxStmt(ctx, tx, q); st != nil {
		return st.GetContext(ctx, dest, args...)
	}
	return tx.GetContext(ctx, dest, q, args...)
}

// Retryable says whether err is a serialization failure or a deadlock: the
// whole transaction may be run again.
func Retryable(err error) bool {
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) {
		return false
	}
	return pqErr.Code == "40001" || pqErr.Code == "40P01"
}

// MapError turns constraint violations into the store's typed errors while
// keeping the original in the chain for logs.
func MapError(err error) error {
	if err == nil {
		return nil
	}
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) {
		return err
	}
	switch {
	case pqErr.Code == "23514" && pqErr.Constraint == "accounts_balance_nonnegative":
		return fmt.Errorf("%w: %w", ErrInsufficientFunds, err)
	case pqErr.Code == "23514" && pqErr.Constraint == "ledger_balanced":
		return fmt.Errorf("%w: %w", ErrUnbalanced, err)
	case pqErr.Code == "23505":
		return fmt.Errorf("%w: %w", ErrDuplicate, err)
	case pqErr.Code == "23503":
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

// NotFound maps sql.ErrNoRows to ErrNotFound and adds what was looked up.
func NotFound(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}
