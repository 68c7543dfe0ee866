package reconcile

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/audit"
	"im2pay/db"
	"im2pay/payment"
)

// Report is one provider's reconciliation of one day.
type Report struct {
	ID     int64     `db:"id"`
	Method string    `db:"method"`
	Day    time.Time `db:"day"`
	// The provider's own summary figures.
	BillCount  int   `db:"bill_count"`
	BillGross  int64 `db:"bill_gross"`
	BillRefund int64 `db:"bill_refund"`
	BillFees   int64 `db:"bill_fees"`
	// Counts and Totals per class (Classes), amounts in minor units.
	Counts     map[string]int   `db:"-"`
	Totals     map[string]int64 `db:"-"`
	FeesBooked int64            `db:"fees_booked"`
	RawName    string           `db:"raw_name"`
	CreatedAt  time.Time        `db:"created_at"`
	UpdatedAt  time.Time        `db:"updated_at"`
	// Open is how many differences no one resolved yet.
	Open int `db:"open"`

	CountsJSON []byte `db:"counts"`
	TotalsJSON []byte `db:"totals"`
}

// Difference is one thing the provider and we disagree about.
type Difference struct {
	ID             int64          `db:"id"`
	ReportID       int64          `db:"report_id"`
	Class          string         `db:"class"`
	Key            string         `db:"key"`
	OutTradeNo     string         `db:"out_trade_no"`
	TradeNo        string         `db:"trade_no"`
	RequestNo      string         `db:"request_no"`
	RefundID       string         `db:"refund_id"`
	Ours           sql.NullInt64  `db:"ours"`
	Theirs         sql.NullInt64  `db:"theirs"`
	OursCurrency   string         `db:"ours_currency"`
	TheirsCurrency string         `db:"theirs_currency"`
	Detail         string         `db:"detail"`
	Credited       bool           `db:"credited"` // credited by reconciliation
	FoundAt        time.Time      `db:"found_at"`
	ResolvedAt     sql.NullTime   `db:"resolved_at"`
	ResolvedBy     sql.NullInt64  `db:"resolved_by"`
	ResolverName   sql.NullString `db:"resolver_name"`
	Note           string         `db:"note"`
}

// Resolved says a staff member closed it.
func (d Difference) Resolved() bool { return d.ResolvedAt.Valid }

// Errors of the reads and Resolve.
var (
	ErrNotFound = db.ErrNotFound
	// ErrResolved: the difference was resolved already.
	ErrResolved = errors.New("reconcile: the difference is resolved already")
	// ErrNote: a resolution needs a note of 1-1000 characters.
	ErrNote = errors.New("reconcile: a resolution needs a note")
)

// openReport finds or creates the report of (method, day).
func (s *Service) openReport(ctx context.Context, method payment.Method, day time.Time, b payment.Bill) (int64, error) {
	const q = `
		INSERT INTO reconcile_reports (method, day, bill_count, bill_gross, bill_refund, bill_fees, raw_name, raw, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
		ON CONFLICT (method, day) DO NOTHING`
	now := s.o.Now()
	date := day.Format(time.DateOnly)
	if _, err := s.store.DB().ExecContext(ctx, q, method, date, b.Count, b.Gross, b.Refund, b.Fees, b.RawName, b.Raw, now); err != nil {
		return 0, fmt.Errorf("open report: %w", err)
	}
	var id int64
	err := s.store.DB().GetContext(ctx, &id, `SELECT id FROM reconcile_reports WHERE method = $1 AND day = $2`, method, date)
	if err != nil {
		return 0, fmt.Errorf("open report: %w", err)
	}
	return id, nil
}

const differenceColumns = `d.id, d.report_id, d.class, d.key, d.out_trade_no, d.trade_no, d.request_no, d.refund_id,
	d.ours, d.theirs, d.ours_currency, d.theirs_currency, d.detail, d.credited, d.found_at, d.resolved_at,
	d.resolved_by, s.name AS resolver_name, d.note`

// differences is a report's stored differences, by key.
func (s *Service) differences(ctx context.Context, report int64) (map[string]Difference, error) {
	list, err := s.Differences(ctx, report)
	out := map[string]Difference{}
	for _, d := range list {
		out[d.Key] = d
	}
	return out, err
}

// Differences lists a report's differences, in the order they were found.
func (s *Service) Differences(ctx context.Context, report int64) ([]Difference, error) {
	q := `SELECT ` + differenceColumns + ` FROM reconcile_differences d LEFT JOIN staff s ON s.id = d.resolved_by
		WHERE d.report_id = $1 ORDER BY d.id`
	var list []Difference
	if err := s.store.DB().SelectContext(ctx, &list, q, report); err != nil {
		return nil, fmt.Errorf("differences of report %d: %w", report, err)
	}
	return list, nil
}

const insertDifferenceSQL = `
	INSERT INTO reconcile_differences (report_id, class, key, out_trade_no, trade_no, request_no, refund_id,
	       ours, theirs, ours_currency, theirs_currency, detail, credited, found_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
	ON CONFLICT (report_id, key) DO NOTHING`

func (s *Service) insertDifference(ctx context.Context, report int64, d Difference) error {
	return insertDifference(ctx, s.store.DB(), report, d, s.o.Now())
}

func insertDifference(ctx context.Context, q sqlx.ExecerContext, report int64, d Difference, now time.Time) error {
	_, err := q.ExecContext(ctx, insertDifferenceSQL, report, d.Class, d.Key, d.OutTradeNo, d.TradeNo, d.RequestNo,
		d.RefundID, d.Ours, d.Theirs, d.OursCurrency, d.TheirsCurrency, truncate(d.Detail, 500), d.Credited, now)
	if err != nil {
		return fmt.Errorf("store difference %s: %w", d.Key, err)
	}
	return nil
}

func (s *Service) markCredited(ctx context.Context, report int64, key string) error {
	_, err := s.store.DB().ExecContext(ctx, `UPDATE reconcile_differences SET credited = true, detail = 'credited'
		WHERE report_id = $1 AND key = $2`, report, key)
	if err != nil {
		return fmt.Errorf("mark %s credited: %w", key, err)
	}
	return nil
}

func (s *Service) setDetail(ctx context.Context, report int64, key, detail string) error {
	_, err := s.store.DB().ExecContext(ctx, `UPDATE reconcile_differences SET detail = $3
		WHERE report_id = $1 AND key = $2 AND NOT credited`, report, key, truncate(detail, 500))
	if err != nil {
		return fmt.Errorf("difference %s: %w", key, err)
	}
	return nil
}

// finish stores the run's new differences and the report's counts and
// totals, in one transaction; the report row changes only when they did.
func (s *Service) finish(ctx context.Context, r *run, b payment.Bill) (Report, error) {
	counts, totals := map[string]int{}, map[string]int64{}
	for _, c := range Classes {
		counts[c], totals[c] = 0, 0
	}
	for _, it := range r.items {
		counts[it.class]++
		totals[it.class] += it.amount
	}
	// Differences an earlier run found that this one did not meet again
	// stay what they were.
	for _, d := range r.known {
		counts[d.Class]++
		totals[d.Class] += d.Theirs.Int64 + d.Ours.Int64*boolInt(!d.Theirs.Valid)
	}
	cj, _ := json.Marshal(counts)
	tj, _ := json.Marshal(totals)
	now := s.o.Now()
	err := s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		for _, it := range r.items {
			if it.diff != nil {
				if err := insertDifference(ctx, tx, r.report, *it.diff, now); err != nil {
					return err
				}
			}
		}
		const q = `
			UPDATE reconcile_reports SET counts = $2, totals = $3, fees_booked = $4, updated_at = $5,
			       bill_count = $6, bill_gross = $7, bill_refund = $8, bill_fees = $9
			 WHERE id = $1 AND (counts, totals, fees_booked, bill_count, bill_gross, bill_refund, bill_fees)
			       IS DISTINCT FROM ($2::jsonb, $3::jsonb, $4, $6, $7, $8, $9)`
		_, err := tx.ExecContext(ctx, q, r.report, string(cj), string(tj), r.fees, now, b.Count, b.Gross, b.Refund, b.Fees)
		return err
	})
	if err != nil {
		return Report{}, fmt.Errorf("store report: %w", err)
	}
	return s.Report(ctx, r.report)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

const reportColumns = `r.id, r.method, r.day, r.bill_count, r.bill_gross, r.bill_refund, r.bill_fees, r.counts, r.totals,
	r.fees_booked, r.raw_name, r.created_at, r.updated_at,
	(SELECT count(*) FROM reconcile_differences d WHERE d.report_id = r.id AND d.resolved_at IS NULL) AS open`

func decode(r *Report) error {
	r.Counts, r.Totals = map[string]int{}, map[string]int64{}
	if err := json.Unmarshal(r.CountsJSON, &r.Counts); err != nil {
		return err
	}
	return json.Unmarshal(r.TotalsJSON, &r.Totals)
}

// Report is one stored report.
func (s *Service) Report(ctx context.Context, id int64) (Report, error) {
	var r Report
	err := s.store.DB().GetContext(ctx, &r, `SELECT `+reportColumns+` FROM reconcile_reports r WHERE r.id = $1`, id)
	if err != nil {
		return r, db.NotFound(err, "reconcile report %d", id)
	}
	return r, decode(&r)
}

// Reports lists the latest reports, newest day first.
func (s *Service) Reports(ctx context.Context, limit int) ([]Report, error) {
	var list []Report
	err := s.store.DB().SelectContext(ctx, &list, `SELECT `+reportColumns+` FROM reconcile_reports r
		ORDER BY r.day DESC, r.method LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("reconcile reports: %w", err)
	}
	for i := range list {
		if err := decode(&list[i]); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// Has reports whether (method, day) has a report.
func (s *Service) Has(ctx context.Context, method payment.Method, day time.Time) (bool, error) {
	var n int
	err := s.store.DB().GetContext(ctx, &n, `SELECT count(*) FROM reconcile_reports WHERE method = $1 AND day = $2`,
		method, day.Format(time.DateOnly))
	if err != nil {
		return false, fmt.Errorf("reconcile report of %s %s: %w", method, day.Format(time.DateOnly), err)
	}
	return n > 0, nil
}

// Resolve closes a difference with a staff member's note, and appends the
// audit line (e: who, when, from where; filled in by the console) in the
// same transaction.
func (s *Service) Resolve(ctx context.Context, id, staffID int64, note string, e audit.Entry) (Difference, error) {
	if note == "" || len([]rune(note)) > 1000 {
		return Difference{}, ErrNote
	}
	var d Difference
	err := s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		var before Difference
		err := tx.GetContext(ctx, &before, `SELECT `+differenceColumns+` FROM reconcile_differences d
			LEFT JOIN staff s ON s.id = d.resolved_by WHERE d.id = $1 FOR UPDATE OF d`, id)
		if err != nil {
			return db.NotFound(err, "difference %d", id)
		}
		if before.Resolved() {
			return ErrResolved
		}
		at := s.o.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE reconcile_differences SET resolved_at = $2, resolved_by = $3, note = $4
			WHERE id = $1`, id, at, staffID, note); err != nil {
			return fmt.Errorf("resolve difference %d: %w", id, err)
		}
		e.Action, e.ObjectKind, e.ObjectID = "reconcile.resolve", "reconcile_difference", fmt.Sprint(id)
		e.Before = map[string]any{"class": before.Class, "key": before.Key, "detail": before.Detail}
		e.After = map[string]any{"note": note}
		if e.At.IsZero() {
			e.At = at
		}
		if e.StaffID == 0 {
			e.StaffID = staffID
		}
		d = before
		d.ResolvedAt, d.ResolvedBy, d.Note = sql.NullTime{Time: at, Valid: true}, sql.NullInt64{Int64: staffID, Valid: true}, note
		return audit.Append(ctx, tx, e)
	})
	return d, err
}

// Difference is one stored difference.
func (s *Service) Difference(ctx context.Context, id int64) (Difference, error) {
	var d Difference
	err := s.store.DB().GetContext(ctx, &d, `SELECT `+differenceColumns+` FROM reconcile_differences d
		LEFT JOIN staff s ON s.id = d.resolved_by WHERE d.id = $1`, id)
	return d, db.NotFound(err, "difference %d", id)
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
