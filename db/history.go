package db

import (
	"context"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// HistoryLine is one ledger entry of a wallet, with the transaction behind it.
type HistoryLine struct {
	EntryID      int64     `db:"entry_id"`
	At           time.Time `db:"created_at"`
	Kind         TxnKind   `db:"kind"`
	Reference    string    `db:"reference"`
	Description  string    `db:"description"`
	Amount       int64     `db:"amount"`
	BalanceAfter int64     `db:"balance_after"`
}

// HistoryQuery selects a page of a wallet's entries, newest first. BeforeID
// is the keyset cursor: the last entry id of the previous page (0 = first
// page), so deep pages cost the same as the first.
type HistoryQuery struct {
	AccountID int64
	Kinds     []TxnKind // empty = all
	From, To  time.Time // zero = unbounded; To is exclusive
	BeforeID  int64
	Limit     int
}

// History returns the entries matching q.
func (s *Store) History(ctx context.Context, q HistoryQuery) ([]HistoryLine, error) {
	kinds := make([]string, len(q.Kinds))
	for i, k := range q.Kinds {
		kinds[i] = string(k)
	}
	var from, to *time.Time
	if !q.From.IsZero() {
		from = &q.From
	}
	if !q.To.IsZero() {
		to = &q.To
	}
	const sql = `
		SELECT e.id AS entry_id, e.created_at, t.kind, t.reference, t.description, e.amount, e.balance_after
		  FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
		 WHERE e.account_id = $1
		   AND ($2::bigint = 0 OR e.id < $2::bigint)
		   AND (cardinality($3::text[]) = 0 OR t.kind::text = ANY($3))
		   AND ($4::timestamptz IS NULL OR e.created_at >= $4)
		   AND ($5::timestamptz IS NULL OR e.created_at < $5)
		 ORDER BY e.id DESC
		 LIMIT $6`
	var lines []HistoryLine
	if err := s.selectCustom(ctx, s.reader(), &lines, sql, q.AccountID, q.BeforeID, pq.Array(kinds), from, to, q.Limit); err != nil {
		return nil, fmt.Errorf("history of account %d: %w", q.AccountID, err)
	}
	return lines, nil
}
