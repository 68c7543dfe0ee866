package refund

import (
	"context"
	"errors"
	"fmt"

	"im2pay/payment"
)

// passBatch bounds the provider calls of one pass; refunds are taken least
// recently due first and each failure pushes its refund back.
const passBatch = 100

// PassResult is what one pass did.
type PassResult struct {
	Checked  int // in-flight refunds asked about
	Resent   int // of those, sent again under their number (the provider had none)
	Finished int // succeeded or failed (reversed)
	Failed   int // checks that failed; the refund stays in flight
}

// Pass settles refunds left in flight, as the recharge reconciler settles
// orders: it claims the due ones (leased, so two instances never ask about
// one at once), asks the provider (QueryRefund) and books a definite
// answer. A refund the provider does not know (never received: a crash
// before the call, a request lost on the way) is sent again under the SAME
// request number, which the provider refunds at most once. Any other
// error leaves it in flight, asked again later.
func (s *Service) Pass(ctx context.Context) (PassResult, error) {
	var res PassResult
	due, err := s.claimDue(ctx)
	if err != nil {
		return res, err
	}
	var errs []error
	for _, r := range due {
		if ctx.Err() != nil {
			break // the rest keep their lease and come back after it
		}
		res.Checked++
		resent, err := s.check(ctx, r)
		if resent {
			res.Resent++
		}
		if err != nil {
			res.Failed++
			errs = append(errs, err)
		}
		if after, err := s.Get(ctx, r.ID); err == nil && after.State != StateInFlight {
			res.Finished++
		}
	}
	if res.Checked > 0 {
		s.log.Info("refund pass", "checked", res.Checked, "resent", res.Resent, "finished", res.Finished, "failed", res.Failed)
	}
	return res, errors.Join(errs...)
}

// claimDue leases the in-flight refunds due for a check.
func (s *Service) claimDue(ctx context.Context) ([]Refund, error) {
	now := s.now()
	q := `
		UPDATE refunds SET lease_until = $2
		 WHERE id IN (SELECT id FROM refunds
		               WHERE state = 'in_flight' AND next_check_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
		               ORDER BY next_check_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING ` + columns
	var out []Refund
	if err := s.store.DB().SelectContext(ctx, &out, q, now, now.Add(lease), passBatch); err != nil {
		return nil, fmt.Errorf("claim due refunds: %w", err)
	}
	return out, nil
}

// check asks about one claimed refund and books what the provider says.
func (s *Service) check(ctx context.Context, r Refund) (resent bool, err error) {
	p, req, err := s.request(ctx, r)
	if err != nil {
		return false, s.unknown(ctx, r, err)
	}
	res, err := s.callQuery(ctx, r.Method, p, req)
	if errors.Is(err, payment.ErrRefundNotFound) {
		res, err = s.callRefund(ctx, r.Method, p, req)
		return true, s.apply(ctx, r, res, err)
	}
	if err == nil && res.RequestNo != "" && res.RequestNo != r.RequestNo {
		err = fmt.Errorf("refund %s: the provider answered about %q: %w", r.RequestNo, res.RequestNo, payment.ErrMalformed)
	}
	return false, s.apply(ctx, r, res, err)
}
