package refund

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/big"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
	"im2pay/ledger"
	"im2pay/payment"
	"im2pay/recharge"
)

// Notified books a verified refund notification (recharge.Notify hands
// over every Notification whose Refund is set; it has recorded it in
// payment_events). A notification about one of our refunds (its request
// number is ours) completes or fails it, once. Any other successful
// refund was made outside the app (the provider's merchant portal, a
// chargeback) and is booked anyway (bookExternal). An order we do not
// have is recharge.ErrUnknownOrder, which recharge acknowledges.
func (s *Service) Notified(ctx context.Context, method payment.Method, n payment.Notification) error {
	r := n.Refund
	if r == nil {
		return errors.New("refund: notification without a refund")
	}
	no := r.OutTradeNo
	if no == "" {
		no = n.OutTradeNo
	}
	if no == "" && n.TradeNo != "" {
		// A UnionPay portal refund names no order of ours, only the
		// consumption's queryId (origQryId, our provider_trade_no): found
		// by it, or it would be acknowledged as an unknown order and never
		// booked. Bug found by TestAPortalRefundAtEachProvider…/card.
		err := s.store.DB().GetContext(ctx, &no, `SELECT out_trade_no FROM recharge_orders
			WHERE method = $1 AND provider_trade_no = $2`, string(method), n.TradeNo)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("order of %s trade %s: %w", method, n.TradeNo, err)
		}
	}
	var ours Refund
	err := s.store.DB().GetContext(ctx, &ours, `SELECT `+columns+` FROM refunds WHERE request_no = $1 AND out_trade_no = $2 AND NOT external`,
		r.RequestNo, no)
	switch {
	case err == nil:
		switch r.Status {
		case payment.RefundSucceeded:
			return s.complete(ctx, ours.ID, r.RefundID, "notify "+r.Detail)
		case payment.RefundFailed:
			return s.fail(ctx, ours.ID, string(r.Failure), "notify "+r.Detail)
		}
		return nil
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("refund notification %s of %s: %w", r.RequestNo, no, err)
	}
	if r.Status != payment.RefundSucceeded {
		return nil // a refund outside the app that moved nothing (yet)
	}
	ext := *r
	if ext.Amount == 0 {
		amount, err := s.requestAmount(ctx, method, no, ext.RequestNo)
		if err != nil {
			return err
		}
		ext.Amount = amount
	}
	return s.bookExternal(ctx, method, no, ext)
}

// requestAmount is what the provider refunded under request number reqNo
// of order no, from its own record of that request (Alipay's
// fastpay.refund.query by out_request_no). A notification that says only
// the total refunded so far (Alipay's refund_fee) cannot tell a refund
// made outside the app from ours: while one of ours is in flight, the
// total may or may not include it, and the difference from what we hold
// undercounted (bug found by TestAPortalRefundWhileOursIsInFlight…). 0
// with no error: the external refund is booked already (a repeated
// notification; bookExternal says so again), or the provider cannot be
// asked, when the total is all there is. An error leaves the notification
// unacknowledged: the provider sends it again.
func (s *Service) requestAmount(ctx context.Context, method payment.Method, no, reqNo string) (int64, error) {
	var seen bool
	if err := s.store.DB().GetContext(ctx, &seen, `SELECT EXISTS (SELECT 1 FROM refunds
		WHERE out_trade_no = $1 AND external AND external_no = $2)`, no, reqNo); err != nil {
		return 0, fmt.Errorf("find external refund %s of %s: %w", reqNo, no, err)
	}
	p, err := s.refunder(string(method))
	if seen || err != nil {
		return 0, nil
	}
	res, err := s.callQuery(ctx, string(method), p, payment.RefundRequest{OutTradeNo: no, RequestNo: reqNo, Currency: "CNY"})
	switch {
	case err != nil:
		return 0, fmt.Errorf("refund notification %s of %s: ask the provider for its amount: %w", reqNo, no, err)
	case res.Status != payment.RefundSucceeded || res.Amount <= 0 || (res.RequestNo != "" && res.RequestNo != reqNo):
		return 0, fmt.Errorf("refund notification %s of %s: the provider's record says %s %d of %q: %w",
			reqNo, no, res.Status, res.Amount, res.RequestNo, payment.ErrMalformed)
	}
	return res.Amount, nil
}

// bookExternal books a refund made outside the app, once per the
// provider's number for it. Its amount is what the provider says; where it
// says only the total refunded so far (Alipay's refund_fee), it is that
// total less what we booked. The clawback is the same pro-rata share as
// ours. The wallet pays what it holds; the rest is the person's debt.
func (s *Service) bookExternal(ctx context.Context, method payment.Method, no string, r payment.RefundResult) error {
	own, err := newRequestNo()
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		o, err := loadOrder(ctx, tx, no, true)
		if errors.Is(err, db.ErrNotFound) {
			return fmt.Errorf("refund notification of order %q: %w", no, recharge.ErrUnknownOrder)
		}
		if err != nil {
			return err
		}
		if o.Method != string(method) {
			return fmt.Errorf("refund notification by %s of a %s order %s: %w", method, o.Method, no, recharge.ErrMismatch)
		}
		if o.State != "paid" {
			// Never credited here: there is nothing of it in the wallet to
			// take back. Recorded in payment_events; reconciliation flags it.
			s.log.Warn("refund: external refund of an order not credited here", "order", o.OutTradeNo, "state", o.State)
			return nil
		}
		var seen bool
		if err := tx.GetContext(ctx, &seen, `SELECT EXISTS (SELECT 1 FROM refunds WHERE order_id = $1 AND external AND external_no = $2)`,
			o.ID, r.RequestNo); err != nil {
			return fmt.Errorf("find external refund %s: %w", r.RequestNo, err)
		}
		if seen {
			return nil // a repeated notification
		}
		amount := externalAmount(o, r)
		if amount <= 0 {
			return nil // nothing beyond what we booked
		}
		clawback := Clawback(o.Bonus, o.Amount, o.Refunded, o.Clawed, amount)
		return s.bookExternalMoney(ctx, tx, o, r, own, amount, clawback)
	})
}

// externalAmount is the fen an external refund returned, at most what is
// left of the order.
func externalAmount(o order, r payment.RefundResult) int64 {
	left := o.Amount - o.Refunded
	var amount int64
	switch {
	case r.Amount > 0 && (r.Currency == "" || r.Currency == "CNY" || o.PayAmount == o.Amount):
		amount = r.Amount
	case r.Amount > 0:
		// Paid in another currency: its share of the order, rounded half up.
		n := new(big.Int).Mul(big.NewInt(o.Amount), big.NewInt(2*r.Amount))
		n.Add(n, big.NewInt(o.PayAmount)).Quo(n, big.NewInt(2*o.PayAmount))
		amount = n.Int64()
	case r.RefundedTotal > 0:
		amount = r.RefundedTotal - o.Refunded
	}
	return min(amount, left)
}

// bookExternalMoney posts an external refund: the wallet pays what it
// holds, refund first, and the person's debt account the rest; the money
// goes to the clearing account and the clawback to promotion. The wallet
// row is locked first, so its balance cannot change in between.
func (s *Service) bookExternalMoney(ctx context.Context, tx *sqlx.Tx, o order, r payment.RefundResult, own string, amount, clawback int64) error {
	walletID, err := s.ledger.WalletOf(ctx, tx, o.UserID)
	if err != nil {
		return err
	}
	var balance int64
	if err := tx.GetContext(ctx, &balance, `SELECT balance FROM accounts WHERE id = $1 FOR UPDATE`, walletID); err != nil {
		return fmt.Errorf("lock wallet %d: %w", walletID, err)
	}
	clearing, err := s.ledger.SystemAccountID(ctx, "clearing:"+o.Method)
	if err != nil {
		return err
	}
	promotion, err := s.ledger.SystemAccountID(ctx, "promotion")
	if err != nil {
		return err
	}
	fromWallet := min(balance, amount+clawback)
	debt := amount + clawback - fromWallet
	var debtID int64
	if debt > 0 {
		if debtID, err = s.ledger.EnsureSystemAccount(ctx, debtAccount(o.UserID)); err != nil {
			return err
		}
	}
	refundWallet := min(fromWallet, amount)
	parts := []struct {
		key, desc    string
		total, fromW int64
		to           int64
	}{
		{"refund:" + own, DescRefund, amount, refundWallet, clearing},
		{"refund-clawback:" + own, DescClawback, clawback, fromWallet - refundWallet, promotion},
	}
	for _, p := range parts {
		if p.total == 0 {
			continue
		}
		entries := []ledger.Entry{{AccountID: p.to, Amount: p.total}}
		if p.fromW > 0 {
			entries = append(entries, ledger.Entry{AccountID: walletID, Amount: -p.fromW})
		}
		if p.total > p.fromW {
			entries = append(entries, ledger.Entry{AccountID: debtID, Amount: -(p.total - p.fromW)})
		}
		if _, err := s.ledger.Post(ctx, ledger.Posting{Key: p.key, Kind: ledger.Refund, Reference: "order:" + o.OutTradeNo,
			Description: p.desc, Entries: entries}, ledger.InTx(tx)); err != nil {
			return fmt.Errorf("book external refund %s of %s: %w", r.RequestNo, o.OutTradeNo, err)
		}
	}
	now := s.now()
	const insert = `
		INSERT INTO refunds (order_id, out_trade_no, user_id, method, request_no, amount, clawback, state, reason,
		                     provider_refund_id, detail, external, chargeback, external_no, debt, requested_at, sent_at, finished_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 'succeeded', '', $8, $9, true, $10, $11, $12, $13, $13, $13)`
	at := r.At
	if at.IsZero() {
		at = now
	}
	if _, err := tx.ExecContext(ctx, insert, o.ID, o.OutTradeNo, o.UserID, o.Method, own, amount, clawback,
		cut(r.RefundID), cut(r.Detail), r.Chargeback, r.RequestNo, debt, at); err != nil {
		return db.MapError(fmt.Errorf("record external refund %s of %s: %w", r.RequestNo, o.OutTradeNo, err))
	}
	if debt > 0 {
		s.log.Warn("refund: external refund beyond the wallet booked as debt", "order", o.OutTradeNo,
			"user", o.UserID, "debt", debt)
	}
	return nil
}
