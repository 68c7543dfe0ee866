package recharge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"im2pay/payment"
)

// DefaultReconcileAfter is how long an order may stay pending before the
// reconciler asks the provider: long enough for the person to pay. It is
// also the pause between two checks of one order.
const DefaultReconcileAfter = 2 * time.Minute

const (
	// reconcileBatch bounds the provider checks of one pass. Orders are
	// taken least recently checked first and each failure pushes its order
	// back, so no set of orders can hold the batch for good.
	reconcileBatch = 200
	// maxCheckBackoff caps the pause after repeated failed checks.
	maxCheckBackoff = 30 * time.Minute
)

// Pass is what one reconciler pass did.
type Pass struct {
	// Lag is how late the oldest due work was when the pass began: a
	// reconciler that keeps up has a lag under its interval.
	Lag     time.Duration
	Closed  int // never-started orders closed here at expiry, no provider asked
	Checked int // orders whose provider was asked
	Failed  int // of those, checks that failed
	Changed int // orders that changed state, Closed included
}

// ReconcilePass resolves orders left pending, once for the whole database
// however many instances run it: it closes expired orders that never
// reached their provider, then claims the due ones (least recently checked
// first, each leased to this pass so no other instance asks about it too),
// asks their provider, credits the paid ones and closes the expired ones.
// A failing check reschedules its order with a backoff and never stops the
// pass. The pass and its lag are logged.
func (s *Service) ReconcilePass(ctx context.Context) (Pass, error) {
	var pass Pass
	now := s.now()
	oldest, err := s.oldestDue(ctx, now, s.rules.Lifetime, s.reconcileAfter)
	if err != nil {
		return pass, err
	}
	if oldest.Valid {
		pass.Lag = now.Sub(oldest.Time)
	}
	closed, err := s.closeNeverStarted(ctx, now)
	if err != nil {
		return pass, err
	}
	for _, m := range closed {
		s.metrics.TopUp(m, OrderClosed)
	}
	pass.Closed = len(closed)
	pass.Changed = pass.Closed
	due, err := s.claimDueOrders(ctx, now, s.rules.Lifetime, s.reconcileAfter, now.Add(s.reconcileAfter), reconcileBatch)
	if err != nil {
		return pass, err
	}
	var errs []error
	for _, d := range due {
		if ctx.Err() != nil {
			break // the rest keep their lease and come back after it
		}
		pass.Checked++
		after, err := s.reconcileOne(ctx, d)
		if err != nil {
			pass.Failed++
			errs = append(errs, err)
		}
		if after.State != d.State {
			pass.Changed++
		}
	}
	s.log.Info("reconcile pass", "lag", pass.Lag.Round(time.Second).String(), "lag_seconds", int64(pass.Lag.Seconds()),
		"closed_unstarted", pass.Closed, "checked", pass.Checked, "failed", pass.Failed, "changed", pass.Changed)
	return pass, errors.Join(errs...)
}

// reconcileOne asks about one claimed order. A pending order before its
// expiry is scheduled again (later after each failure); after its expiry it
// is closed, at the provider where that works, and here in any case.
func (s *Service) reconcileOne(ctx context.Context, d DueOrder) (Order, error) {
	o := d.Order
	after, err := s.ask(ctx, o)
	if err == nil && !IsOpen(after.State) {
		return after, nil
	}
	now := s.now()
	if now.Before(o.ExpiresAt) {
		failures := 0
		if err != nil {
			failures = d.CheckFailures + 1
		}
		if serr := s.scheduleCheck(ctx, o.ID, s.nextCheck(o, now, failures), failures); serr != nil {
			err = errors.Join(err, serr)
		}
		return after, err
	}
	return s.closeExpired(ctx, o, err)
}

// nextCheck is when to ask about a pending order again: reconcileAfter
// later, doubled for each failure in a row up to maxCheckBackoff, and never
// after its expiry, when it is due to be closed.
func (s *Service) nextCheck(o Order, now time.Time, failures int) time.Time {
	d := s.reconcileAfter
	for i := 0; i < failures && d < maxCheckBackoff; i++ {
		d *= 2
	}
	next := now.Add(min(d, maxCheckBackoff))
	if now.Before(o.ExpiresAt) && next.After(o.ExpiresAt) {
		next = o.ExpiresAt
	}
	return next
}

// closeExpired closes an expired order that the provider did not report
// paid. Closing at the provider stops a late payment where the provider
// allows it; the order closes here even when that, or the check before it,
// failed, so an order the provider cannot answer about does not stay
// pending forever. A payment that still arrives is credited by Settle: a
// closed order may still become paid.
func (s *Service) closeExpired(ctx context.Context, o Order, checkErr error) (Order, error) {
	if checkErr != nil {
		checkErr = fmt.Errorf("order %s expired, closed after a failed check: %w", o.OutTradeNo, checkErr)
	}
	if p, err := s.provider(o.Method); err == nil {
		err = p.Close(ctx, o.OutTradeNo, o.ProviderRef)
		s.event(ctx, o.Method, "close", o.OutTradeNo, err == nil, "", errText(err), "")
		if errors.Is(err, payment.ErrAlreadyPaid) {
			after, err := s.ask(ctx, o)
			return after, errors.Join(checkErr, err)
		}
	}
	if _, err := s.move(ctx, o, OrderClosed, ""); err != nil {
		return o, errors.Join(checkErr, err)
	}
	after, err := s.OrderByNo(ctx, o.OutTradeNo)
	return after, errors.Join(checkErr, err)
}
