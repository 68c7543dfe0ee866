package center

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lib/pq"

	"im2pay/db"
	"im2pay/spend"
)

// view is what the account center shows of one person, read in one
// query: the balance, the membership, the low-balance threshold, the
// events running at the time asked, and the newest ledger lines.
type view struct {
	Balance         int64
	MembershipUntil time.Time // zero: never a member
	LowBalance      int64
	Events          []runningEvent   // by end time, latest first
	Recent          []db.HistoryLine // newest first
}

// runningEvent is an event running at the view's time, with the person's
// progress: Spent is their spending inside a spend_bonus event's window so
// far (counted as spend counts it for its bonuses).
type runningEvent struct {
	spend.Event
	Awarded bool
	Spent   int64
}

// eventRow and lineRow are the JSON shapes of the view's two lists.
type eventRow struct {
	ID               int64     `json:"id"`
	Code             string    `json:"code"`
	Kind             string    `json:"kind"`
	StartsAt         time.Time `json:"starts_at"`
	EndsAt           time.Time `json:"ends_at"`
	Price            int64     `json:"price"`
	ListPrice        int64     `json:"list_price"`
	MembershipDays   int       `json:"membership_days"`
	StickerProductID *int64    `json:"sticker_product_id"`
	Threshold        int64     `json:"threshold"`
	Bonus            int64     `json:"bonus"`
	TitleZH          string    `json:"title_zh"`
	TitleEN          string    `json:"title_en"`
	DescZH           string    `json:"desc_zh"`
	DescEN           string    `json:"desc_en"`
	Awarded          bool      `json:"awarded"`
	Spent            int64     `json:"spent"`
}

type lineRow struct {
	EntryID      int64     `json:"entry_id"`
	At           time.Time `json:"created_at"`
	Kind         string    `json:"kind"`
	Reference    string    `json:"reference"`
	Description  string    `json:"description"`
	Amount       int64     `json:"amount"`
	BalanceAfter int64     `json:"balance_after"`
}

const accountViewSQL = `
		SELECT a.balance,
		       (SELECT m.expires_at FROM memberships m WHERE m.user_id = $1) AS member_until,
		       (SELECT st.low_balance FROM user_settings st WHERE st.user_id = $1) AS low_balance,
		       (SELECT coalesce(json_agg(ev ORDER BY ev.ends_at DESC), '[]')
		          FROM (SELECT e.id, e.code, e.kind, e.starts_at, e.ends_at, e.price, e.list_price, e.membership_days,
		                       e.sticker_product_id, e.threshold, e.bonus, e.title_zh, e.title_en, e.desc_zh, e.desc_en,
		                       EXISTS (SELECT 1 FROM event_bonuses b WHERE b.event_id = e.id AND b.user_id = $1) AS awarded,
		                       CASE WHEN e.kind = 'spend_bonus' THEN (
		                           SELECT coalesce(-sum(le.amount), 0)
		                             FROM ledger_entries le JOIN ledger_transactions t ON t.id = le.transaction_id
		                            WHERE le.account_id = $2 AND le.amount < 0 AND t.kind::text = ANY($4)
		                              AND le.created_at >= e.starts_at AND le.created_at < e.ends_at)
		                       ELSE 0 END AS spent
		                  FROM events e
		                 WHERE e.starts_at <= $3 AND $3 < e.ends_at) ev) AS events,
		       (SELECT coalesce(json_agg(r ORDER BY r.entry_id DESC), '[]')
		          FROM (SELECT le.id AS entry_id, le.created_at, t.kind, t.reference, t.description,
		                       le.amount, le.balance_after
		                  FROM ledger_entries le JOIN ledger_transactions t ON t.id = le.transaction_id
		                 WHERE le.account_id = $2
		                 -- An equality, not History's range of one: this query
		                 -- is planned once per connection, and with a generic plan
		                 -- the range halved figure 4 (BENCHMARKS.md, run 4).
		                 ORDER BY le.id DESC
		                 LIMIT $5) r) AS recent
		  FROM accounts a
		 WHERE a.id = $2 AND a.user_id = $1`

// view reads the account center of the user owning wallet at time now,
// with the newest recent ledger lines. The lists travel as JSON so that the
// whole page is one exchange with the server instead of about twenty.
func (s *Service) view(ctx context.Context, userID, walletID int64, now time.Time, recent int) (view, error) {
	const q = accountViewSQL
	kinds := make([]string, len(spend.SpendingKinds))
	for i, k := range spend.SpendingKinds {
		kinds[i] = string(k)
	}
	var (
		v              view
		balance        sql.NullInt64
		until          sql.NullTime
		low            sql.NullInt64
		events, recRaw []byte
	)
	st, err := s.store.Prepared(ctx, q)
	if err != nil {
		return v, fmt.Errorf("account view of user %d: %w", userID, err)
	}
	// Spending counts by the event's own window, as spend counts it: the
	// entries are stamped by PostgreSQL, and bounding them by this
	// process's clock would drop some whenever the two clocks disagree.
	err = st.QueryRowxContext(ctx, userID, walletID, now, pq.Array(kinds), recent).
		Scan(&balance, &until, &low, &events, &recRaw)
	if err != nil {
		return v, db.NotFound(err, "account view of user %d", userID)
	}
	v.Balance, v.MembershipUntil, v.LowBalance = balance.Int64, until.Time, int64(spend.DefaultSettings.LowBalance)
	if low.Valid {
		v.LowBalance = low.Int64
	}
	var evs []eventRow
	var lines []lineRow
	if err := json.Unmarshal(events, &evs); err != nil {
		return v, fmt.Errorf("account view of user %d: events: %w", userID, err)
	}
	if err := json.Unmarshal(recRaw, &lines); err != nil {
		return v, fmt.Errorf("account view of user %d: recent: %w", userID, err)
	}
	for _, e := range evs {
		ev := spend.Event{ID: e.ID, Code: e.Code, Kind: e.Kind, StartsAt: e.StartsAt, EndsAt: e.EndsAt, Price: e.Price,
			ListPrice: e.ListPrice, MembershipDays: e.MembershipDays, Threshold: e.Threshold, Bonus: e.Bonus,
			TitleZH: e.TitleZH, TitleEN: e.TitleEN, DescZH: e.DescZH, DescEN: e.DescEN}
		if e.StickerProductID != nil {
			ev.StickerProductID = sql.NullInt64{Int64: *e.StickerProductID, Valid: true}
		}
		v.Events = append(v.Events, runningEvent{Event: ev, Awarded: e.Awarded, Spent: e.Spent})
	}
	for _, l := range lines {
		v.Recent = append(v.Recent, db.HistoryLine(l))
	}
	return v, nil
}
