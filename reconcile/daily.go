package reconcile

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"time"

	"im2pay/payment"
)

// DefaultAt is when, after Beijing midnight, yesterday's bills are
// reconciled by default: Alipay and WeChat Pay build them from 09:00 and
// advise fetching after 10:00 (PROVIDERS.md §1.5, §2.5).
const DefaultAt = 10 * time.Hour

// Daily reconciles yesterday (each provider's own day) for every method
// with a Biller whose report does not exist yet, once the app clock is
// past at after Beijing midnight. A bill not ready yet is asked for again
// on the next call. It returns the reports it made; the first error
// other than ErrNotReady, after trying every method.
func (s *Service) Daily(ctx context.Context, at time.Duration) ([]Report, error) {
	now := s.o.Now().In(s.o.Beijing)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, s.o.Beijing)
	if now.Before(midnight.Add(at)) {
		return nil, nil
	}
	var out []Report
	var first error
	for _, m := range s.Methods() {
		// Yesterday as the provider counts days: Beijing's for the three
		// Chinese providers, UTC's (already over at 08:00 Beijing) for PayPal.
		day := s.Day(m, midnight.Add(-time.Second))
		if m == payment.PayPal {
			day = s.Day(m, now).AddDate(0, 0, -1)
		}
		done, err := s.Has(ctx, m, day)
		if err == nil && !done {
			var r Report
			if r, err = s.Run(ctx, m, day); err == nil {
				out = append(out, r)
			}
		}
		if err != nil && !errors.Is(err, ErrNotReady) && first == nil {
			first = err
		}
	}
	return out, first
}

// WriteCSV writes a report's differences as CSV, one row each, after a
// line per class with its count and total.
func WriteCSV(w io.Writer, r Report, diffs []Difference) error {
	cw := csv.NewWriter(w)
	rows := [][]string{{"method", "day", "class", "count", "total"}}
	for _, c := range Classes {
		rows = append(rows, []string{r.Method, r.Day.Format(time.DateOnly), c, strconv.Itoa(r.Counts[c]),
			strconv.FormatInt(r.Totals[c], 10)})
	}
	rows = append(rows, nil, []string{"id", "class", "out_trade_no", "trade_no", "request_no", "refund_id", "ours",
		"ours_currency", "theirs", "theirs_currency", "detail", "credited", "resolved_at", "resolved_by", "note"})
	for _, d := range diffs {
		resolved, by := "", ""
		if d.ResolvedAt.Valid {
			resolved, by = d.ResolvedAt.Time.UTC().Format(time.RFC3339), d.ResolverName.String
		}
		rows = append(rows, []string{strconv.FormatInt(d.ID, 10), d.Class, d.OutTradeNo, d.TradeNo, d.RequestNo,
			d.RefundID, nullInt(d.Ours), d.OursCurrency, nullInt(d.Theirs), d.TheirsCurrency, d.Detail,
			strconv.FormatBool(d.Credited), resolved, safeCell(by), safeCell(d.Note)})
	}
	for _, row := range rows {
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func nullInt(n sql.NullInt64) string {
	if !n.Valid {
		return ""
	}
	return strconv.FormatInt(n.Int64, 10)
}

// safeCell keeps a staff member's text from being read as a formula by a
// spreadsheet (CSV injection).
func safeCell(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}
