package statement

import (
	"context"
	"fmt"
	"slices"
	"time"

	"im2pay/ledger"
	"im2pay/wallet"
)

// SummaryMonths is how many calendar months the summary covers, the current
// one included.
const SummaryMonths = 12

// KindTotal is the money one kind of transaction moved.
type KindTotal struct {
	Kind   ledger.Kind
	Amount wallet.Money
}

// MonthSummary is one calendar month of a wallet.
type MonthSummary struct {
	Start     time.Time    // the month's first instant, in the reader's zone
	In, Out   wallet.Money // Out is positive: the money that left
	OutByKind []KindTotal
}

// Summary is the last SummaryMonths months of a wallet, oldest first; a
// month without movements is there with zeros, so a chart has no gaps.
type Summary struct {
	Months    []MonthSummary
	In, Out   wallet.Money
	OutByKind []KindTotal // over all the months, in the order of ledger.Kinds
	Zone      string
}

// MonthlySummary sums a wallet by calendar month in loc, which must
// be a named zone (time.LoadLocation's, or time.UTC): PostgreSQL cuts the
// months by that name.
func (s *Service) MonthlySummary(ctx context.Context, walletID int64, loc *time.Location) (Summary, error) {
	if loc.String() == "Local" {
		return Summary{}, fmt.Errorf("monthly summary: zone %q has no name PostgreSQL knows", loc)
	}
	now := s.now().In(loc)
	first := time.Date(now.Year(), now.Month()-SummaryMonths+1, 1, 0, 0, 0, 0, loc)
	end := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, loc)
	totals, err := s.monthlyTotals(ctx, walletID, loc.String(), first, end)
	if err != nil {
		return Summary{}, fmt.Errorf("monthly summary: %w", err)
	}
	sum := Summary{Zone: loc.String(), Months: make([]MonthSummary, SummaryMonths)}
	for i := range sum.Months {
		sum.Months[i].Start = time.Date(first.Year(), first.Month()+time.Month(i), 1, 0, 0, 0, 0, loc)
	}
	byKind := map[ledger.Kind]wallet.Money{}
	for _, t := range totals {
		m := t.Month.In(loc)
		i := (m.Year()-first.Year())*12 + int(m.Month()-first.Month())
		if i < 0 || i >= SummaryMonths {
			continue // cannot happen with the bounds above; never index out of range
		}
		ms := &sum.Months[i]
		ms.In += wallet.Money(t.In)
		ms.Out += wallet.Money(t.Out)
		if t.Out != 0 {
			ms.OutByKind = addKind(ms.OutByKind, t.Kind, wallet.Money(t.Out))
			byKind[t.Kind] += wallet.Money(t.Out)
		}
		sum.In += wallet.Money(t.In)
		sum.Out += wallet.Money(t.Out)
	}
	for _, k := range ledger.Kinds {
		if byKind[k] != 0 {
			sum.OutByKind = append(sum.OutByKind, KindTotal{Kind: k, Amount: byKind[k]})
		}
	}
	for i := range sum.Months {
		sortKinds(sum.Months[i].OutByKind)
	}
	return sum, nil
}

func addKind(list []KindTotal, k ledger.Kind, m wallet.Money) []KindTotal {
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
		return slices.Index(ledger.Kinds, a.Kind) - slices.Index(ledger.Kinds, b.Kind)
	})
}

// monthKindTotal is what one kind of transaction moved into and out of a
// wallet in one calendar month.
type monthKindTotal struct {
	Month time.Time   `db:"month"` // the month's first instant in the zone asked for
	Kind  ledger.Kind `db:"kind"`
	In    int64       `db:"money_in"`  // sum of the positive entries
	Out   int64       `db:"money_out"` // sum of the negative entries, as a positive number
}

// monthlyTotals sums a wallet's entries in [from, to) by calendar month in
// zone (an IANA name such as "Asia/Shanghai") and by kind. PostgreSQL cuts
// the months, so a month boundary falls where the reader's calendar puts it,
// daylight saving included.
func (s *Service) monthlyTotals(ctx context.Context, accountID int64, zone string, from, to time.Time) ([]monthKindTotal, error) {
	const sql = `
		SELECT date_trunc('month', e.created_at, $2) AS month, t.kind,
		       coalesce(sum(e.amount) FILTER (WHERE e.amount > 0), 0)::bigint AS money_in,
		       coalesce(-sum(e.amount) FILTER (WHERE e.amount < 0), 0)::bigint AS money_out
		  FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
		 WHERE e.account_id = $1 AND e.created_at >= $3 AND e.created_at < $4
		 GROUP BY 1, 2
		 ORDER BY 1, 2`
	var out []monthKindTotal
	if err := s.store.Reader().SelectContext(ctx, &out, sql, accountID, zone, from, to); err != nil {
		return nil, fmt.Errorf("monthly totals of account %d in %s: %w", accountID, zone, err)
	}
	return out, nil
}
