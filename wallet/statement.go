package wallet

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"time"

	"im2pay/db"
)

// StatementPageSize is how many lines an export reads per query: a million
// lines are two thousand short queries, and memory stays that of one page.
const StatementPageSize = 500

// StatementLine is one line of an exported statement.
type StatementLine struct {
	Record
	Reference string // what caused it, e.g. "order:2026…" or "purchase:42"
}

// Statement yields every line of a user's wallet that f selects, oldest
// first, reading it page by page so that an export of any size streams. The
// lines are those that existed when the export began: money that moves
// meanwhile waits for the next export instead of tearing this one. f.Before
// (the history page's cursor) does not apply. A failure is yielded once,
// as the last pair.
func (s *Service) Statement(ctx context.Context, userID int64, f HistoryFilter) iter.Seq2[StatementLine, error] {
	return func(yield func(StatementLine, error) bool) {
		u, err := s.accounts.UserByID(ctx, userID)
		if err != nil {
			yield(StatementLine{}, fmt.Errorf("statement: %w", err))
			return
		}
		last, err := s.store.LastEntryID(ctx, u.WalletID)
		if err != nil {
			yield(StatementLine{}, fmt.Errorf("statement: %w", err))
			return
		}
		q := db.StatementQuery{AccountID: u.WalletID, From: f.From, UpToID: last, Limit: StatementPageSize}
		if f.Kind != "" {
			q.Kinds = []db.TxnKind{f.Kind}
		}
		if !f.To.IsZero() {
			q.To = f.To.AddDate(0, 0, 1)
		}
		for {
			lines, err := s.store.StatementPage(ctx, q)
			if err != nil {
				yield(StatementLine{}, fmt.Errorf("statement: %w", err))
				return
			}
			for i, r := range toRecords(lines) {
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

// SummaryMonths is how many calendar months the summary covers, the current
// one included.
const SummaryMonths = 12

// KindTotal is the money one kind of transaction moved.
type KindTotal struct {
	Kind   db.TxnKind
	Amount Money
}

// MonthSummary is one calendar month of a wallet.
type MonthSummary struct {
	Start     time.Time // the month's first instant, in the reader's zone
	In, Out   Money     // Out is positive: the money that left
	OutByKind []KindTotal
}

// Summary is the last SummaryMonths months of a wallet, oldest first; a
// month without movements is there with zeros, so a chart has no gaps.
type Summary struct {
	Months    []MonthSummary
	In, Out   Money
	OutByKind []KindTotal // over all the months, in the order of db.Kinds
	Zone      string
}

// MonthlySummary sums a user's wallet by calendar month in loc, which must
// be a named zone (time.LoadLocation's, or time.UTC): PostgreSQL cuts the
// months by that name.
func (s *Service) MonthlySummary(ctx context.Context, userID int64, loc *time.Location) (Summary, error) {
	u, err := s.accounts.UserByID(ctx, userID)
	if err != nil {
		return Summary{}, fmt.Errorf("monthly summary: %w", err)
	}
	if loc.String() == "Local" {
		return Summary{}, fmt.Errorf("monthly summary: zone %q has no name PostgreSQL knows", loc)
	}
	now := s.now().In(loc)
	first := time.Date(now.Year(), now.Month()-SummaryMonths+1, 1, 0, 0, 0, 0, loc)
	end := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, loc)
	totals, err := s.store.MonthlyTotals(ctx, u.WalletID, loc.String(), first, end)
	if err != nil {
		return Summary{}, fmt.Errorf("monthly summary: %w", err)
	}
	sum := Summary{Zone: loc.String(), Months: make([]MonthSummary, SummaryMonths)}
	for i := range sum.Months {
		sum.Months[i].Start = time.Date(first.Year(), first.Month()+time.Month(i), 1, 0, 0, 0, 0, loc)
	}
	byKind := map[db.TxnKind]Money{}
	for _, t := range totals {
		m := t.Month.In(loc)
		i := (m.Year()-first.Year())*12 + int(m.Month()-first.Month())
		if i < 0 || i >= SummaryMonths {
			continue // cannot happen with the bounds above; never index out of range
		}
		ms := &sum.Months[i]
		ms.In += Money(t.In)
		ms.Out += Money(t.Out)
		if t.Out != 0 {
			ms.OutByKind = addKind(ms.OutByKind, t.Kind, Money(t.Out))
			byKind[t.Kind] += Money(t.Out)
		}
		sum.In += Money(t.In)
		sum.Out += Money(t.Out)
	}
	for _, k := range db.Kinds {
		if byKind[k] != 0 {
			sum.OutByKind = append(sum.OutByKind, KindTotal{Kind: k, Amount: byKind[k]})
		}
	}
	for i := range sum.Months {
		sortKinds(sum.Months[i].OutByKind)
	}
	return sum, nil
}

func addKind(list []KindTotal, k db.TxnKind, m Money) []KindTotal {
	for i := range list {
		if list[i].Kind == k {
			list[i].Amount += m
			return list
		}
	}
	return append(list, KindTotal{Kind: k, Amount: m})
}

// sortKinds puts kinds in the order the filters show them, so every month
// lists its kinds alike.
func sortKinds(list []KindTotal) {
	slices.SortFunc(list, func(a, b KindTotal) int {
		return slices.Index(db.Kinds, a.Kind) - slices.Index(db.Kinds, b.Kind)
	})
}
