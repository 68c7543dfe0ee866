package reconcile

import (
	"context"
	"fmt"
	"time"

	"im2pay/payment"
)

// Two runs of one provider-day (two instances' daily timers, the timer and
// the /ops button) must not both match and book: each would read the other
// half-done. A run holds a transaction-level advisory lock named by the
// method and the day for as long as it lasts; the transaction does nothing
// else, and ending it (commit, rollback, a dead process's closed
// connection) releases the lock.
//
// The lock is taken with pg_try_advisory_xact_lock and asked again after
// a pause, not waited for in the server: a waiting query would hold its
// pool connection (and could outlast the pool's read deadline) for as long
// as the other run takes, and runs waiting that way could take every
// connection the running one needs.

// lockNamespace is the first key of reconcile's advisory locks, so that
// they never meet another package's.
const lockNamespace = "im2pay.reconcile"

// Pauses between two tries at a busy lock: short first, as a run of a
// quiet day takes well under a second, then at most lockPauseMax.
const (
	lockPauseMin = 50 * time.Millisecond
	lockPauseMax = time.Second
)

// lockDay takes the lock of (method, day), waiting for a run holding it to
// end (or ctx to). The caller calls the returned release when its run is
// over.
func (s *Service) lockDay(ctx context.Context, method payment.Method, day time.Time) (release func(), err error) {
	name := string(method) + ":" + day.Format(time.DateOnly)
	pause := lockPauseMin
	for {
		tx, err := s.store.DB().BeginTxx(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", name, err)
		}
		var got bool
		err = tx.GetContext(ctx, &got, `SELECT pg_try_advisory_xact_lock(hashtext($1), hashtext($2))`, lockNamespace, name)
		if err == nil && got {
			return func() { _ = tx.Rollback() }, nil
		}
		_ = tx.Rollback()
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", name, err)
		}
		if err := wait(ctx, pause); err != nil {
			return nil, fmt.Errorf("lock %s: another run holds it: %w", name, err)
		}
		pause = min(2*pause, lockPauseMax)
	}
}

func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
