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

// accountRangeSQL matches the entries of account $1, written as a range so
// that ordering by (account_id, id) keeps the account's index (see History).
const accountRangeSQL = `e.account_id >= $1 AND e.account_id <= $1`

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
//
// The account is matched as a range of one (accountRangeSQL) and the rows
// ordered by (account_id, id), the order of the account's own index. Asked
// for "account_id = $1 ORDER BY id", the planner may instead walk the whole
// ledger's primary key backwards, expecting to meet the account's entries
// at once; for a person whose many entries all lie under newer ones of
// other people it read 889,000 rows for one page (764 ms on the bench's
// 10M-entry ledger; 0.5 ms this way). An equality would let the planner
// drop account_id from the ordering as a constant and take that walk again.
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
		 WHERE ` + accountRangeSQL + `
		   AND ($2::bigint = 0 OR e.id < $2::bigint)
		   AND (cardinality($3::text[]) = 0 OR t.kind::text = ANY($3))
		   AND ($4::timestamptz IS NULL OR e.created_at >= $4)
		   AND ($5::timestamptz IS NULL OR e.created_at < $5)
		 ORDER BY e.account_id DESC, e.id DESC
		 LIMIT $6`
	var lines []HistoryLine
	if err := s.SelectCustom(ctx, s.Reader(), &lines, sql, q.AccountID, q.BeforeID, pq.Array(kinds), from, to, q.Limit); err != nil {
		return nil, fmt.Errorf("history of account %d: %w", q.AccountID, err)
	}
	return lines, nil
}
