package refund

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"im2pay/audit"
	"im2pay/db"
	"im2pay/ledger"
)

// MaxReason is the longest reason, in characters (the table's CHECK).
const MaxReason = 200

// Ask is a refund someone asks for: a finance staff member (StaffID), or
// the person whose top-up it is (UserID).
type Ask struct {
	OrderNo string
	Amount  int64 // fen
	Reason  string
	StaffID int64
	UserID  int64
}

// ErrReason refuses an empty (a person's) or too long reason.
var ErrReason = errors.New("refund: a reason of 1-200 characters is required")

// Request records a refund asked for. A staff refund whose amount, with
// what this order was refunded before without a second pair of eyes, is
// at most ApprovalAbove is debited and sent at once; above, and always for
// a person's request, it waits (requested) for Approve by a finance staff
// member other than the asker. A person may only ask for what their wallet
// still holds with the clawback (an unspent top-up). Refusals: ErrNotPaid,
// ErrTooMuch, ErrOpen, ErrNotOwner, ErrReason, *Shortfall. log is the audit
// line's template for a staff ask, appended in the same transaction.
func (s *Service) Request(ctx context.Context, a Ask, log audit.Entry) (Refund, error) {
	a.Reason = strings.TrimSpace(a.Reason)
	if utf8.RuneCountInString(a.Reason) > MaxReason || (a.UserID != 0 && a.Reason == "") ||
		strings.ContainsFunc(a.Reason, func(r rune) bool { return r < 0x20 }) {
		return Refund{}, ErrReason
	}
	if (a.StaffID == 0) == (a.UserID == 0) {
		return Refund{}, errors.New("refund: exactly one of staff and person asks")
	}
	no, err := newRequestNo()
	if err != nil {
		return Refund{}, err
	}
	var out Refund
	err = s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		o, err := loadOrder(ctx, tx, a.OrderNo, true)
		if err != nil {
			return err
		}
		if a.UserID != 0 && o.UserID != a.UserID {
			return fmt.Errorf("order %s: %w", a.OrderNo, ErrNotOwner)
		}
		walletID, err := s.ledger.WalletOf(ctx, tx, o.UserID)
		if err != nil {
			return err
		}
		var balance int64
		if err := tx.GetContext(ctx, &balance, `SELECT balance FROM accounts WHERE id = $1`, walletID); err != nil {
			return fmt.Errorf("balance of wallet %d: %w", walletID, err)
		}
		q, err := quote(o, a.Amount, balance)
		if err != nil {
			return err
		}
		if balance < q.Total() {
			// Asked with too little in the wallet: refused now, so nobody
			// approves what cannot be debited. Checked again when debited.
			return &Shortfall{Amount: q.Amount, Clawback: q.Clawback, Balance: balance}
		}
		const insert = `
			INSERT INTO refunds (order_id, out_trade_no, user_id, method, request_no, amount, clawback, state, reason,
			                     asked_by_staff, asked_by_user, requested_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'requested', $8, NULLIF($9, 0), NULLIF($10, 0), $11) RETURNING id`
		var id int64
		if err := tx.GetContext(ctx, &id, insert, o.ID, o.OutTradeNo, o.UserID, o.Method, no, q.Amount, q.Clawback,
			a.Reason, a.StaffID, a.UserID, s.now()); err != nil {
			return mapOpen(fmt.Errorf("insert refund of order %s: %w", o.OutTradeNo, err))
		}
		r, err := load(ctx, tx, id, false)
		if err != nil {
			return err
		}
		action := "refund.request"
		if a.StaffID != 0 {
			alone, err := s.refundedAlone(ctx, tx, o.ID)
			if err != nil {
				return err
			}
			if alone+r.Amount <= s.above {
				// Small enough for one pair of eyes: sent now.
				if r, err = s.debit(ctx, tx, r, 0); err != nil {
					return err
				}
				action = "refund.send"
			}
		}
		out = r
		if a.StaffID == 0 {
			return nil // a person's request: no staff action to audit
		}
		return s.appendLog(ctx, tx, log, action, r, nil)
	})
	if err != nil {
		return out, err
	}
	if out.State == StateInFlight {
		out = s.sendNow(ctx, out)
	}
	return out, nil
}

// refundedAlone is what staff refunded of an order without a second pair
// of eyes: the threshold bounds that sum, so ten refunds of ¥500 cannot do
// what one of ¥5,000 may not. The caller holds the order's lock.
func (s *Service) refundedAlone(ctx context.Context, tx *sqlx.Tx, orderID int64) (int64, error) {
	const q = `SELECT coalesce(sum(amount), 0) FROM refunds
		WHERE order_id = $1 AND asked_by_staff IS NOT NULL AND approved_by IS NULL AND state IN ('in_flight', 'succeeded')`
	var sum int64
	if err := tx.GetContext(ctx, &sum, q, orderID); err != nil {
		return 0, fmt.Errorf("refunds of order %d sent alone: %w", orderID, err)
	}
	return sum, nil
}

// Approve debits and sends a requested refund as staffID's decision:
// exactly once, however many approve it at once (the others get
// ErrNotDecidable). The asker's own approval is ErrOwnRequest (the
// database's CHECK refuses it too); a wallet that no longer covers it is a
// *Shortfall and leaves it waiting.
func (s *Service) Approve(ctx context.Context, id, staffID int64, log audit.Entry) (Refund, error) {
	var out Refund
	err := s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		before, err := s.decidable(ctx, tx, id, staffID)
		if err != nil {
			return err
		}
		// A refund made outside the app while this one waited may have
		// taken part of what it would return: then it must be asked again
		// (rejecting it stays possible). The order is locked by decidable.
		o, err := loadOrder(ctx, tx, before.OutTradeNo, false)
		if err != nil {
			return err
		}
		if o.Refunded+before.Amount > o.Amount || o.Clawed+before.Clawback > o.Bonus {
			return fmt.Errorf("refund %d of order %s: %w", id, o.OutTradeNo, ErrTooMuch)
		}
		after, err := s.debit(ctx, tx, before, staffID)
		if err != nil {
			return err
		}
		out = after
		return s.appendLog(ctx, tx, log, "refund.approve", after, &before)
	})
	if err != nil {
		return out, err
	}
	return s.sendNow(ctx, out), nil
}

// Reject refuses a requested refund as staffID's decision; nothing moves.
func (s *Service) Reject(ctx context.Context, id, staffID int64, log audit.Entry) (Refund, error) {
	var out Refund
	err := s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		before, err := s.decidable(ctx, tx, id, staffID)
		if err != nil {
			return err
		}
		const q = `UPDATE refunds SET state = 'rejected', decided_by = $2, finished_at = $3 WHERE id = $1`
		if _, err := tx.ExecContext(ctx, q, id, staffID, s.now()); err != nil {
			return db.MapError(fmt.Errorf("reject refund %d: %w", id, err))
		}
		if out, err = load(ctx, tx, id, false); err != nil {
			return err
		}
		return s.appendLog(ctx, tx, log, "refund.reject", out, &before)
	})
	return out, err
}

// decidable locks the order, then refund id (the order first, as Request
// does), and says whether staffID may decide it. Concurrent deciders wait
// on the locks, so the second finds it decided.
func (s *Service) decidable(ctx context.Context, tx *sqlx.Tx, id, staffID int64) (Refund, error) {
	r, err := load(ctx, tx, id, false)
	if err != nil {
		return r, err
	}
	if _, err := loadOrder(ctx, tx, r.OutTradeNo, true); err != nil {
		return r, err
	}
	if r, err = load(ctx, tx, id, true); err != nil {
		return r, err
	}
	switch {
	case r.State != StateRequested:
		return r, fmt.Errorf("refund %d is %s: %w", id, r.State, ErrNotDecidable)
	case r.AskedByStaff.Valid && r.AskedByStaff.Int64 == staffID:
		return r, fmt.Errorf("refund %d by staff %d: %w", id, staffID, ErrOwnRequest)
	}
	return r, nil
}

// debit moves the wallet's refund and clawback into in-flight and marks
// the (locked, requested) refund in flight, leased to the sender that
// follows the commit; approver is 0 when nobody approved (under the
// threshold). The wallet must cover both: else a *Shortfall, nothing moved.
func (s *Service) debit(ctx context.Context, tx *sqlx.Tx, r Refund, approver int64) (Refund, error) {
	walletID, err := s.ledger.WalletOf(ctx, tx, r.UserID)
	if err != nil {
		return r, err
	}
	inflight, err := s.ledger.SystemAccountID(ctx, InFlightAccount)
	if err != nil {
		return r, err
	}
	ref := "order:" + r.OutTradeNo
	posted, err := s.ledger.Post(ctx, ledger.Posting{Key: "refund:" + r.RequestNo, Kind: ledger.Refund, Reference: ref,
		Description: DescRefund, Entries: []ledger.Entry{{AccountID: walletID, Amount: -r.Amount}, {AccountID: inflight, Amount: r.Amount}}},
		ledger.InTx(tx), ledger.Covered(walletID, r.Total()))
	if errors.Is(err, ledger.ErrInsufficientFunds) {
		return r, &Shortfall{Amount: r.Amount, Clawback: r.Clawback, Balance: posted.Before}
	}
	if err != nil {
		return r, fmt.Errorf("debit refund %s: %w", r.RequestNo, err)
	}
	if r.Clawback > 0 {
		_, err = s.ledger.Post(ctx, ledger.Posting{Key: "refund-clawback:" + r.RequestNo, Kind: ledger.Refund, Reference: ref,
			Description: DescClawback, Entries: []ledger.Entry{{AccountID: walletID, Amount: -r.Clawback}, {AccountID: inflight, Amount: r.Clawback}}},
			ledger.InTx(tx), ledger.Covered(walletID, r.Clawback))
		if err != nil {
			return r, fmt.Errorf("claw back the bonus of refund %s: %w", r.RequestNo, err)
		}
	}
	now := s.now()
	const q = `
		UPDATE refunds SET state = 'in_flight', approved_by = NULLIF($2, 0), approved_at = CASE WHEN $2 <> 0 THEN $3::timestamptz END,
		       sent_at = $3, next_check_at = $4, lease_until = $5
		 WHERE id = $1`
	if _, err := tx.ExecContext(ctx, q, r.ID, approver, now, now.Add(s.checkAfter), now.Add(lease)); err != nil {
		return r, db.MapError(fmt.Errorf("mark refund %d in flight: %w", r.ID, err))
	}
	return load(ctx, tx, r.ID, false)
}

// appendLog writes the audit line of action on r, from template log.
func (s *Service) appendLog(ctx context.Context, tx *sqlx.Tx, log audit.Entry, action string, r Refund, before *Refund) error {
	if log.At.IsZero() {
		log.At = s.now()
	}
	log.Action, log.ObjectKind, log.ObjectID = action, "refund", strconv.FormatInt(r.ID, 10)
	if before != nil {
		log.Before = *before
	}
	log.After = r
	log.Detail = "order " + r.OutTradeNo
	return audit.Append(ctx, tx, log)
}
