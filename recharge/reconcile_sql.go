package recharge

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The reconciler's view of a pending order, in SQL. An order never started
// has no next step stored: the provider was never asked to collect it, so
// asking it about the order is pointless (and fails for PayPal and UnionPay,
// which need a provider reference). Every other pending order is due at
// next_check_at, or, before the reconciler first scheduled it, once it is
// firstDue old; the age is reckoned from expires_at and the order lifetime
// ($2 = lifetime - firstDue), so the app's clock decides, as for
// next_check_at and checked_at, never PostgreSQL's now().
const (
	neverStartedSQL = `(provider_ref = '' AND next_url = '' AND next_qr = '' AND next_form IS NULL)`
	checkDueSQL     = `coalesce(next_check_at, expires_at - ($2::double precision * interval '1 second'))`
)

// DueOrder is a pending order claimed for a provider check.
type DueOrder struct {
	Order
	CheckFailures int `db:"check_failures"`
}

// oldestDueSQL finds the earliest moment a reconciler's work now due fell
// due: a started order's check, or a never-started order's expiry.
const oldestDueSQL = `
	SELECT min(due) FROM (
		SELECT CASE WHEN ` + neverStartedSQL + ` THEN expires_at ELSE ` + checkDueSQL + ` END AS due
		  FROM recharge_orders WHERE state IN ('awaiting', 'processing')) pending
	 WHERE due <= $1`

// oldestDue reports when the oldest piece of reconciler work fell due (not
// valid: nothing is due). now minus it is how late the reconciler runs.
// lifetime and firstDue are as in claimDueOrders.
func (s *Service) oldestDue(ctx context.Context, now time.Time, lifetime, firstDue time.Duration) (sql.NullTime, error) {
	var at sql.NullTime
	if err := s.store.DB().GetContext(ctx, &at, oldestDueSQL, now, (lifetime - firstDue).Seconds()); err != nil {
		return at, fmt.Errorf("oldest due reconciler work: %w", err)
	}
	return at, nil
}

// closeNeverStartedSQL closes, at expiry, the pending orders that never
// reached their provider, and records each close in the order's timeline,
// in one query: no provider call can tell us more about them.
const closeNeverStartedSQL = `
	WITH closed AS (
		UPDATE recharge_orders SET state = 'closed', updated_at = now()
		 WHERE state IN ('awaiting', 'processing') AND ` + neverStartedSQL + ` AND expires_at <= $1
		RETURNING method, out_trade_no)
	INSERT INTO payment_events (method, kind, out_trade_no, verified, status, detail)
	SELECT method, 'close', out_trade_no, true, 'closed', 'closed here at expiry: never reached the provider'
	  FROM closed
	RETURNING method`

// closeNeverStarted closes the expired orders that never reached their
// provider and returns the method of each order it closed.
func (s *Service) closeNeverStarted(ctx context.Context, now time.Time) ([]string, error) {
	var methods []string
	if err := s.store.DB().SelectContext(ctx, &methods, closeNeverStartedSQL, now); err != nil {
		return nil, fmt.Errorf("close never-started orders: %w", err)
	}
	return methods, nil
}

// claimDueSQL takes up to $4 due orders, least recently checked first, and
// leases each until $3 by moving its next check there, all in one
// query. SKIP LOCKED and the lease make two reconcilers on one
// database take disjoint orders: an order one claimed is neither locked
// nor due for the other, and comes back by itself if its claimer dies.
// The claim is a MATERIALIZED CTE, run once: as "id IN (subquery)" the
// planner may pick a nested-loop semi-join that reruns the subquery for
// each outer row, and each rerun, skipping the rows the last one locked,
// takes another $4: a pass then claims every due order (the plan the
// reconciler test met once migration 0010 changed the table).
const claimDueSQL = `
	WITH due AS MATERIALIZED (
		SELECT id AS due_id FROM recharge_orders
		 WHERE state IN ('awaiting', 'processing') AND NOT ` + neverStartedSQL + ` AND ` + checkDueSQL + ` <= $1
		 ORDER BY checked_at NULLS FIRST, id
		 LIMIT $4
		   FOR UPDATE SKIP LOCKED)
	UPDATE recharge_orders SET next_check_at = $3, checked_at = $1
	  FROM due
	 WHERE id = due.due_id AND state IN ('awaiting', 'processing')
	RETURNING ` + orderColumns + `, check_failures`

// claimDueOrders claims up to limit started pending orders whose provider
// check is due at now, and leases them until leaseUntil. An order not yet
// scheduled falls due firstDue after creation, for an order lifetime of
// lifetime.
func (s *Service) claimDueOrders(ctx context.Context, now time.Time, lifetime, firstDue time.Duration,
	leaseUntil time.Time, limit int) ([]DueOrder, error) {
	var out []DueOrder
	err := s.store.DB().SelectContext(ctx, &out, claimDueSQL, now, (lifetime - firstDue).Seconds(), leaseUntil, limit)
	if err != nil {
		return nil, fmt.Errorf("claim due orders: %w", err)
	}
	return out, nil
}

// scheduleCheck sets when the reconciler next asks about a pending order
// and how many checks in a row have failed.
func (s *Service) scheduleCheck(ctx context.Context, id int64, next time.Time, failures int) error {
	const q = `UPDATE recharge_orders SET next_check_at = $2, check_failures = $3 WHERE id = $1 AND state IN ('awaiting', 'processing')`
	if _, err := s.store.DB().ExecContext(ctx, q, id, next, failures); err != nil {
		return fmt.Errorf("schedule check of order %d: %w", id, err)
	}
	return nil
}

// claimCheckSQL takes an order's turn to ask its provider: only when the
// last check is older than $3. A check stamped after $2 was stamped by
// another clock (a test's, a skewed instance's) and does not hold the turn.
const claimCheckSQL = `
	UPDATE recharge_orders SET checked_at = $2
	 WHERE id = $1 AND state IN ('awaiting', 'processing') AND (checked_at IS NULL OR checked_at <= $3 OR checked_at > $2)`

// claimCheck reports whether the caller may ask the provider about a
// pending order now: at most once per every across all instances, however
// many pages and returns ask at once.
func (s *Service) claimCheck(ctx context.Context, id int64, now time.Time, every time.Duration) (bool, error) {
	res, err := s.store.DB().ExecContext(ctx, claimCheckSQL, id, now, now.Add(-every))
	if err != nil {
		return false, fmt.Errorf("claim check of order %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
