package recharge

import (
	"context"
	"fmt"
	"time"

	"im2pay/db"
)

// usernameOf is the name of an order's owner.
func (s *Service) usernameOf(ctx context.Context, userID int64) (string, error) {
	var name string
	err := s.store.DB().GetContext(ctx, &name, `SELECT username FROM users WHERE id = $1`, userID)
	return name, db.NotFound(err, "user %d", userID)
}

// orderStates are an order's recorded moves, oldest first.
func (s *Service) orderStates(ctx context.Context, orderID int64) ([]StateChange, error) {
	const q = `SELECT coalesce(from_state::text, '') AS from_state, to_state::text AS to_state, fail_reason, at
		FROM recharge_order_states WHERE order_id = $1 ORDER BY id`
	var out []StateChange
	if err := s.store.DB().SelectContext(ctx, &out, q, orderID); err != nil {
		return nil, fmt.Errorf("states of order %d: %w", orderID, err)
	}
	return out, nil
}

// orderEvents are the newest limit payment events naming an order,
// returned oldest first.
func (s *Service) orderEvents(ctx context.Context, no string, limit int) ([]PaymentEvent, error) {
	const q = `SELECT id, method, kind, out_trade_no, verified, status, detail, body, created_at FROM (
		SELECT id, method, kind, out_trade_no, verified, status, detail, body, created_at
		  FROM payment_events WHERE out_trade_no = $1 ORDER BY id DESC LIMIT $2) newest
		ORDER BY id`
	var out []PaymentEvent
	if err := s.store.DB().SelectContext(ctx, &out, q, no, limit); err != nil {
		return nil, fmt.Errorf("payment events of order %s: %w", no, err)
	}
	return out, nil
}

// orderTransactions are the ledger transactions with a reference, each
// with its entries, oldest first.
func (s *Service) orderTransactions(ctx context.Context, reference string) ([]LedgerTransaction, error) {
	const q = `
		SELECT t.id, t.idempotency_key, t.kind::text AS kind, t.description, t.created_at,
		       e.account_id, coalesce(a.code, 'wallet:' || u.username) AS account, e.amount, e.balance_after
		  FROM ledger_transactions t
		  JOIN ledger_entries e ON e.transaction_id = t.id
		  JOIN accounts a ON a.id = e.account_id
		  LEFT JOIN users u ON u.id = a.user_id
		 WHERE t.reference = $1
		 ORDER BY t.id, e.id`
	var rows []struct {
		ID          int64     `db:"id"`
		Key         string    `db:"idempotency_key"`
		Kind        string    `db:"kind"`
		Description string    `db:"description"`
		At          time.Time `db:"created_at"`
		LedgerEntry
	}
	if err := s.store.DB().SelectContext(ctx, &rows, q, reference); err != nil {
		return nil, fmt.Errorf("ledger transactions of %s: %w", reference, err)
	}
	var out []LedgerTransaction
	for _, r := range rows {
		if n := len(out); n == 0 || out[n-1].ID != r.ID {
			out = append(out, LedgerTransaction{ID: r.ID, Key: r.Key, Kind: r.Kind, Description: r.Description, At: r.At})
		}
		out[len(out)-1].Entries = append(out[len(out)-1].Entries, r.LedgerEntry)
	}
	return out, nil
}
