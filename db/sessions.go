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
	// User is the session's user as SessionByHash found it, nil when the
	// session has none (or the user is gone). SaveSession ignores it.
	User *User `db:"-"`
}

// sessionUser is the user columns of SessionByHash, null without a user.
type sessionUser struct {
	ID           sql.NullInt64  `db:"u_id"`
	Username     sql.NullString `db:"u_username"`
	PasswordHash sql.NullString `db:"u_password_hash"`
	CreatedAt    sql.NullTime   `db:"u_created_at"`
	WalletID     sql.NullInt64  `db:"u_wallet_id"`
}

// SessionByHash loads a session and, in the same query, its user: every
// page a logged-in person opens needs both, and one exchange is cheaper
// than two.
func (s *Store) SessionByHash(ctx context.Context, hash []byte) (SessionRow, error) {
	var row struct {
		SessionRow
		sessionUser
	}
	const q = `
		SELECT s.token_hash, s.user_id, s.data, s.created_at, s.last_seen_at,
		       u.id AS u_id, u.username AS u_username, u.password_hash AS u_password_hash,
		       u.created_at AS u_created_at, a.id AS u_wallet_id
		  FROM sessions s
		  LEFT JOIN (users u JOIN accounts a ON a.user_id = u.id) ON u.id = s.user_id
		 WHERE s.token_hash = $1`
	st, err := s.prepared(ctx, q)
	if err == nil {
		err = st.GetContext(ctx, &row, hash)
	}
	if err != nil {
		return SessionRow{}, notFound(err, "session")
	}
	if su := row.sessionUser; su.ID.Valid {
		row.User = &User{ID: su.ID.Int64, Username: su.Username.String, PasswordHash: su.PasswordHash.String,
			CreatedAt: su.CreatedAt.Time, WalletID: su.WalletID.Int64}
	}
	return row.SessionRow, nil
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
