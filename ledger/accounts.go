package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
)

// WalletOf returns the id of a user's wallet, reading through q (the
// caller's transaction, so it never needs a second pool connection) only
// the first time: a user's wallet is created with the user and never
// changes, so a remembered id cannot go stale. Every spend needs it before
// its query, to fingerprint the request.
func (l *Ledger) WalletOf(ctx context.Context, q sqlx.QueryerContext, userID int64) (int64, error) {
	if id, ok := l.wallets.Get(userID); ok {
		return id, nil
	}
	var id int64
	err := sqlx.GetContext(ctx, q, &id, `SELECT id FROM accounts WHERE user_id = $1 AND kind = 'wallet'`, userID)
	if err != nil {
		return 0, db.NotFound(err, "wallet of user %d", userID)
	}
	l.wallets.Put(userID, id)
	return id, nil
}

// SystemAccountID looks up a system account by its code (e.g. "grants").
func (l *Ledger) SystemAccountID(ctx context.Context, code string) (int64, error) {
	if id, ok := l.system.Get(code); ok {
		return id, nil
	}
	var id int64
	err := l.store.DB().GetContext(ctx, &id, `SELECT id FROM accounts WHERE kind = 'system' AND code = $1`, code)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("system account %q: %w", code, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("system account %q: %w", code, err)
	}
	l.system.Put(code, id)
	return id, nil
}

// EnsureSystemAccount returns the system account with code, creating it
// if needed; concurrent callers get the same account. It takes two
// queries on purpose: an INSERT that meets a concurrent twin waits for
// it to commit, and only a new query's snapshot can then see its row.
func (l *Ledger) EnsureSystemAccount(ctx context.Context, code string) (int64, error) {
	// Nearly always the account exists: a remembered id or a read finds
	// it, without a write.
	if id, err := l.SystemAccountID(ctx, code); !errors.Is(err, ErrNotFound) {
		return id, err
	}
	const q = `INSERT INTO accounts (kind, code) VALUES ('system', $1) ON CONFLICT (code) DO NOTHING`
	if _, err := l.store.DB().ExecContext(ctx, q, code); err != nil {
		return 0, fmt.Errorf("create system account %q: %w", code, err)
	}
	return l.SystemAccountID(ctx, code)
}

// Balance returns a wallet's cached balance.
func (l *Ledger) Balance(ctx context.Context, accountID int64) (int64, error) {
	var b sql.NullInt64
	err := l.store.DB().GetContext(ctx, &b, `SELECT balance FROM accounts WHERE id = $1`, accountID)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !b.Valid) {
		return 0, fmt.Errorf("balance of account %d: %w", accountID, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("balance of account %d: %w", accountID, err)
	}
	return b.Int64, nil
}

// SystemAccountTotal is a system account's balance: the sum of its entries
// (system accounts keep no cached balance). An account never created holds
// nothing, so it is 0, not ErrNotFound.
func (l *Ledger) SystemAccountTotal(ctx context.Context, code string) (int64, error) {
	const q = `
		SELECT coalesce(sum(e.amount), 0)
		  FROM accounts a JOIN ledger_entries e ON e.account_id = a.id
		 WHERE a.kind = 'system' AND a.code = $1`
	var total int64
	if err := l.store.DB().GetContext(ctx, &total, q, code); err != nil {
		return 0, fmt.Errorf("total of system account %q: %w", code, err)
	}
	return total, nil
}
