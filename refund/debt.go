package refund

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"im2pay/ledger"
)

// Debt is what a person owes after an external refund their wallet could
// not cover, in fen (0: nothing).
func (s *Service) Debt(ctx context.Context, userID int64) (int64, error) {
	return owed(ctx, s.store.DB(), userID)
}

// owed reads a person's debt through q.
func owed(ctx context.Context, q sqlx.QueryerContext, userID int64) (int64, error) {
	const query = `
		SELECT coalesce(-sum(e.amount), 0)
		  FROM accounts a JOIN ledger_entries e ON e.account_id = a.id
		 WHERE a.kind = 'system' AND a.code = $1`
	var debt int64
	if err := sqlx.GetContext(ctx, q, &debt, query, debtAccount(userID)); err != nil {
		return 0, fmt.Errorf("debt of user %d: %w", userID, err)
	}
	return debt, nil
}

// Owes says whether a person owes anything; recharge asks it before
// crediting a top-up without a transaction of its own, which could not
// repay (recharge.DebtRepayer).
func (s *Service) Owes(ctx context.Context, q sqlx.QueryerContext, userID int64) (bool, error) {
	debt, err := owed(ctx, q, userID)
	return debt > 0, err
}

// Repay pays a person's debt from their wallet, up to what it holds,
// inside the transaction that credits a top-up (recharge calls it after
// the top-up's postings, which hold the wallet's lock, so two top-ups at
// once repay one after the other, never the same debt twice). orderNo
// keys the posting: a replayed credit repays nothing again.
func (s *Service) Repay(ctx context.Context, tx *sqlx.Tx, userID, walletID int64, orderNo string) error {
	var debtID int64
	err := tx.GetContext(ctx, &debtID, `SELECT id FROM accounts WHERE kind = 'system' AND code = $1`, debtAccount(userID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("debt account of user %d: %w", userID, err)
	}
	var balance int64
	if err := tx.GetContext(ctx, &balance, `SELECT balance FROM accounts WHERE id = $1 FOR UPDATE`, walletID); err != nil {
		return fmt.Errorf("lock wallet %d: %w", walletID, err)
	}
	debt, err := owed(ctx, tx, userID)
	if err != nil {
		return err
	}
	pay := min(debt, balance)
	if pay <= 0 {
		return nil
	}
	_, err = s.ledger.Post(ctx, ledger.Posting{Key: "debt-repay:" + orderNo, Kind: ledger.Refund, Reference: "order:" + orderNo,
		Description: DescDebt, Entries: []ledger.Entry{{AccountID: walletID, Amount: -pay}, {AccountID: debtID, Amount: pay}}},
		ledger.InTx(tx), ledger.Covered(walletID, pay))
	if err != nil {
		return fmt.Errorf("repay debt of user %d from order %s: %w", userID, orderNo, err)
	}
	return nil
}
