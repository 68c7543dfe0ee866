package refund

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
	"im2pay/ledger"
	"im2pay/payment"
)

// maxCheckBackoff caps the pause after repeated failed checks.
const maxCheckBackoff = 30 * time.Minute

// sendNow sends a refund just debited and applies the answer. Whatever
// goes wrong here, the refund stays in flight for Pass: the caller's
// action (the debit) is done, and its outcome is the refund's state.
func (s *Service) sendNow(ctx context.Context, r Refund) Refund {
	if err := s.send(ctx, r); err != nil {
		s.log.Warn("refund: send", "refund", r.ID, "request_no", r.RequestNo, "err", err)
	}
	if after, err := s.Get(ctx, r.ID); err == nil {
		return after
	}
	return r
}

// send asks the provider to refund r under its request number.
func (s *Service) send(ctx context.Context, r Refund) error {
	p, req, err := s.request(ctx, r)
	if err != nil {
		return s.unknown(ctx, r, err)
	}
	crashAt(CrashAfterDebit)
	res, err := s.callRefund(ctx, r.Method, p, req)
	return s.apply(ctx, r, res, err)
}

// request is the provider and the request of refund r, the same on every
// retry.
func (s *Service) request(ctx context.Context, r Refund) (payment.Refunder, payment.RefundRequest, error) {
	p, err := s.refunder(r.Method)
	if err != nil {
		return nil, payment.RefundRequest{}, err
	}
	o, err := loadOrder(ctx, s.store.DB(), r.OutTradeNo, false)
	if err != nil {
		return nil, payment.RefundRequest{}, err
	}
	reason := r.Reason
	if reason == "" {
		reason = "余额退款"
	}
	// What the order's refunds before this one took: fixed once this one
	// exists (they are all final by then: one open refund at a time), so
	// every retry sends the same amount.
	var before int64
	if err := s.store.DB().GetContext(ctx, &before, `SELECT coalesce(sum(amount), 0) FROM refunds
		WHERE order_id = $1 AND id < $2 AND state IN ('in_flight', 'succeeded')`, o.ID, r.ID); err != nil {
		return nil, payment.RefundRequest{}, fmt.Errorf("refunds of order %s before %s: %w", o.OutTradeNo, r.RequestNo, err)
	}
	req := payment.RefundRequest{OutTradeNo: o.OutTradeNo, TradeNo: o.TradeNo.String, RequestNo: r.RequestNo,
		Amount: payAmount(o, before, r.Amount), Total: o.PayAmount, Currency: o.PayCurrency, Reason: reason,
		RequestedAt: r.RequestedAt}
	if s.baseURL != "" {
		req.NotifyURL = s.baseURL + "/pay/notify/" + r.Method
	}
	if r.Method == string(payment.PayPal) && o.ProviderRef != "" && req.TradeNo == "" {
		req.TradeNo = o.ProviderRef
	}
	return p, req, nil
}

// payAmount is a refund of amount fen, after refunds of before fen, in
// the currency the order was paid in: the same for CNY; else the share of
// the price of everything refunded after it, rounded down, less the same
// share before it. On the running total, partial refunds add up to exactly
// the price when the whole order is refunded: each rounded down on its own
// (¥20.00 and ¥48.00 of $9.45: $2.77 + $6.67) left a cent with the
// merchant. Bug found by TestPartialRefundsThroughEachProvider…/paypal.
func payAmount(o order, before, amount int64) int64 {
	if o.PayCurrency == "CNY" || o.PayAmount == o.Amount {
		return amount
	}
	share := func(fen int64) int64 {
		n := new(big.Int).Mul(big.NewInt(o.PayAmount), big.NewInt(min(fen, o.Amount)))
		return n.Quo(n, big.NewInt(o.Amount)).Int64()
	}
	return share(before+amount) - share(before)
}

// apply books a provider's answer about refund r: a success completes it,
// a refusal or failure reverses it, and anything else (processing, an
// error: the outcome unknown) leaves it in flight for Pass.
func (s *Service) apply(ctx context.Context, r Refund, res payment.RefundResult, err error) error {
	var refusal *payment.RefundRefusal
	switch {
	case errors.As(err, &refusal):
		return s.fail(ctx, r.ID, string(refusal.Failure), refusal.Code)
	case err != nil:
		return s.unknown(ctx, r, err)
	case res.Status == payment.RefundSucceeded:
		return s.complete(ctx, r.ID, res.RefundID, res.Detail)
	case res.Status == payment.RefundFailed:
		return s.fail(ctx, r.ID, string(res.Failure), res.Detail)
	}
	return s.reschedule(ctx, r, false, "processing "+res.Detail)
}

// unknown leaves r in flight after an error, to be asked about later
// (later after each failure), and reports the error.
func (s *Service) unknown(ctx context.Context, r Refund, cause error) error {
	if err := s.reschedule(ctx, r, true, cause.Error()); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// reschedule sets when Pass asks about r next and releases its lease.
func (s *Service) reschedule(ctx context.Context, r Refund, failed bool, detail string) error {
	failures := 0
	if failed {
		failures = r.CheckFailures + 1
	}
	d := s.checkAfter
	for i := 0; i < failures && d < maxCheckBackoff; i++ {
		d *= 2
	}
	const q = `UPDATE refunds SET next_check_at = $2, check_failures = $3, lease_until = NULL, detail = $4
		WHERE id = $1 AND state = 'in_flight'`
	if _, err := s.store.DB().ExecContext(ctx, q, r.ID, s.now().Add(min(d, maxCheckBackoff)), failures, cut(detail)); err != nil {
		return fmt.Errorf("reschedule refund %d: %w", r.ID, err)
	}
	return nil
}

// complete books a refund the provider confirmed: in-flight → the
// method's clearing account (the refund) and → promotion (the clawed back
// bonus). Once: a refund no longer in flight is left as it is.
func (s *Service) complete(ctx context.Context, id int64, providerID, detail string) error {
	// Every confirmation (the answer, a query, a notification) comes
	// through here: the chaos suite's crash before it is booked.
	crashAt(CrashAfterConfirm)
	return s.finish(ctx, id, true, func(tx *sqlx.Tx, r Refund, inflight int64) error {
		clearing, err := s.ledger.SystemAccountID(ctx, "clearing:"+r.Method)
		if err != nil {
			return err
		}
		entries := []ledger.Entry{{AccountID: inflight, Amount: -r.Total()}, {AccountID: clearing, Amount: r.Amount}}
		if r.Clawback > 0 {
			promotion, err := s.ledger.SystemAccountID(ctx, "promotion")
			if err != nil {
				return err
			}
			entries = append(entries, ledger.Entry{AccountID: promotion, Amount: r.Clawback})
		}
		if _, err := s.ledger.Post(ctx, ledger.Posting{Key: "refund-done:" + r.RequestNo, Kind: ledger.Refund,
			Reference: "order:" + r.OutTradeNo, Description: DescDone, Entries: entries}, ledger.InTx(tx)); err != nil {
			return fmt.Errorf("complete refund %s: %w", r.RequestNo, err)
		}
		const q = `UPDATE refunds SET state = 'succeeded', provider_refund_id = $2, detail = $3, finished_at = $4,
			lease_until = NULL, next_check_at = NULL WHERE id = $1`
		_, err = tx.ExecContext(ctx, q, id, cut(providerID), cut(detail), s.now())
		return db.MapError(err)
	})
}

// fail reverses a refund the provider refused or failed: in-flight → the
// wallet, refund and clawback together. Once, as complete.
func (s *Service) fail(ctx context.Context, id int64, failure, detail string) error {
	return s.finish(ctx, id, false, func(tx *sqlx.Tx, r Refund, inflight int64) error {
		walletID, err := s.ledger.WalletOf(ctx, tx, r.UserID)
		if err != nil {
			return err
		}
		if _, err := s.ledger.Post(ctx, ledger.Posting{Key: "refund-reversal:" + r.RequestNo, Kind: ledger.Reversal,
			Reference: "order:" + r.OutTradeNo, Description: DescReversal,
			Entries: []ledger.Entry{{AccountID: inflight, Amount: -r.Total()}, {AccountID: walletID, Amount: r.Total()}}},
			ledger.InTx(tx)); err != nil {
			return fmt.Errorf("reverse refund %s: %w", r.RequestNo, err)
		}
		const q = `UPDATE refunds SET state = 'failed', failure = $2, detail = $3, finished_at = $4,
			lease_until = NULL, next_check_at = NULL WHERE id = $1`
		_, err = tx.ExecContext(ctx, q, id, cut(failure), cut(detail), s.now())
		return db.MapError(err)
	})
}

// finish runs book on refund id under its row lock when it is still in
// flight; a refund already finished is left alone, so a late or repeated
// answer books nothing twice. A success arriving after a failure was
// booked is logged: it needs a person.
func (s *Service) finish(ctx context.Context, id int64, success bool, book func(tx *sqlx.Tx, r Refund, inflight int64) error) error {
	inflight, err := s.ledger.SystemAccountID(ctx, InFlightAccount)
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		r, err := load(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if r.State != StateInFlight {
			if success && r.State == StateFailed {
				s.log.Error("refund: the provider reports a success of a refund reversed as failed",
					"refund", r.ID, "request_no", r.RequestNo, "order", r.OutTradeNo)
			}
			return nil
		}
		return book(tx, r, inflight)
	})
}

// cut keeps a text within the table's limit, whole characters only.
func cut(s string) string {
	if len(s) > 500 {
		s = strings.ToValidUTF8(s[:500], "")
	}
	return s
}
