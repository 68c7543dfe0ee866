package spend

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
)

// ItemUse is one recorded use of a consumable.
type ItemUse struct {
	UserID    int64 `db:"user_id"`
	ProductID int64 `db:"product_id"`
	UnitsLeft int   `db:"units_left"`
}

// itemUseByKey finds a use recorded under key.
func itemUseByKey(ctx context.Context, tx *sqlx.Tx, key string) (ItemUse, error) {
	var u ItemUse
	err := tx.GetContext(ctx, &u, `SELECT user_id, product_id, units_left FROM item_uses WHERE idempotency_key = $1`, key)
	return u, db.NotFound(err, "item use %q", key)
}

// takeUnit takes one unit of a product a user owns and records the use
// under key, in tx. ok is false when the user has no unit left.
func takeUnit(ctx context.Context, tx *sqlx.Tx, key string, userID, productID int64) (left int, ok bool, err error) {
	const take = `UPDATE owned_items SET quantity = quantity - 1
		WHERE user_id = $1 AND product_id = $2 AND quantity > 0 RETURNING quantity`
	err = tx.GetContext(ctx, &left, take, userID, productID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("use item %d of user %d: %w", productID, userID, err)
	}
	const record = `INSERT INTO item_uses (idempotency_key, user_id, product_id, units_left) VALUES ($1, $2, $3, $4)`
	if _, err := tx.ExecContext(ctx, record, key, userID, productID, left); err != nil {
		return 0, false, db.MapError(fmt.Errorf("record item use %q: %w", key, err))
	}
	return left, true, nil
}
