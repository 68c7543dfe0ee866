package wallet

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
	"im2pay/ledger"
	"im2pay/payment"
)

// credit is Settle for a paid statement. pre is the order as read without
// a lock just before (nil when not read): a repeated notification of an
// order already paid is answered from it, with no transaction at all.
// Whether the order is credited is decided under its row lock, by
// db.Store.MarkPaid's conditional update, never by pre.
func (s *Service) credit(ctx context.Context, method payment.Method, res payment.Result, pre *db.Order) (db.Order, error) {
	if pre != nil {
		if err := matchPayment(*pre, method, res); err != nil {
			return *pre, err
		}
		if pre.State == db.OrderPaid {
			return *pre, nil // already credited (a paid order never moves back)
		}
	}
	clearing, err := s.ledger.SystemAccountID(ctx, "clearing:"+string(method))
	if err != nil {
		return db.Order{}, err
	}
	promotion, err := s.ledger.SystemAccountID(ctx, "promotion")
	if err != nil {
		return db.Order{}, err
	}
	pay := db.Payment{OutTradeNo: res.OutTradeNo, Method: string(method), Currency: res.Currency,
		TradeNo: res.TradeNo, Amount: res.Amount, PaidAt: res.PaidAt}
	if pay.PaidAt.IsZero() {
		pay.PaidAt = s.now()
	}
	if pay.TradeNo == "" {
		pay.TradeNo = res.OutTradeNo
	}
	if pre != nil && pre.TierBonus == 0 && pre.FirstBonus == 0 {
		if o, done, err := s.creditAlone(ctx, pay, *pre, method, res, clearing); done {
			return o, err
		}
	}
	var out db.Order
	var moved bool
	err = s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if out, moved, err = s.store.MarkPaid(ctx, tx, pay); err != nil || !moved {
			return err
		}
		return s.postTopup(ctx, tx, &out, clearing, promotion)
	})
	if err != nil {
		return out, fmt.Errorf("credit order %s: %w", res.OutTradeNo, err)
	}
	if moved {
		s.metrics.TopUp(string(method), "paid")
		return out, nil
	}
	// Nothing moved: paid already (a repeated notification, a poll, the
	// reconciler), or not this payment's order.
	o, err := s.store.OrderByNo(ctx, res.OutTradeNo)
	if err != nil {
		return o, fmt.Errorf("credit order %s: %w", res.OutTradeNo, err)
	}
	if err := matchPayment(o, method, res); err != nil {
		return o, err
	}
	if o.State != db.OrderPaid {
		return o, fmt.Errorf("credit order %s: still %s after a matching payment", o.OutTradeNo, o.State)
	}
	return o, nil
}

// creditAlone credits an order without a bonus in one statement of its own
// (the top-up's posting gated by paidGateSQL), the common case of a
// notification. done is false
// when the caller should take the transaction path, which knows every
// case: a bonus after all, a key taken, an error worth a second look.
func (s *Service) creditAlone(ctx context.Context, pay db.Payment, pre db.Order, method payment.Method,
	res payment.Result, clearing int64) (db.Order, bool, error) {
	walletID, err := s.ledger.WalletOf(ctx, s.store.DB(), pre.UserID)
	if err != nil {
		return db.Order{}, false, nil
	}
	var updated sql.NullTime
	_, err = s.ledger.Post(ctx, topupPosting(pre, clearing, walletID), ledger.With(&ledger.Row{
		Gate: paidGateSQL, Write: "written AS (SELECT updated_at FROM gate)", Columns: "written.updated_at",
		Dest: []any{&updated}, NewKey: true,
		Args: []any{pay.OutTradeNo, pay.Method, pay.Amount, pay.Currency, pay.TradeNo, pay.PaidAt},
	}))
	if err == nil {
		s.metrics.TopUp(string(method), "paid")
		o := pre
		o.State, o.ProviderTradeNo, o.FailReason = db.OrderPaid, sql.NullString{String: pay.TradeNo, Valid: true}, ""
		o.PaidAt, o.UpdatedAt = sql.NullTime{Time: pay.PaidAt, Valid: true}, updated.Time
		return o, true, nil
	}
	if !errors.Is(err, ledger.ErrGateClosed) {
		return db.Order{}, false, err
	}
	// Nothing moved: most often a twin credited it meanwhile.
	o, err := s.store.OrderByNo(ctx, pay.OutTradeNo)
	if err != nil || o.State != db.OrderPaid {
		return o, false, nil
	}
	return o, true, matchPayment(o, method, res)
}

// paidGateSQL marks an order paid as the gate of its top-up's posting
// (see ledger.Row), so the order and its entries are one statement: one
// exchange and one commit per credit. It applies only to an order with no
// bonus to post, still unpaid, that the payment matches (method, and the
// amount and currency of its stored price), and whose top-up key is new;
// otherwise nothing moves and the caller takes the transaction path. The
// order's row lock is taken first, as on that path, so a concurrent twin
// waits on it and then finds the order paid. With ledger.Row's NewKey a
// key taken after all fails the statement whole, never an order paid
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

// topupPosting moves an order's amount from the provider's clearing
// account into the wallet.
func topupPosting(o db.Order, clearing, walletID int64) ledger.Posting {
	return ledger.Posting{
		Key: "topup:" + o.OutTradeNo, Kind: ledger.Topup, Reference: "order:" + o.OutTradeNo,
		Description: "topup_" + o.Method,
		Entries:     []ledger.Entry{{AccountID: clearing, Amount: -o.Amount}, {AccountID: walletID, Amount: o.Amount}},
	}
}

// matchPayment refuses a payment that is not the order's: another method,
// or another amount or currency than the price the order stored (its CNY
// amount, or what PayPal was asked for in its currency).
func matchPayment(o db.Order, method payment.Method, res payment.Result) error {
	if o.Method != string(method) || res.Amount != o.PayAmount || res.Currency != o.PayCurrency {
		return fmt.Errorf("credit order %s: %w: order %s is %s %d %s, provider %s says %d %s", o.OutTradeNo, ErrMismatch,
			o.OutTradeNo, o.Method, o.PayAmount, o.PayCurrency, method, res.Amount, res.Currency)
	}
	return nil
}

// postTopup posts the top-up and, as its own ledger transaction, the bonus.
// The first-recharge bonus is dropped if another order was paid first (two
// orders may both have been quoted as "first"); o then shows it dropped.
// db.Store.Post locks the wallet.
func (s *Service) postTopup(ctx context.Context, tx *sqlx.Tx, o *db.Order, clearing, promotion int64) error {
	walletID, err := s.ledger.WalletOf(ctx, tx, o.UserID)
	if err != nil {
		return err
	}
	if _, err = s.ledger.Post(ctx, topupPosting(*o, clearing, walletID), ledger.InTx(tx)); err != nil {
		return err
	}
	bonus := o.TierBonus
	if o.FirstBonus > 0 {
		earlier, err := db.HasPaidOrder(ctx, tx, o.UserID, o.ID)
		if err != nil {
			return err
		}
		if !earlier {
			bonus += o.FirstBonus
		} else if err := db.DropFirstBonus(ctx, tx, o.ID); err != nil {
			return err
		} else {
			o.FirstBonus = 0
		}
	}
	if bonus == 0 {
		return nil
	}
	_, err = s.ledger.Post(ctx, ledger.Posting{
		Key: "bonus:" + o.OutTradeNo, Kind: ledger.Bonus, Reference: "order:" + o.OutTradeNo, Description: "recharge_bonus",
		Entries: []ledger.Entry{{AccountID: promotion, Amount: -bonus}, {AccountID: walletID, Amount: bonus}},
	}, ledger.InTx(tx))
	return err
}
