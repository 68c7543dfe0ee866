package people

import (
	"context"
	"database/sql"

	"im2pay/db"
)

// walletRow is a person's balance and membership end.
type walletRow struct {
	Balance     int64        `db:"balance"`
	MemberUntil sql.NullTime `db:"member_until"`
}

// walletOf reads a person's balance and membership in one query, from
// the primary: staff look at a person to act on what is true now.
func (s *Service) walletOf(ctx context.Context, userID int64) (walletRow, error) {
	const q = `
		SELECT a.balance, m.expires_at AS member_until
		  FROM accounts a LEFT JOIN memberships m ON m.user_id = a.user_id
		 WHERE a.user_id = $1 AND a.kind = 'wallet'`
	var w walletRow
	err := s.store.DB().GetContext(ctx, &w, q, userID)
	return w, db.NotFound(err, "wallet of user %d", userID)
}
