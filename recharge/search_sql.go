package recharge

import (
	"context"
	"fmt"
	"time"
)

// searchOrdersSQL is the staff search: each filter applies only when
// given ($1..$7 empty or NULL otherwise), newest first from the cursor $8.
// It runs through SelectCustom, planned for its values, so an absent
// filter costs nothing and a given one picks its index: out_trade_no's unique key,
// recharge_orders_provider_trade_no, the user's (user_id, id DESC) through
// the username, recharge_orders_created for dates, or the primary key
// backwards.
const searchOrdersSQL = `
	SELECT ` + orderColumns + `, (SELECT u.username FROM users u WHERE u.id = o.user_id) AS username
	  FROM recharge_orders o
	 WHERE ($1 = '' OR o.out_trade_no = $1)
	   AND ($2 = '' OR o.provider_trade_no = $2)
	   AND ($3 = '' OR o.user_id = (SELECT u.id FROM users u WHERE lower(u.username) = lower($3)))
	   AND ($4 = '' OR o.state::text = $4)
	   AND ($5 = '' OR o.method = $5)
	   AND ($6::timestamptz IS NULL OR o.created_at >= $6)
	   AND ($7::timestamptz IS NULL OR o.created_at < $7)
	   AND ($8::bigint = 0 OR o.id < $8)
	 ORDER BY o.id DESC
	 LIMIT $9`

// searchOrders runs the search for up to limit orders.
func (s *Service) searchOrders(ctx context.Context, f OrderFilter, limit int) ([]FoundOrder, error) {
	var from, to *time.Time
	if !f.From.IsZero() {
		from = &f.From
	}
	if !f.To.IsZero() {
		end := f.To.AddDate(0, 0, 1) // To's whole day, in the zone it was typed in
		to = &end
	}
	var out []FoundOrder
	err := s.store.SelectCustom(ctx, s.store.DB(), &out, searchOrdersSQL, f.OutTradeNo, f.ProviderTradeNo, f.Username,
		f.State, f.Method, from, to, f.Before, limit)
	if err != nil {
		return nil, fmt.Errorf("search orders before %d: %w", f.Before, err)
	}
	return out, nil
}
