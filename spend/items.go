package spend

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
	"im2pay/wallet"
)

// ConsumableItems maps what the IM app uses to the shop product it comes
// from: a priority message is one unit of a priority message pack.
var ConsumableItems = map[string]string{"priority_message": "priority_100"}

// ErrNoUnits means the person has no unit of the item left.
var ErrNoUnits = errors.New("spend: no units left")

// UseItem takes one unit of a consumable from a person's packs, once per
// key: a repeated key answers the first result and takes nothing; the same
// key for another person or item is db.ErrIdempotencyMismatch.
func (s *Service) UseItem(ctx context.Context, username, item, key string) (left int, replayed bool, err error) {
	code, ok := ConsumableItems[item]
	if !ok {
		return 0, false, wallet.NewProblem("item", "api.item_unknown")
	}
	if key == "" || len(key) > MaxChargeKeyLen {
		return 0, false, wallet.NewProblem("idempotency_key", "api.key_invalid", MaxChargeKeyLen)
	}
	u, err := s.accounts.UserByName(ctx, username)
	if errors.Is(err, db.ErrNotFound) {
		return 0, false, ErrUnknownUser
	}
	if err != nil {
		return 0, false, err
	}
	p, err := s.productByCode(ctx, code)
	if err != nil {
		return 0, false, err
	}
	err = s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		prior, err := itemUseByKey(ctx, tx, key)
		if err == nil {
			if prior.UserID != u.ID || prior.ProductID != p.ID {
				return fmt.Errorf("item use %q: %w", key, db.ErrIdempotencyMismatch)
			}
			left, replayed = prior.UnitsLeft, true
			return nil
		}
		if !errors.Is(err, db.ErrNotFound) {
			return err
		}
		var ok bool
		if left, ok, err = takeUnit(ctx, tx, key, u.ID, p.ID); err != nil {
			return err
		}
		if !ok {
			return ErrNoUnits
		}
		return nil
	})
	if errors.Is(err, db.ErrDuplicate) {
		// A concurrent twin recorded the key first: answer what it did.
		return s.UseItem(ctx, username, item, key)
	}
	return left, replayed, err
}
