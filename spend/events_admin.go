package spend

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/audit"
	"im2pay/db"
	"im2pay/problem"
	"im2pay/wallet"
)

// An event's terms (price, threshold, bonus, what a bundle holds) never
// change once written, and the database refuses it (migration 0018): a
// price or bonus a person was shown is the one they get, or the event is
// over. Staff change an event by ending it and adding another.

// EventRecord is an event as the console lists it.
type EventRecord struct {
	Event
	CreatedBy sql.NullInt64 `db:"created_by"`
}

const eventRecordColumns = eventColumns + `, created_by`

// EventDraft is a new event as staff enter it. Titles are needed in both
// languages (the launch events have theirs in the locale catalog).
type EventDraft struct {
	Code             string
	Kind             string // bundle, spend_bonus
	StartsAt, EndsAt time.Time
	// bundle
	Price, ListPrice wallet.Money
	MembershipDays   int
	StickerProductID int64 // 0: none
	// spend_bonus
	Threshold, Bonus wallet.Money
	TitleZH, TitleEN string
	DescZH, DescEN   string
}

var eventCode = regexp.MustCompile(`^[a-z][a-z0-9_]{2,39}$`)

// EventRecords lists every event, latest end first.
func (s *Service) EventRecords(ctx context.Context) ([]EventRecord, error) {
	var out []EventRecord
	q := `SELECT ` + eventRecordColumns + ` FROM events ORDER BY ends_at DESC, id DESC`
	if err := s.store.DB().SelectContext(ctx, &out, q); err != nil {
		return nil, fmt.Errorf("event records: %w", err)
	}
	return out, nil
}

// AddEvent validates d and adds it, made by staff member staffID; a start
// in the past becomes now (spending before an event was announced must not
// count towards it). entry is appended to the audit log in the same
// transaction (action promotion.event_add unless set, After the event).
func (s *Service) AddEvent(ctx context.Context, d EventDraft, staffID int64, entry audit.Entry) (EventRecord, error) {
	now := s.now()
	if d.StartsAt.Before(now) {
		d.StartsAt = now
	}
	if err := validateDraft(d, now); err != nil {
		return EventRecord{}, err
	}
	var out EventRecord
	err := s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		const insert = `INSERT INTO events (code, kind, starts_at, ends_at, price, list_price, membership_days,
			sticker_product_id, threshold, bonus, title_zh, title_en, desc_zh, desc_en, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, 0), $9, $10, $11, $12, $13, $14, NULLIF($15, 0))
			ON CONFLICT (code) DO NOTHING RETURNING ` + eventRecordColumns
		err := tx.GetContext(ctx, &out, insert, d.Code, d.Kind, d.StartsAt, d.EndsAt, d.Price, d.ListPrice,
			d.MembershipDays, d.StickerProductID, d.Threshold, d.Bonus, strings.TrimSpace(d.TitleZH),
			strings.TrimSpace(d.TitleEN), strings.TrimSpace(d.DescZH), strings.TrimSpace(d.DescEN), staffID)
		if errors.Is(err, sql.ErrNoRows) {
			return problem.New("code", "events.code_taken", d.Code)
		}
		if err != nil && errors.Is(db.MapError(err), db.ErrNotFound) {
			return problem.New("sticker", "events.sticker_unknown")
		}
		if err != nil {
			return fmt.Errorf("add event %q: %w", d.Code, err)
		}
		return audit.Append(ctx, tx, eventAudit(entry, "promotion.event_add", staffID, now, nil, out))
	})
	return out, err
}

// EndEvent ends an event at `at` (now when zero or past). An event can only
// end earlier than planned; one not started yet is left with an empty
// window that has passed. The audit entry gets the event before and after.
func (s *Service) EndEvent(ctx context.Context, code string, at time.Time, staffID int64, entry audit.Entry) (EventRecord, error) {
	now := s.now()
	if at.Before(now) {
		at = now
	}
	var after EventRecord
	err := s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		var before EventRecord
		err := tx.GetContext(ctx, &before, `SELECT `+eventRecordColumns+` FROM events WHERE code = $1 FOR UPDATE`, code)
		if errors.Is(err, sql.ErrNoRows) {
			return problem.New("", "shop.unknown")
		}
		if err != nil {
			return fmt.Errorf("end event %q: %w", code, err)
		}
		if !at.Before(before.EndsAt) {
			return problem.New("ends_at", "events.end_later")
		}
		starts := before.StartsAt
		if !starts.Before(at) {
			starts = at.Add(-time.Microsecond) // never ran: an empty window, passed
		}
		const end = `UPDATE events SET starts_at = $2, ends_at = $3 WHERE id = $1 RETURNING ` + eventRecordColumns
		if err := tx.GetContext(ctx, &after, end, before.ID, starts, at); err != nil {
			return fmt.Errorf("end event %q: %w", code, err)
		}
		return audit.Append(ctx, tx, eventAudit(entry, "promotion.event_end", staffID, now, before, after))
	})
	return after, err
}

// eventAudit completes the caller's audit entry for an event change.
func eventAudit(e audit.Entry, action string, staffID int64, now time.Time, before, after any) audit.Entry {
	if e.At.IsZero() {
		e.At = now
	}
	if e.StaffID == 0 {
		e.StaffID = staffID
	}
	if e.Action == "" {
		e.Action = action
	}
	if e.ObjectKind == "" {
		e.ObjectKind = "event"
	}
	if ev, ok := after.(EventRecord); ok && e.ObjectID == "" {
		e.ObjectID = ev.Code
	}
	if e.Before == nil && before != nil {
		e.Before = before
	}
	if e.After == nil {
		e.After = after
	}
	return e
}

// validateDraft refuses a draft with problems on its form fields
// (events.* catalog keys), all joined.
func validateDraft(d EventDraft, now time.Time) error {
	var errs []error
	add := func(field, code string, args ...any) { errs = append(errs, problem.New(field, code, args...)) }
	if !eventCode.MatchString(d.Code) {
		add("code", "events.code_syntax")
	}
	if !d.EndsAt.After(d.StartsAt) || !d.EndsAt.After(now) {
		add("ends_at", "events.window")
	}
	if d.EndsAt.Sub(d.StartsAt) > 366*24*time.Hour {
		add("ends_at", "events.too_long")
	}
	for field, v := range map[string]string{"title_zh": d.TitleZH, "title_en": d.TitleEN} {
		if t := strings.TrimSpace(v); t == "" || len(t) > 100 {
			add(field, "events.title_missing")
		}
	}
	if len(d.DescZH) > 500 || len(d.DescEN) > 500 {
		add("desc_zh", "events.desc")
	}
	switch d.Kind {
	case "bundle":
		if d.Price <= 0 || d.ListPrice < d.Price || d.ListPrice > 100_000_00 {
			add("price", "events.bundle_price")
		}
		if d.MembershipDays < 0 || d.MembershipDays > 366 || (d.MembershipDays == 0 && d.StickerProductID == 0) {
			add("membership_days", "events.bundle_contents")
		}
	case "spend_bonus":
		if d.Threshold <= 0 || d.Bonus <= 0 || d.Bonus > d.Threshold {
			add("bonus", "events.bonus")
		}
	default:
		add("kind", "events.kind")
	}
	return errors.Join(errs...)
}
