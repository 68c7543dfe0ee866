package wallet

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"im2pay/db"
)

// HistoryPageSize is how many lines one page of history shows.
const HistoryPageSize = 20

// HistoryFilter is what a person asked the history page for, already parsed.
type HistoryFilter struct {
	Kind     db.TxnKind // "" = all kinds
	From, To time.Time  // dates in the viewer's zone; To is inclusive of its whole day; zero = open
	Before   int64      // cursor: show lines older than this entry id
}

// HistoryPage is one page of lines; Next is the cursor for the next page (0 = no more).
type HistoryPage struct {
	Records []Record
	Next    int64
}

// DateLayout is how dates travel in forms and links.
const DateLayout = "2006-01-02"

// ParseHistoryFilter reads the history form. Unknown kinds and malformed dates
// are refused with a Problem rather than silently ignored, so a person never
// sees "nothing found" for a filter that was never applied.
func ParseHistoryFilter(kind, from, to, before string, loc *time.Location) (HistoryFilter, error) {
	var f HistoryFilter
	if kind != "" {
		if !slices.Contains(db.Kinds, db.TxnKind(kind)) {
			return f, NewProblem("kind", "history.err.kind")
		}
		f.Kind = db.TxnKind(kind)
	}
	var err error
	if f.From, err = parseDate(from, "from", loc); err != nil {
		return f, err
	}
	if f.To, err = parseDate(to, "to", loc); err != nil {
		return f, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return f, NewProblem("to", "history.err.range")
	}
	if before != "" {
		// One cursor, one spelling: ParseInt alone would also take "+7"
		// and "007" for the cursor the page links as "7".
		n, err := strconv.ParseInt(before, 10, 64)
		if err != nil || n <= 0 || strconv.FormatInt(n, 10) != before {
			return f, NewProblem("", "history.err.cursor")
		}
		f.Before = n
	}
	return f, nil
}

func parseDate(s, field string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(DateLayout, s, loc)
	if err != nil || t.Year() < 2000 || t.Year() > 9999 {
		return time.Time{}, NewProblem(field, "history.err.date")
	}
	return t, nil
}

// History returns one page of a user's ledger lines, newest first.
func (s *Service) History(ctx context.Context, userID int64, f HistoryFilter) (HistoryPage, error) {
	u, err := s.accounts.UserByID(ctx, userID)
	if err != nil {
		return HistoryPage{}, fmt.Errorf("history: %w", err)
	}
	q := db.HistoryQuery{AccountID: u.WalletID, From: f.From, BeforeID: f.Before, Limit: HistoryPageSize + 1}
	if f.Kind != "" {
		q.Kinds = []db.TxnKind{f.Kind}
	}
	if !f.To.IsZero() {
		q.To = f.To.AddDate(0, 0, 1)
	}
	lines, err := s.store.History(ctx, q)
	if err != nil {
		return HistoryPage{}, fmt.Errorf("history: %w", err)
	}
	// One extra line tells whether another page exists without a count query.
	page := HistoryPage{Records: toRecords(lines)}
	if len(page.Records) > HistoryPageSize {
		page.Records = page.Records[:HistoryPageSize]
		page.Next = page.Records[HistoryPageSize-1].ID
	}
	return page, nil
}
