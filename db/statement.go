package db

import (
	"context"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// StatementQuery selects one page of a wallet's entries for an export,
// oldest first. AfterID is the keyset cursor (the last entry id of the
// previous page, 0 for the first); UpToID pins the export to the entries
// that existed when it began, so a download is one consistent statement
// even while money keeps moving, without holding a transaction open for as
// long as a slow client takes to read it.
type StatementQuery struct {
	AccountID int64
	Kinds     []TxnKind // empty = all
	From, To  time.Time // zero = unbounded; To is exclusive
	AfterID   int64
	UpToID    int64
	Limit     int
}

// StatementPage returns the entries matching q, in entry order.
func (s *Store) StatementPage(ctx context.Context, q StatementQuery) ([]HistoryLine, error) {
	const sql = `
		SELECT e.id AS entry_id, e.created_at, t.kind, t.reference, t.description, e.amount, e.balance_after
		  FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
		 WHERE ` + accountRangeSQL + `
		   AND e.id > $2 AND e.id <= $3
		   AND (cardinality($4::text[]) = 0 OR t.kind::text = ANY($4))
		   AND ($5::timestamptz IS NULL OR e.created_at >= $5)
		   AND ($6::timestamptz IS NULL OR e.created_at < $6)
		 ORDER BY e.account_id, e.id -- the account's index, as in History
		 LIMIT $7`
	var lines []HistoryLine
	err := s.SelectCustom(ctx, s.Reader(), &lines, sql, q.AccountID, q.AfterID, q.UpToID,
		pq.Array(kindStrings(q.Kinds)), nullTime(q.From), nullTime(q.To), q.Limit)
	if err != nil {
		return nil, fmt.Errorf("statement page of account %d after entry %d: %w", q.AccountID, q.AfterID, err)
	}
	return lines, nil
}

// LastEntryID is the newest entry id of an account (0 when it has none).
func (s *Store) LastEntryID(ctx context.Context, accountID int64) (int64, error) {
	const sql = `SELECT coalesce(max(id), 0) FROM ledger_entries WHERE account_id = $1`
	var id int64
	if err := s.Reader().GetContext(ctx, &id, sql, accountID); err != nil {
		return 0, fmt.Errorf("last entry of account %d: %w", accountID, err)
	}
	return id, nil
}

// MonthKindTotal is what one kind of transaction moved into and out of a
// wallet in one calendar month.
type MonthKindTotal struct {
	Month time.Time `db:"month"` // the month's first instant in the zone asked for
	Kind  TxnKind   `db:"kind"`
	In    int64     `db:"money_in"`  // sum of the positive entries
	Out   int64     `db:"money_out"` // sum of the negative entries, as a positive number
}

// MonthlyTotals sums a wallet's entries in [from, to) by calendar month in
// zone (an IANA name such as "Asia/Shanghai") and by kind. PostgreSQL cuts
// the months, so a month boundary falls where the reader's calendar puts it,
// daylight saving included.
func (s *Store) MonthlyTotals(ctx context.Context, accountID int64, zone string, from, to time.Time) ([]MonthKindTotal, error) {
	const sql = `
		SELECT date_trunc('month', e.created_at, $2) AS month, t.kind,
		       coalesce(sum(e.amount) FILTER (WHERE e.amount > 0), 0)::bigint AS money_in,
		       coalesce(-sum(e.amount) FILTER (WHERE e.amount < 0), 0)::bigint AS money_out
		  FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
		 WHERE e.account_id = $1 AND e.created_at >= $3 AND e.created_at < $4
		 GROUP BY 1, 2
		 ORDER BY 1, 2`
	var out []MonthKindTotal
	if err := s.Reader().SelectContext(ctx, &out, sql, accountID, zone, from, to); err != nil {
		return nil, fmt.Errorf("monthly totals of account %d in %s: %w", accountID, zone, err)
	}
	return out, nil
}

func kindStrings(kinds []TxnKind) []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = string(k)
	}
	return out
}

// nullTime sends a zero time as NULL, which the queries read as "unbounded".
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
