package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// SessionRow is a server-side session. TokenHash is the SHA-256 of the
// cookie's token; the token itself is never stored.
type SessionRow struct {
	TokenHash  []byte        `db:"token_hash"`
	UserID     sql.NullInt64 `db:"user_id"`
	Data       []byte        `db:"data"`
	CreatedAt  time.Time     `db:"created_at"`
	LastSeenAt time.Time     `db:"last_seen_at"`
}

// SessionByHash loads a session.
func (s *Store) SessionByHash(ctx context.Context, hash []byte) (SessionRow, error) {
	var row SessionRow
	const q = `SELECT token_hash, user_id, data, created_at, last_seen_at FROM sessions WHERE token_hash = $1`
	err := s.db.GetContext(ctx, &row, q, hash)
	return row, notFound(err, "session")
}

// SaveSession inserts or replaces a session. created_at never changes after
// the insert: it anchors the absolute timeout.
func (s *Store) SaveSession(ctx context.Context, row SessionRow) error {
	const q = `
		INSERT INTO sessions (token_hash, user_id, data, created_at, last_seen_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (token_hash) DO UPDATE
		   SET user_id = EXCLUDED.user_id, data = EXCLUDED.data, last_seen_at = EXCLUDED.last_seen_at`
	_, err := s.db.ExecContext(ctx, q, row.TokenHash, row.UserID, row.Data, row.CreatedAt, row.LastSeenAt)
	if err != nil {
		return mapError(fmt.Errorf("save session: %w", err))
	}
	return nil
}

// TouchSession records activity, which pushes the idle timeout back.
func (s *Store) TouchSession(ctx context.Context, hash []byte, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1`, hash, at)
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// DeleteSession ends one session.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of a user (after a password change).
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("delete sessions of user %d: %w", userID, err)
	}
	return nil
}

// DeleteStaleSessions removes sessions idle since idleBefore or created
// before createdBefore, and reports how many went.
func (s *Store) DeleteStaleSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2`, idleBefore, createdBefore)
	if err != nil {
		return 0, fmt.Errorf("delete stale sessions: %w", err)
	}
	return res.RowsAffected()
}
