package statement

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/lib/pq"

	"im2pay/db"
	"im2pay/ledger"
	"im2pay/wallet"
)

// StatementPageSize is how many lines an export reads per query: a million
// lines are two thousand short queries, and memory stays that of one page.
const StatementPageSize = 500

// StatementLine is one line of an exported statement.
type StatementLine struct {
	wallet.Record
	Reference string // what caused it, e.g. "order:2026…" or "purchase:42"
}

// Statement yields every line of a wallet that f selects, oldest
// first, reading it page by page so that an export of any size streams. The
// lines are those that existed when the export began: money that moves
// meanwhile waits for the next export instead of tearing this one. f.Before
// (the history page's cursor) does not apply. A failure is yielded once,
// as the last pair.
func (s *Service) Statement(ctx context.Context, walletID int64, f HistoryFilter) iter.Seq2[StatementLine, error] {
	return func(yield func(StatementLine, error) bool) {
		last, err := s.lastEntryID(ctx, walletID)
		if err != nil {
			yield(StatementLine{}, fmt.Errorf("statement: %w", err))
			return
		}
		q := exportQuery{AccountID: walletID, From: f.From, UpToID: last, Limit: StatementPageSize}
		if f.Kind != "" {
			q.Kinds = []ledger.Kind{f.Kind}
		}
		if !f.To.IsZero() {
			q.To = f.To.AddDate(0, 0, 1)
		}
		for {
			lines, err := s.exportPage(ctx, q)
			if err != nil {
				yield(StatementLine{}, fmt.Errorf("statement: %w", err))
				return
			}
			for i, r := range wallet.Records(lines) {
				if !yield(StatementLine{Record: r, Reference: lines[i].Reference}, nil) {
					return
				}
			}
			if len(lines) < q.Limit {
				return
			}
			q.AfterID = lines[len(lines)-1].EntryID
		}
	}
}

// exportQuery selects one page of a wallet's entries for an export,
// oldest first. AfterID is the keyset cursor (the last entry id of the
// previous page, 0 for the first); UpToID pins the export to the entries
// that existed when it began, so a download is one consistent statement
// even while money keeps moving, without holding a transaction open for as
// long as a slow client takes to read it.
type exportQuery struct {
	AccountID int64
	Kinds     []ledger.Kind // empty = all
	From, To  time.Time     // zero = unbounded; To is exclusive
	AfterID   int64
	UpToID    int64
	Limit     int
}

// exportPage returns the entries matching q, in entry order.
func (s *Service) exportPage(ctx context.Context, q exportQuery) ([]db.HistoryLine, error) {
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
	var lines []db.HistoryLine
	err := s.store.SelectCustom(ctx, s.store.Reader(), &lines, sql, q.AccountID, q.AfterID, q.UpToID,
		pq.Array(kindStrings(q.Kinds)), nullTime(q.From), nullTime(q.To), q.Limit)
	if err != nil {
		return nil, fmt.Errorf("statement page of account %d after entry %d: %w", q.AccountID, q.AfterID, err)
	}
	return lines, nil
}

// lastEntryID is the newest entry id of an account (0 when it has none).
func (s *Service) lastEntryID(ctx context.Context, accountID int64) (int64, error) {
	const sql = `SELECT coalesce(max(id), 0) FROM ledger_entries WHERE account_id = $1`
	var id int64
	if err := s.store.Reader().GetContext(ctx, &id, sql, accountID); err != nil {
		return 0, fmt.Errorf("last entry of account %d: %w", accountID, err)
	}
	return id, nil
}
