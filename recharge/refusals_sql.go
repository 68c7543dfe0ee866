package recharge

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Refusal is a request to a provider callback that failed verification.
type Refusal struct {
	Method string
	Kind   string // notify, return
	At     time.Time
	Detail string // why it was refused
	Body   string // what was sent; only its first SampleBytes may be kept
}

// Bounds of the forensic sample of refused callbacks (the table's CHECKs).
const (
	SampleSlots  = 16   // per method and kind
	SampleBytes  = 1024 // of each body
	sampleDetail = 512
)

// countRefusalSQL counts a refusal under its method, kind and day, and
// keeps it as a sample when it is among the day's first SampleSlots, in one
// query committed asynchronously (see asyncCommit): a flood of forged
// requests costs an update of one counter row each, and no disk flush. The
// samples overwrite the same slots every day, so they never grow.
const countRefusalSQL = `
	WITH counted AS (
		INSERT INTO callback_refusals AS r (method, kind, day, refused, last_at)
		SELECT $1::text, $2::text, ($3::timestamptz AT TIME ZONE 'UTC')::date, 1, $3::timestamptz FROM ` + asyncCommit + `
		ON CONFLICT (method, kind, day) DO UPDATE SET refused = r.refused + 1, last_at = excluded.last_at
		RETURNING refused)
	INSERT INTO callback_refusal_samples AS s (method, kind, slot, at, detail, body)
	SELECT $1::text, $2::text, refused - 1, $3::timestamptz, $4::text, $5::text FROM counted WHERE refused <= $6
	ON CONFLICT (method, kind, slot) DO UPDATE SET at = excluded.at, detail = excluded.detail, body = excluded.body`

// countRefusal counts a refused callback request, keeping at most a small
// sample of them. Text is made storable (no NUL, valid UTF-8) and cut to
// the sample's bounds.
func (s *Service) countRefusal(ctx context.Context, r Refusal) error {
	st, err := s.store.Prepared(ctx, countRefusalSQL)
	if err != nil {
		return fmt.Errorf("count refused %s %s: %w", r.Method, r.Kind, err)
	}
	_, err = st.ExecContext(ctx, r.Method, r.Kind, r.At, storable(r.Detail, sampleDetail), storable(r.Body, SampleBytes), SampleSlots)
	if err != nil {
		return fmt.Errorf("count refused %s %s: %w", r.Method, r.Kind, err)
	}
	return nil
}

// storable makes s fit a text column of at most n bytes: PostgreSQL text
// refuses NUL and invalid UTF-8, and a hostile body has both.
func storable(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	// Each replacement is one byte for one or more, so s stays within n.
	return strings.ReplaceAll(strings.ToValidUTF8(s, "?"), "\x00", "?")
}

// RefusedCallbacks sums the refused requests counted for a method and kind
// over every day.
func (s *Service) RefusedCallbacks(ctx context.Context, method, kind string) (int64, error) {
	const q = `SELECT coalesce(sum(refused), 0) FROM callback_refusals WHERE method = $1 AND kind = $2`
	var n int64
	if err := s.store.DB().GetContext(ctx, &n, q, method, kind); err != nil {
		return 0, fmt.Errorf("refused %s %s: %w", method, kind, err)
	}
	return n, nil
}

// claimNotifyCallSQL takes an order's turn to have a notification verified
// by a provider call: only when the last such call is older than $4, or
// was stamped by another clock (after $3). $1 is the order number.
const claimNotifyCallSQL = `
	UPDATE recharge_orders SET notify_call_at = $2
	 WHERE out_trade_no = $1 AND (notify_call_at IS NULL OR notify_call_at <= $3 OR notify_call_at > $2)`

// claimUnknownCallSQL is the same turn shared by every notification that
// names an order we do not have, one per method.
const claimUnknownCallSQL = `
	INSERT INTO provider_call_slots AS s (key, at) VALUES ($1, $2)
	ON CONFLICT (key) DO UPDATE SET at = excluded.at WHERE s.at <= $3 OR s.at > $2`

// claimNotifyCall reports whether a notification of method naming order no
// (as it claims, unverified) may make us call the provider now: at most once
// per every for each of our orders, and once per every for all the orders
// we do not have together.
func (s *Service) claimNotifyCall(ctx context.Context, method, no string, now time.Time, every time.Duration) (bool, error) {
	if validTradeNo(no) {
		res, err := s.store.DB().ExecContext(ctx, claimNotifyCallSQL, no, now, now.Add(-every))
		if err != nil {
			return false, fmt.Errorf("claim notify call for order %s: %w", no, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return true, nil
		}
		var known bool
		if err := s.store.DB().GetContext(ctx, &known, `SELECT EXISTS (SELECT 1 FROM recharge_orders WHERE out_trade_no = $1)`, no); err != nil {
			return false, fmt.Errorf("claim notify call for order %s: %w", no, err)
		}
		if known {
			return false, nil
		}
	}
	res, err := s.store.DB().ExecContext(ctx, claimUnknownCallSQL, "notify:"+method+":unknown order", now, now.Add(-every))
	if err != nil {
		return false, fmt.Errorf("claim notify call for an unknown %s order: %w", method, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
