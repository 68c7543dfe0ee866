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

// Product is one item of the shop.
type Product struct {
	ID       int64  `db:"id"`
	Code     string `db:"code"`
	Kind     string `db:"kind"` // membership, sticker_pack, consumable
	Price    int64  `db:"price"`
	Months   int    `db:"months"`
	Days     int    `db:"days"`
	Quantity int    `db:"quantity"`
}

const productColumns = `id, code, kind, price, months, days, quantity`

// products lists the active products in shop order.
func (s *Service) products(ctx context.Context) ([]Product, error) {
	var out []Product
	if err := s.store.DB().SelectContext(ctx, &out, `SELECT `+productColumns+` FROM products WHERE active ORDER BY sort, id`); err != nil {
		return nil, fmt.Errorf("products: %w", err)
	}
	return out, nil
}

// productByCode finds an active product.
func (s *Service) productByCode(ctx context.Context, code string) (Product, error) {
	var p Product
	err := s.store.DB().GetContext(ctx, &p, `SELECT `+productColumns+` FROM products WHERE code = $1 AND active`, code)
	return p, db.NotFound(err, "product %q", code)
}

// Owned is what a person holds: membership expiry and item quantities.
type Owned struct {
	MembershipUntil time.Time
	Items           map[int64]int // product id → quantity (1 for a sticker pack)
}

// ownedBy loads what a user holds.
func (s *Service) ownedBy(ctx context.Context, userID int64) (Owned, error) {
	o := Owned{Items: map[int64]int{}}
	var until sql.NullTime
	err := s.store.DB().GetContext(ctx, &until, `SELECT expires_at FROM memberships WHERE user_id = $1`, userID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("membership of user %d: %w", userID, err)
	}
	o.MembershipUntil = until.Time
	rows, err := s.store.DB().QueryxContext(ctx, `SELECT product_id, quantity FROM owned_items WHERE user_id = $1`, userID)
	if err != nil {
		return o, fmt.Errorf("items of user %d: %w", userID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var qty int
		if err := rows.Scan(&id, &qty); err != nil {
			return o, err
		}
		o.Items[id] = qty
	}
	return o, rows.Err()
}

// insertPurchase records a purchase under its request key; created is false
// when the key was used before (a double click), and then nothing else must
// happen.
func insertPurchase(ctx context.Context, tx *sqlx.Tx, userID int64, productID, eventID sql.NullInt64, price int64, key string) (int64, bool, error) {
	const q = `INSERT INTO purchases (user_id, product_id, event_id, price, request_key) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (user_id, request_key) DO NOTHING RETURNING id`
	var id int64
	err := tx.GetContext(ctx, &id, q, userID, productID, eventID, price, key)
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.GetContext(ctx, &id, `SELECT id FROM purchases WHERE user_id = $1 AND request_key = $2`, userID, key)
		return id, false, err
	}
	if err != nil {
		return 0, false, db.MapError(fmt.Errorf("record purchase: %w", err))
	}
	return id, true, nil
}

// extendMembership adds months and days to a membership, from the later of
// now and its current expiry, and returns the new expiry.
func extendMembership(ctx context.Context, tx *sqlx.Tx, userID int64, months, days int, now time.Time) (time.Time, error) {
	const q = `INSERT INTO memberships (user_id, expires_at)
		VALUES ($1, $4::timestamptz + make_interval(months => $2, days => $3))
		ON CONFLICT (user_id) DO UPDATE
		   SET expires_at = greatest(memberships.expires_at, $4::timestamptz) + make_interval(months => $2, days => $3)
		RETURNING expires_at`
	var until time.Time
	if err := tx.GetContext(ctx, &until, q, userID, months, days, now); err != nil {
		return until, fmt.Errorf("extend membership of user %d: %w", userID, err)
	}
	return until, nil
}

// addOwned gives a user quantity of a product. once=true (sticker packs)
// refuses a second copy: it reports false when the user already owns it.
func addOwned(ctx context.Context, tx *sqlx.Tx, userID, productID int64, quantity int, once bool) (bool, error) {
	q := `INSERT INTO owned_items (user_id, product_id, quantity) VALUES ($1, $2, $3)
		ON CONFLICT (user_id, product_id) DO UPDATE SET quantity = owned_items.quantity + EXCLUDED.quantity`
	if once {
		q = `INSERT INTO owned_items (user_id, product_id, quantity) VALUES ($1, $2, $3)
			ON CONFLICT (user_id, product_id) DO NOTHING`
	}
	res, err := tx.ExecContext(ctx, q, userID, productID, quantity)
	if err != nil {
		return false, fmt.Errorf("add item %d to user %d: %w", productID, userID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// purchaseExists reports whether a user already made a purchase under key.
func (s *Service) purchaseExists(ctx context.Context, userID int64, key string) (bool, error) {
	var exists bool
	err := s.store.DB().GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM purchases WHERE user_id = $1 AND request_key = $2)`, userID, key)
	if err != nil {
		return false, fmt.Errorf("purchase %q of user %d: %w", key, userID, err)
	}
	return exists, nil
}
