package wallet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"im2pay/db"
	"im2pay/payment"
)

// DefaultReconcileAfter is how long an order may stay pending before the
// reconciler asks the provider: long enough for the person to pay.
const DefaultReconcileAfter = 2 * time.Minute

// Reconcile resolves orders left pending: it asks the provider about each,
// credits the paid ones, and closes expired ones at the provider first. A
// close that finds the order paid credits it after all. It returns how many
// orders changed state.
func (s *Service) Reconcile(ctx context.Context) (int, error) {
	orders, err := s.store.PendingOrders(ctx, s.now().Add(-s.reconcileAfter), 200)
	if err != nil {
		return 0, err
	}
	changed := 0
	var errs []error
	for _, o := range orders {
		after, err := s.reconcileOne(ctx, o)
		if err != nil {
			errs = append(errs, err)
		}
		if after.State != o.State {
			changed++
		}
	}
	return changed, errors.Join(errs...)
}

func (s *Service) reconcileOne(ctx context.Context, o db.Order) (db.Order, error) {
	after, err := s.Check(ctx, o, true)
	if err != nil || after.State != db.OrderPending || s.now().Before(o.ExpiresAt) {
		return after, err
	}
	p, err := s.provider(o.Method)
	if err != nil {
		return o, err
	}
	err = p.Close(ctx, o.OutTradeNo, o.ProviderRef)
	s.event(ctx, o.Method, "close", o.OutTradeNo, err == nil, "", errText(err), "")
	switch {
	case errors.Is(err, payment.ErrAlreadyPaid):
		return s.Check(ctx, o, true)
	case err != nil && !errors.Is(err, payment.ErrNotFound):
		return o, fmt.Errorf("close order %s: %w", o.OutTradeNo, err)
	}
	if _, err := s.store.SetOrderState(ctx, o.ID, db.OrderClosed, ""); err != nil {
		return o, err
	}
	return s.store.OrderByNo(ctx, o.OutTradeNo)
}
