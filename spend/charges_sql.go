package spend

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
)

// ChargeOutcome is what a per-use charge decided; it matches the
// charge_outcome enum.
type ChargeOutcome string

// Charge outcomes.
const (
	ChargeCharged      ChargeOutcome = "charged"
	ChargeInsufficient ChargeOutcome = "insufficient_funds"
)

// APICharge is one idempotency key of the service API with the first answer
// it received.
type APICharge struct {
	ID            int64         `db:"id"`
	Key           string        `db:"idempotency_key"`
	RequestHash   []byte        `db:"request_hash"`
	UserID        int64         `db:"user_id"`
	Username      string        `db:"username"` // read only, from users
	Amount        int64         `db:"amount"`
	Reason        string        `db:"reason"`
	Outcome       ChargeOutcome `db:"outcome"`
	TransactionID sql.NullInt64 `db:"transaction_id"`
	Balance       int64         `db:"balance"`
	Shortfall     int64         `db:"shortfall"`
	CreatedAt     time.Time     `db:"created_at"`
}

// apiChargeByKey finds the answer first given to key.
func (s *Service) apiChargeByKey(ctx context.Context, key string) (APICharge, error) {
	const q = `
		SELECT c.id, c.idempotency_key, c.request_hash, c.user_id, u.username, c.amount, c.reason,
		       c.outcome, c.transaction_id, c.balance, c.shortfall, c.created_at
		  FROM api_charges c JOIN users u ON u.id = c.user_id
		 WHERE c.idempotency_key = $1`
	var c APICharge
	err := s.store.DB().GetContext(ctx, &c, q, key)
	return c, db.NotFound(err, "api charge %q", key)
}

const insertAPIChargeSQL = `
	INSERT INTO api_charges (idempotency_key, request_hash, user_id, amount, reason,
	                         outcome, transaction_id, balance, shortfall)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
	ON CONFLICT (idempotency_key) DO NOTHING
	RETURNING id, created_at`

// insertAPICharge records c's answer inside the transaction that made it and
// fills its ID and CreatedAt. When another transaction recorded the key
// first, it waits for that one to end and reports created = false; the
// caller must then roll back and give that first answer instead.
func insertAPICharge(ctx context.Context, tx *sqlx.Tx, c *APICharge) (created bool, err error) {
	row := tx.QueryRowxContext(ctx, insertAPIChargeSQL, c.Key, c.RequestHash, c.UserID, c.Amount, c.Reason, c.Outcome,
		c.TransactionID, c.Balance, c.Shortfall)
	err = row.Scan(&c.ID, &c.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, db.MapError(fmt.Errorf("record api charge %q: %w", c.Key, err))
	}
	return true, nil
}
