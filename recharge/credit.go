package recharge

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/ledger"
	"im2pay/payment"
)

// Settle applies what a provider verifiably said about a payment to our
// order and returns the order as it now stands. It is the one crediting
// function: a notification, the return page's query, Check and Recheck,
// the reconciler (and a staff re-query) all end here, and nothing else
// marks an order paid. read is the order as the caller already read it,
// nil when it did not: an order read paid answers a repeated answer
// with no write at all. Whether the order is credited is decided by the
// database under the order's row lock, never by read, so however often
// and in whatever order answers arrive, the wallet is credited once.
func (s *Service) Settle(ctx context.Context, method payment.Method, res payment.Result, read *Order) (Order, error) {
	switch res.Status {
	case payment.StatusPaid:
		return s.credit(ctx, method, res, read)
	case payment.StatusFailed, payment.StatusClosed, payment.StatusProcessing:
		o := Order{}
		if read != nil {
			o = *read
		} else {
			var err error
			if o, err = s.OrderByNo(ctx, res.OutTradeNo); err != nil {
				return o, err
			}
		}
		// move is one conditional update from wherever the order is now:
		// a stale read cannot make it go back.
		if _, err := s.move(ctx, o, stateFor(res), string(res.Reason)); err != nil {
			return o, err
		}
	}
	return s.OrderByNo(ctx, res.OutTradeNo)
}

// stateFor is the order state a provider's unpaid answer leads to: a
// refusal with its reason, a cancellation the provider itself reports
// (UnionPay's respCode 69), a close, or a payment taken but not confirmed.
func stateFor(res payment.Result) string {
	switch {
	case res.Status == payment.StatusProcessing:
		return OrderProcessing
	case res.Status == payment.StatusClosed:
		return OrderClosed
	case res.Reason == payment.ReasonCancelled:
		return OrderCancelled
	}
	return OrderFailed
}

// credit is Settle for a paid answer. It writes in one of two ways: one
// query of its own when the order has no bonus (creditAlone), else,
// or when that moved nothing, one transaction (creditInTx). When neither
// moved anything, creditedBefore says why.
func (s *Service) credit(ctx context.Context, method payment.Method, res payment.Result, read *Order) (Order, error) {
	if read != nil {
		if err := matchPayment(*read, method, res); err != nil {
			return *read, err
		}
		if read.State == OrderPaid {
			return *read, nil // already credited (a paid order never moves back)
		}
	}
	clearing, err := s.ledger.SystemAccountID(ctx, "clearing:"+string(method))
	if err != nil {
		return Order{}, err
	}
	pay := paymentOf(method, res, s.now())
	var o Order
	moved := false
	if read != nil && read.TierBonus == 0 && read.FirstBonus == 0 && !s.owes(ctx, read.UserID) {
		o, moved = s.creditAlone(ctx, pay, *read, clearing)
	}
	if !moved {
		if o, moved, err = s.creditInTx(ctx, pay, clearing); err != nil {
			return o, fmt.Errorf("credit order %s: %w", res.OutTradeNo, err)
		}
	}
	if !moved {
		return s.creditedBefore(ctx, method, res)
	}
	s.metrics.TopUp(string(method), "paid")
	return o, nil
}

// paymentOf is a provider's paid answer as the order records it. A
// provider that names no time or no trade number of its own gets ours.
func paymentOf(method payment.Method, res payment.Result, now time.Time) Payment {
	pay := Payment{OutTradeNo: res.OutTradeNo, Method: string(method), Currency: res.Currency,
		TradeNo: res.TradeNo, Amount: res.Amount, PaidAt: res.PaidAt}
	if pay.PaidAt.IsZero() {
		pay.PaidAt = now
	}
	if pay.TradeNo == "" {
		pay.TradeNo = res.OutTradeNo
	}
	return pay
}

// creditAlone credits an order without a bonus in one query of its own,
// the common case of a notification: the top-up's posting, gated by
// paidGateSQL. It reports whether the order moved; when it did not, for
// whatever reason (paid by a twin meanwhile, a key taken, an error worth a
// second look), the caller takes the transaction path, which knows every
// case.
func (s *Service) creditAlone(ctx context.Context, pay Payment, read Order, clearing int64) (Order, bool) {
	walletID, err := s.ledger.WalletOf(ctx, s.store.DB(), read.UserID)
	if err != nil {
		return Order{}, false
	}
	var updated sql.NullTime
	_, err = s.ledger.Post(ctx, topupPosting(read, clearing, walletID), ledger.With(&ledger.Row{
		Gate: paidGateSQL, Write: "written AS (SELECT updated_at FROM gate)", Columns: "written.updated_at",
		Dest: []any{&updated}, NewKey: true,
		Args: []any{pay.OutTradeNo, pay.Method, pay.Amount, pay.Currency, pay.TradeNo, pay.PaidAt},
	}))
	if err != nil {
		return Order{}, false
	}
	o := read
	o.State, o.ProviderTradeNo, o.FailReason = OrderPaid, sql.NullString{String: pay.TradeNo, Valid: true}, ""
	o.PaidAt, o.UpdatedAt = sql.NullTime{Time: pay.PaidAt, Valid: true}, updated.Time
	return o, true
}

// paidGateSQL marks an order paid as the gate of its top-up's posting
// (see ledger.Row), so the order and its entries are one query: one
// exchange and one commit per credit. It applies only to an order with no
// bonus to post, still unpaid, that the payment matches (method, and the
// amount and currency of its stored price), and whose top-up key is new;
// otherwise nothing moves and the caller takes the transaction path. The
// order's row lock is taken first, as on that path, so a concurrent twin
// waits on it and then finds the order paid. With ledger.Row's NewKey a
// key taken after all fails the query whole, never an order paid
// without its entries. $10 the order number, $11 method, $12 amount and
// $13 currency as paid, $14 the provider's trade number, $15 the payment
// time.
const paidGateSQL = `
		UPDATE recharge_orders SET state = 'paid', provider_trade_no = $14, paid_at = $15, fail_reason = '',
		       updated_at = now()
		 WHERE out_trade_no = $10 AND state <> 'paid' AND method = $11 AND pay_amount = $12 AND pay_currency = $13
		   AND tier_bonus = 0 AND first_bonus = 0
		   AND NOT EXISTS (SELECT 1 FROM ledger_transactions WHERE idempotency_key = $1)
		RETURNING updated_at`

// creditInTx is the transaction path: in one database transaction it moves
// the order to paid with a conditional update under its row lock
// (markPaid), then posts the top-up and the bonus under keys
// derived from the order. moved is false when the order was not moved: it
// is paid already, is not this payment's, or is missing.
func (s *Service) creditInTx(ctx context.Context, pay Payment, clearing int64) (o Order, moved bool, err error) {
	promotion, err := s.ledger.SystemAccountID(ctx, "promotion")
	if err != nil {
		return o, false, err
	}
	err = s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if o, moved, err = s.markPaid(ctx, tx, pay); err != nil || !moved {
			return err
		}
		return s.postTopup(ctx, tx, &o, clearing, promotion)
	})
	return o, moved, err
}

// creditedBefore is the order as it stands after a paid answer that
// moved nothing: credited already (a repeated notification, a twin, a
// poll, the reconciler), or refused as not this payment's order. The
// conditional updates return no row when they move nothing, so this is
// the one read that tells which.
func (s *Service) creditedBefore(ctx context.Context, method payment.Method, res payment.Result) (Order, error) {
	o, err := s.OrderByNo(ctx, res.OutTradeNo)
	if err != nil {
		return o, fmt.Errorf("credit order %s: %w", res.OutTradeNo, err)
	}
	if err := matchPayment(o, method, res); err != nil {
		return o, err
	}
	if o.State != OrderPaid {
		return o, fmt.Errorf("credit order %s: still %s after a matching payment", o.OutTradeNo, o.State)
	}
	return o, nil
}

// topupPosting moves an order's amount from the provider's clearing
// account into the wallet.
func topupPosting(o Order, clearing, walletID int64) ledger.Posting {
	return ledger.Posting{
		Key: "topup:" + o.OutTradeNo, Kind: ledger.Topup, Reference: "order:" + o.OutTradeNo,
		Description: "topup_" + o.Method,
		Entries:     []ledger.Entry{{AccountID: clearing, Amount: -o.Amount}, {AccountID: walletID, Amount: o.Amount}},
	}
}

// matchPayment refuses a payment that is not the order's: another method,
// or another amount or currency than the price the order stored (its CNY
// amount, or what PayPal was asked for in its currency).
func matchPayment(o Order, method payment.Method, res payment.Result) error {
	if o.Method != string(method) || res.Amount != o.PayAmount || res.Currency != o.PayCurrency {
		return fmt.Errorf("credit order %s: %w: order %s is %s %d %s, provider %s says %d %s", o.OutTradeNo, ErrMismatch,
			o.OutTradeNo, o.Method, o.PayAmount, o.PayCurrency, method, res.Amount, res.Currency)
	}
	return nil
}

// postTopup posts the top-up and, as its own ledger transaction, the bonus.
// The first-recharge bonus is dropped if another order was paid first (two
// orders may both have been quoted as "first"); o then shows it dropped.
// ledger.Post locks the wallet.
func (s *Service) postTopup(ctx context.Context, tx *sqlx.Tx, o *Order, clearing, promotion int64) error {
	walletID, err := s.ledger.WalletOf(ctx, tx, o.UserID)
	if err != nil {
		return err
	}
	if _, err = s.ledger.Post(ctx, topupPosting(*o, clearing, walletID), ledger.InTx(tx)); err != nil {
		return err
	}
	if err := s.postBonus(ctx, tx, o, walletID, promotion); err != nil {
		return err
	}
	if s.debts == nil {
		return nil
	}
	// A debt from a refund made outside the app is repaid first, from
	// this top-up, in its transaction (see DebtRepayer).
	return s.debts.Repay(ctx, tx, o.UserID, walletID, o.OutTradeNo)
}

// owes says whether a person may owe a debt that a top-up must repay, so
// that their top-up takes the transaction path; on doubt, it does.
func (s *Service) owes(ctx context.Context, userID int64) bool {
	if s.debts == nil {
		return false
	}
	owes, err := s.debts.Owes(ctx, s.store.DB(), userID)
	return owes || err != nil
}

// postBonus posts the order's bonus as its own ledger transaction (see
// postTopup).
func (s *Service) postBonus(ctx context.Context, tx *sqlx.Tx, o *Order, walletID, promotion int64) error {
	bonus := o.TierBonus
	if o.FirstBonus > 0 {
		earlier, err := hasPaidOrder(ctx, tx, o.UserID, o.ID)
		if err != nil {
			return err
		}
		if !earlier {
			bonus += o.FirstBonus
		} else if err := dropFirstBonus(ctx, tx, o.ID); err != nil {
			return err
		} else {
			o.FirstBonus = 0
		}
	}
	if bonus == 0 {
		return nil
	}
	_, err := s.ledger.Post(ctx, ledger.Posting{
		Key: "bonus:" + o.OutTradeNo, Kind: ledger.Bonus, Reference: "order:" + o.OutTradeNo, Description: bonusDescription(*o),
		Entries: []ledger.Entry{{AccountID: promotion, Amount: -bonus}, {AccountID: walletID, Amount: bonus}},
	}, ledger.InTx(tx))
	return err
}

// bonusDescription names the bonus a top-up's bonus transaction carries,
// so that the history line says which one it is (the tier's, the first
// top-up's, or both together); the line's detail breaks the amounts down
// from the order. Transactions posted before this kept "recharge_bonus":
// the ledger is never rewritten.
func bonusDescription(o Order) string {
	switch {
	case o.TierBonus == 0 && o.FirstBonus > 0:
		return "first_bonus"
	case o.TierBonus > 0 && o.FirstBonus > 0:
		return "recharge_first_bonus"
	default:
		return "recharge_bonus"
	}
}
