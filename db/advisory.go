package db

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// Advisory lock classes (pg_advisory_xact_lock(class, key)), listed in one
// place so that no two domains share a class by accident. Every caller
// takes the account or device lock before the client lock, and the client
// lock last, so two counters never wait on each other in a circle.
const (
	LockClassAccount = 1 // login guesses per account name
	LockClassClient  = 2 // login guesses per client address
	LockClassDevice  = 3 // login guesses per trusted device
	LockClassSignup  = 4 // sign-ups per client address
	// LockClassOrders serialises one person's order creation (recharge).
	LockClassOrders = 5
	// Staff login guesses (package staff), per name and per client
	// address; the name lock is taken first, as the account lock is.
	LockClassStaffName   = 20
	LockClassStaffClient = 21
	// LockClassAdjustUser serialises the adjustments of one person, so two
	// requests at once cannot both fit under the single-eyed allowance.
	LockClassAdjustUser = 22
)

// AdvisoryLock takes the transaction-scoped lock of key in class. The key
// is folded with PostgreSQL's own lower(), the function the throttles match
// usernames with, so two spellings counted together share one lock.
func AdvisoryLock(ctx context.Context, tx *sqlx.Tx, class int, key string) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(lower($2)))`, class, key); err != nil {
		return fmt.Errorf("lock %d/%q: %w", class, key, err)
	}
	return nil
}
