package wallet

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
	"im2pay/payment"
)

// credit is Settle for a paid statement.
func (s *Service) credit(ctx context.Context, method payment.Method, res payment.Result) (db.Order, error) {
	clearing, err := s.store.SystemAccountID(ctx, "clearing:"+string(method))
	if err != nil {
		return db.Order{}, err
	}
	promotion, err := s.store.SystemAccountID(ctx, "promotion")
	if err != nil {
		return db.Order{}, err
	}
	var out db.Order
	err = s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		o, err := db.LockOrder(ctx, tx, res.OutTradeNo)
		if err != nil {
			return err
		}
		out = o
		if o.Method != string(method) || res.Amount != o.Amount || res.Currency != o.Currency {
			return fmt.Errorf("%w: order %s is %s %d %s, provider %s says %d %s", ErrMismatch,
				o.OutTradeNo, o.Method, o.Amount, o.Currency, method, res.Amount, res.Currency)
		}
		if o.State == db.OrderPaid {
			return nil // already credited: a repeated notification, a poll, the reconciler
		}
		paidAt := res.PaidAt
		if paidAt.IsZero() {
			paidAt = s.now()
		}
		tradeNo := res.TradeNo
		if tradeNo == "" {
			tradeNo = o.OutTradeNo
		}
		if err := db.MarkOrderPaid(ctx, tx, o.ID, tradeNo, paidAt); err != nil {
			return err
		}
		return s.postTopup(ctx, tx, o, clearing, promotion)
	})
	if err != nil {
		return out, fmt.Errorf("credit order %s: %w", res.OutTradeNo, err)
	}
	return s.store.OrderByNo(ctx, res.OutTradeNo)
}

// postTopup posts the top-up and, as its own transaction, the bonus. The
// first-recharge bonus is dropped if another order was paid first (two
// orders may both have been quoted as "first").
func (s *Service) postTopup(ctx context.Context, tx *sqlx.Tx, o db.Order, clearing, promotion int64) error {
	walletID, _, err := db.LockWallet(ctx, tx, o.UserID)
	if err != nil {
		return err
	}
	ref := "order:" + o.OutTradeNo
	_, err = db.Post(ctx, tx, db.Posting{
		Key: "topup:" + o.OutTradeNo, Kind: db.KindTopup, Reference: ref, Description: "topup_" + o.Method,
		Entries: []db.Entry{{AccountID: clearing, Amount: -o.Amount}, {AccountID: walletID, Amount: o.Amount}},
	})
	if err != nil {
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
		}
	}
	if bonus == 0 {
		return nil
	}
	_, err = db.Post(ctx, tx, db.Posting{
		Key: "bonus:" + o.OutTradeNo, Kind: db.KindBonus, Reference: ref, Description: "recharge_bonus",
		Entries: []db.Entry{{AccountID: promotion, Amount: -bonus}, {AccountID: walletID, Amount: bonus}},
	})
	return err
}
