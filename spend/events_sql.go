package spend

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"im2pay/db"
	"im2pay/ledger"
)

// Event is a time-boxed promotion.
type Event struct {
	ID               int64         `db:"id"`
	Code             string        `db:"code"`
	Kind             string        `db:"kind"` // bundle, spend_bonus
	StartsAt         time.Time     `db:"starts_at"`
	EndsAt           time.Time     `db:"ends_at"`
	Price            int64         `db:"price"`
	ListPrice        int64         `db:"list_price"`
	MembershipDays   int           `db:"membership_days"`
	StickerProductID sql.NullInt64 `db:"sticker_product_id"`
	Threshold        int64         `db:"threshold"`
	Bonus            int64         `db:"bonus"`
	// Titles and descriptions staff gave the event in the console; empty
	// for the launch events, whose texts are in the locale catalog
	// (event.<code>, event.<code>.desc).
	TitleZH string `db:"title_zh"`
	TitleEN string `db:"title_en"`
	DescZH  string `db:"desc_zh"`
	DescEN  string `db:"desc_en"`
}

// Running reports whether the event accepts purchases at t.
func (e Event) Running(t time.Time) bool { return !t.Before(e.StartsAt) && t.Before(e.EndsAt) }

const eventColumns = `id, code, kind, starts_at, ends_at, price, list_price, membership_days, sticker_product_id, threshold, bonus, title_zh, title_en, desc_zh, desc_en`

// eventRows lists every event, running ones first by end time.
func (s *Service) eventRows(ctx context.Context) ([]Event, error) {
	var out []Event
	if err := s.store.DB().SelectContext(ctx, &out, `SELECT `+eventColumns+` FROM events ORDER BY ends_at DESC`); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return out, nil
}

// eventByCode finds an event.
func (s *Service) eventByCode(ctx context.Context, code string) (Event, error) {
	var e Event
	err := s.store.DB().GetContext(ctx, &e, `SELECT `+eventColumns+` FROM events WHERE code = $1`, code)
	return e, db.NotFound(err, "event %q", code)
}

// SpendingKinds are the ledger kinds that count as spending for events.
var SpendingKinds = []ledger.Kind{ledger.Purchase, ledger.Gift, ledger.Charge}

// spendingKinds is SpendingKinds as the text array the SQL compares with.
func spendingKinds() any {
	kinds := make([]string, len(SpendingKinds))
	for i, k := range SpendingKinds {
		kinds[i] = string(k)
	}
	return pq.Array(kinds)
}

// spentBetween sums what left a wallet as spending in [from, to).
func (s *Service) spentBetween(ctx context.Context, walletID int64, from, to time.Time) (int64, error) {
	const q = `SELECT coalesce(-sum(e.amount), 0) FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
		WHERE e.account_id = $1 AND e.amount < 0 AND t.kind::text = ANY($2) AND e.created_at >= $3 AND e.created_at < $4`
	var spent int64
	if err := s.store.DB().GetContext(ctx, &spent, q, walletID, spendingKinds(), from, to); err != nil {
		return 0, fmt.Errorf("spent by account %d: %w", walletID, err)
	}
	return spent, nil
}

// awardedEvents lists the events whose bonus a user already received.
func (s *Service) awardedEvents(ctx context.Context, userID int64) (map[int64]bool, error) {
	var ids []int64
	if err := s.store.DB().SelectContext(ctx, &ids, `SELECT event_id FROM event_bonuses WHERE user_id = $1`, userID); err != nil {
		return nil, fmt.Errorf("event bonuses of user %d: %w", userID, err)
	}
	out := map[int64]bool{}
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// markEventBonus records that a user gets an event's bonus; false means
// they already had it.
func markEventBonus(ctx context.Context, tx *sqlx.Tx, eventID, userID int64) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO event_bonuses (event_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, eventID, userID)
	if err != nil {
		return false, fmt.Errorf("mark event %d bonus for user %d: %w", eventID, userID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
