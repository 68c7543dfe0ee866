package db

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// WebhookEvent is one balance change to announce, as the outbox holds it.
type WebhookEvent struct {
	ID             int64        `db:"id"`
	EventID        string       `db:"event_id"`
	Username       string       `db:"username"`
	Type           string       `db:"type"`
	Amount         int64        `db:"amount"`
	BalanceAfter   int64        `db:"balance_after"`
	OccurredAt     time.Time    `db:"occurred_at"`
	Attempts       int          `db:"attempts"`
	FirstAttemptAt sql.NullTime `db:"first_attempt_at"`
	NextAttemptAt  sql.NullTime `db:"next_attempt_at"`
	DeliveredAt    sql.NullTime `db:"delivered_at"`
	GivenUpAt      sql.NullTime `db:"given_up_at"`
	LastError      string       `db:"last_error"`
}

const webhookEventColumns = `e.id, e.event_id, u.username, e.type, e.amount, e.balance_after, e.occurred_at, e.attempts,
	e.first_attempt_at, e.next_attempt_at, e.delivered_at, e.given_up_at, e.last_error`

// SetWebhooksEnabled switches the recording of balance changes on or off.
func (s *Store) SetWebhooksEnabled(ctx context.Context, on bool) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE webhook_settings SET enabled = $1`, on); err != nil {
		return fmt.Errorf("switch webhooks %v: %w", on, err)
	}
	return nil
}

// claimWebhooksSQL takes, for each user, the oldest event not yet
// delivered or given up, when it is due and not leased to another sender,
// and leases it until $2. A user's later events wait behind their oldest,
// so each user's events arrive in the order their balance changed; other
// users' events do not wait. SKIP LOCKED lets instances share the work.
const claimWebhooksSQL = `
	WITH heads AS (
		SELECT DISTINCT ON (user_id) id FROM webhook_events
		 WHERE delivered_at IS NULL AND given_up_at IS NULL
		 ORDER BY user_id, id),
	due AS (
		SELECT e.id FROM webhook_events e JOIN heads h ON h.id = e.id
		 WHERE coalesce(e.next_attempt_at, $1) <= $1 AND (e.leased_until IS NULL OR e.leased_until <= $1)
		 ORDER BY e.id LIMIT $3
		   FOR UPDATE OF e SKIP LOCKED)
	UPDATE webhook_events e SET leased_until = $2, first_attempt_at = coalesce(e.first_attempt_at, $1)
	  FROM due, users u
	 WHERE e.id = due.id AND u.id = e.user_id
	RETURNING ` + webhookEventColumns

// ClaimWebhookEvents leases up to limit due events to this sender until
// now+lease (a sender that dies lets them go then).
func (s *Store) ClaimWebhookEvents(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]WebhookEvent, error) {
	var out []WebhookEvent
	if err := s.db.SelectContext(ctx, &out, claimWebhooksSQL, now, now.Add(lease), limit); err != nil {
		return nil, fmt.Errorf("claim webhook events: %w", err)
	}
	// RETURNING keeps no order; send in the order the changes happened.
	slices.SortFunc(out, func(a, b WebhookEvent) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// WebhookOutcome is what one delivery attempt came to.
type WebhookOutcome struct {
	At     time.Time
	Status int    // the receiver's HTTP status, 0 without one
	Error  string // "" when delivered
	// Next is when to try again after a failure; GiveUp ends the retries.
	Next   time.Time
	GiveUp bool
}

// RecordWebhookAttempt stores an attempt and moves its event on: delivered,
// scheduled again, or given up. The lease ends either way.
func (s *Store) RecordWebhookAttempt(ctx context.Context, id int64, o WebhookOutcome) error {
	const q = `
		WITH attempt AS (
			INSERT INTO webhook_attempts (event_id, at, status, error) VALUES ($1, $2, $3, $4))
		UPDATE webhook_events SET attempts = attempts + 1, leased_until = NULL, last_error = $4,
		       delivered_at = CASE WHEN $4 = '' THEN $2::timestamptz END,
		       given_up_at  = CASE WHEN $4 <> '' AND $6 THEN $2::timestamptz END,
		       next_attempt_at = CASE WHEN $4 <> '' AND NOT $6 THEN $5::timestamptz END
		 WHERE id = $1`
	if _, err := s.db.ExecContext(ctx, q, id, o.At, o.Status, o.Error, o.Next, o.GiveUp); err != nil {
		return fmt.Errorf("record webhook attempt of event %d: %w", id, err)
	}
	return nil
}

// WebhookEvents lists the newest events, undelivered ones only if pending.
func (s *Store) WebhookEvents(ctx context.Context, pending bool, limit int) ([]WebhookEvent, error) {
	q := `SELECT ` + webhookEventColumns + ` FROM webhook_events e JOIN users u ON u.id = e.user_id`
	if pending {
		q += ` WHERE e.delivered_at IS NULL`
	}
	q += ` ORDER BY e.id DESC LIMIT $1`
	var out []WebhookEvent
	if err := s.db.SelectContext(ctx, &out, q, limit); err != nil {
		return nil, fmt.Errorf("list webhook events: %w", err)
	}
	return out, nil
}

// ResendWebhookEvent makes an event due again (a given-up one included,
// with a fresh day of retries); ErrNotFound for an unknown event id.
func (s *Store) ResendWebhookEvent(ctx context.Context, eventID string) error {
	const q = `UPDATE webhook_events SET delivered_at = NULL, given_up_at = NULL, next_attempt_at = NULL,
		first_attempt_at = NULL, leased_until = NULL WHERE event_id = $1`
	res, err := s.db.ExecContext(ctx, q, eventID)
	if err != nil {
		return fmt.Errorf("resend webhook event %s: %w", eventID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("webhook event %s: %w", eventID, ErrNotFound)
	}
	return nil
}
