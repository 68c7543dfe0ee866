package recharge

import (
	"context"
	"fmt"
)

// OrdersPageSize is how many orders one page of 我的充值 lists.
const OrdersPageSize = 20

// MyOrdersFilter is what 我的充值 was asked for: a state and a method ("" for
// any) and a keyset cursor, the id of the last order of the page before
// (0 for the newest). Keyset rather than offset, so a page stays put while
// new orders are made above it.
type MyOrdersFilter struct {
	State, Method string
	Before        int64
}

// OrdersPage is one page of a person's orders, newest first; Next is the
// cursor of the following page, 0 when there is none.
type OrdersPage struct {
	Orders []Order
	Next   int64
}

// OrdersPageOf lists one page of a person's orders matching f.
func (s *Service) OrdersPageOf(ctx context.Context, userID int64, f MyOrdersFilter) (OrdersPage, error) {
	const q = `SELECT ` + orderColumns + ` FROM recharge_orders
		WHERE user_id = $1 AND ($2::bigint = 0 OR id < $2::bigint)
		  AND ($3 = '' OR state::text = $3) AND ($4 = '' OR method = $4)
		ORDER BY id DESC LIMIT $5`
	var out []Order
	// One more than a page tells whether another page follows without a count.
	if err := s.store.SelectCustom(ctx, s.store.DB(), &out, q, userID, f.Before, f.State, f.Method, OrdersPageSize+1); err != nil {
		return OrdersPage{}, fmt.Errorf("orders of user %d (state %q, method %q, before %d): %w", userID, f.State, f.Method, f.Before, err)
	}
	p := OrdersPage{Orders: out}
	if len(out) > OrdersPageSize {
		p.Orders = out[:OrdersPageSize]
		p.Next = p.Orders[OrdersPageSize-1].ID
	}
	return p, nil
}
