package account

import (
	"context"

	"im2pay/db"
)

// endAllSQL bumps the user's session generation and ends every session
// of theirs in one query, so none slips in between under the old
// generation; it counts the sessions ended.
const endAllSQL = `
	WITH u AS (
		UPDATE users SET session_generation = session_generation + 1 WHERE id = $1
		RETURNING session_generation),
	gone AS (
		DELETE FROM sessions WHERE user_id = $1 RETURNING 1)
	SELECT (SELECT count(*) FROM gone) AS ended, session_generation FROM u`

// EndAllSessions logs a user out everywhere, for staff (the console's
// "end all sessions"): every session ends under a new generation, so a
// request that loaded one before this and saves after it finds it dead.
// It returns how many sessions ended and the new generation; a user that
// does not exist is db.ErrNotFound.
func (s *Service) EndAllSessions(ctx context.Context, userID int64) (ended, generation int, err error) {
	var row struct {
		Ended      int `db:"ended"`
		Generation int `db:"session_generation"`
	}
	err = s.store.DB().GetContext(ctx, &row, endAllSQL, userID)
	return row.Ended, row.Generation, db.NotFound(err, "end all sessions of user %d", userID)
}
