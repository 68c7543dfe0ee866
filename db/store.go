// Package db is the store: typed methods over sqlx for users, sessions,
// throttling and the double-entry ledger, plus the embedded migrations.
// It knows nothing about HTTP.
package db

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
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

// Store runs queries against one PostgreSQL database.
type Store struct {
	db *sqlx.DB
	// sysAccounts caches system account ids by code (see SystemAccountID).
	sysAccounts sync.Map
	sysCount    atomic.Int64
}

// New wraps an open connection pool.
func New(conn *sqlx.DB) *Store { return &Store{db: conn} }

// DB exposes the pool for migrations and tests.
func (s *Store) DB() *sqlx.DB { return s.db }

// Open connects to url and checks the server answers. The pool is bounded so
// that load beyond it queues in Go instead of exhausting the server.
func Open(ctx context.Context, url string, maxConns int) (*sqlx.DB, error) {
	conn, err := sqlx.Open("postgres", url)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	conn.SetMaxOpenConns(maxConns)
	conn.SetMaxIdleConns(maxConns)
	conn.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := conn.PingContext(pingCtx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("reach database: %w", err)
	}
	return conn, nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// InTx runs fn in a transaction and commits it. A serialization failure or a
// deadlock aborts the whole transaction, so the retry has to wrap all of fn,
// not a single statement; fn must therefore be safe to run again.
func (s *Store) InTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	var err error
	for attempt := 1; attempt <= maxTxAttempts; attempt++ {
		err = s.inTxOnce(ctx, fn)
		if !retryable(err) || attempt == maxTxAttempts {
			return err
		}
		// Jittered backoff so colliding transactions do not collide again.
		pause := time.Duration(attempt*attempt)*time.Millisecond + rand.N(5*time.Millisecond)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(pause):
		}
	}
	return err
}

func (s *Store) inTxOnce(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return mapError(fmt.Errorf("commit: %w", err))
	}
	return nil
}

func retryable(err error) bool {
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) {
		return false
	}
	return pqErr.Code == "40001" || pqErr.Code == "40P01"
}

// mapError turns constraint violations into the store's typed errors while
// keeping the original in the chain for logs.
func mapError(err error) error {
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
