package db

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// Prepared returns q prepared on the pool, preparing it on first use. The
// hot queries of every page view and charge go this way: a prepared
// query costs one exchange instead of two, and PostgreSQL keeps its
// plan, which for the account center's query costs more than running
// it. The pool prepares it again on each connection as needed, after a
// reconnect too. It takes a pool connection the first time: inside a
// transaction, use TxStmt on a query prepared before it began.
func (s *Store) Prepared(ctx context.Context, q string) (*sqlx.Stmt, error) {
	if st, ok := s.stmts.Load(q); ok {
		return st.(*sqlx.Stmt), nil
	}
	st, err := s.db.PreparexContext(ctx, q)
	if err != nil {
		return nil, MapError(fmt.Errorf("prepare: %w", err))
	}
	if prev, loaded := s.stmts.LoadOrStore(q, st); loaded {
		st.Close()
		return prev.(*sqlx.Stmt), nil
	}
	return st, nil
}
