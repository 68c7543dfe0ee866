package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
)

// ErrSessionEnded is a session that was logged out, ended from another
// device, or outlived by a password change while a request still held it.
var ErrSessionEnded = errors.New("account: session ended")

// Session is a server-side session. TokenHash is the SHA-256 of the
// cookie's token; the token itself is never stored.
type Session struct {
	TokenHash  []byte        `db:"token_hash"`
	PublicID   int64         `db:"public_id"` // names the session on the settings page
	UserID     sql.NullInt64 `db:"user_id"`
	Generation int           `db:"generation"` // the user's session generation at login
	Data       []byte        `db:"data"`
	CreatedAt  time.Time     `db:"created_at"`
	LastSeenAt time.Time     `db:"last_seen_at"`
	UserAgent  string        `db:"user_agent"`
	ClientIP   string        `db:"client_ip"`
	// User is the session's user as SessionByHash found it, nil when the
	// session has none (or the user is gone). InsertSession ignores it.
	User *User `db:"-"`
}

// sessionUser is the user columns of SessionByHash, null without a user.
type sessionUser struct {
	ID           sql.NullInt64  `db:"u_id"`
	Username     sql.NullString `db:"u_username"`
	PasswordHash sql.NullString `db:"u_password_hash"`
	CreatedAt    sql.NullTime   `db:"u_created_at"`
	WalletID     sql.NullInt64  `db:"u_wallet_id"`
	Generation   sql.NullInt64  `db:"u_generation"`
}

const sessionColumns = `s.token_hash, s.public_id, s.user_id, s.generation, s.data, s.created_at, s.last_seen_at,
		       s.user_agent, s.client_ip`

// SessionByHash loads a session and, in the same query, its user: every
// page a logged-in person opens needs both, and one exchange is cheaper
// than two.
func (s *Service) SessionByHash(ctx context.Context, hash []byte) (Session, error) {
	var row struct {
		Session
		sessionUser
	}
	const q = `
		SELECT ` + sessionColumns + `,
		       u.id AS u_id, u.username AS u_username, u.password_hash AS u_password_hash,
		       u.created_at AS u_created_at, a.id AS u_wallet_id, u.session_generation AS u_generation
		  FROM sessions s
		  LEFT JOIN (users u JOIN accounts a ON a.user_id = u.id) ON u.id = s.user_id
		 WHERE s.token_hash = $1`
	st, err := s.store.Prepared(ctx, q)
	if err == nil {
		err = st.GetContext(ctx, &row, hash)
	}
	if err != nil {
		return Session{}, db.NotFound(err, "session")
	}
	if su := row.sessionUser; su.ID.Valid {
		row.User = &User{ID: su.ID.Int64, Username: su.Username.String, PasswordHash: su.PasswordHash.String,
			CreatedAt: su.CreatedAt.Time, WalletID: su.WalletID.Int64, SessionGeneration: int(su.Generation.Int64)}
	}
	return row.Session, nil
}

// InsertSession stores a session started now (a fresh token). It never
// replaces a row: a token is issued once.
func (s *Service) InsertSession(ctx context.Context, row Session) error {
	const q = `
		INSERT INTO sessions (token_hash, user_id, generation, data, created_at, last_seen_at, user_agent, client_ip)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	_, err := s.store.DB().ExecContext(ctx, q, row.TokenHash, row.UserID, row.Generation, row.Data, row.CreatedAt,
		row.LastSeenAt, row.UserAgent, row.ClientIP)
	if err != nil {
		return db.MapError(fmt.Errorf("insert session: %w", err))
	}
	return nil
}

// UpdateSession writes a loaded session's data back, and reports whether
// its row still exists. It never creates one: a request that loaded the
// session before a logout or a password change must not bring it back
// when it saves at its end. created_at is never touched; it anchors the
// absolute timeout.
func (s *Service) UpdateSession(ctx context.Context, hash, data []byte, at time.Time) (bool, error) {
	const q = `UPDATE sessions SET data = $2, last_seen_at = $3 WHERE token_hash = $1`
	res, err := s.store.DB().ExecContext(ctx, q, hash, data, at)
	if err != nil {
		return false, fmt.Errorf("update session: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// TouchSession records activity, which pushes the idle timeout back, and
// the address it came from.
func (s *Service) TouchSession(ctx context.Context, hash []byte, at time.Time, clientIP string) error {
	const q = `UPDATE sessions SET last_seen_at = $2, client_ip = $3 WHERE token_hash = $1`
	if _, err := s.store.DB().ExecContext(ctx, q, hash, at, clientIP); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// DeleteSession ends one session.
func (s *Service) DeleteSession(ctx context.Context, hash []byte) error {
	if _, err := s.store.DB().ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// Sessions lists where a user is logged in, the most recently used first.
func (s *Service) Sessions(ctx context.Context, userID int64) ([]Session, error) {
	const q = `
		SELECT ` + sessionColumns + `
		  FROM sessions s
		 WHERE s.user_id = $1
		 ORDER BY s.last_seen_at DESC, s.public_id DESC
		 LIMIT 100`
	var rows []Session
	if err := s.store.DB().SelectContext(ctx, &rows, q, userID); err != nil {
		return nil, fmt.Errorf("sessions of user %d: %w", userID, err)
	}
	return rows, nil
}

// EndSession logs one of the user's own sessions out by its public id; a
// session of someone else is db.ErrNotFound, as is one already gone.
func (s *Service) EndSession(ctx context.Context, userID, publicID int64) error {
	res, err := s.store.DB().ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND public_id = $2`, userID, publicID)
	if err != nil {
		return fmt.Errorf("end session %d of user %d: %w", publicID, userID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return db.NotFound(errors.Join(err, sql.ErrNoRows), "session %d of user %d", publicID, userID)
	}
	return nil
}

// endOthersSQL bumps the user's session generation and ends every session
// but keep, which moves to the new generation: one query, so no
// session can slip in between under the old generation and survive.
const endOthersSQL = `
	WITH u AS (
		UPDATE users SET session_generation = session_generation + 1 WHERE id = $1
		RETURNING session_generation),
	gone AS (
		DELETE FROM sessions WHERE user_id = $1 AND token_hash IS DISTINCT FROM $2),
	kept AS (
		UPDATE sessions SET generation = u.session_generation FROM u WHERE token_hash = $2 AND user_id = $1)
	SELECT session_generation FROM u`

// EndOtherSessions logs the user out everywhere but the session whose token
// hashes to keep (nil keeps none), under a new session generation, so a
// request that loaded one of the others before this and saves after it
// finds it dead. It returns the new generation.
func (s *Service) EndOtherSessions(ctx context.Context, userID int64, keep []byte) (int, error) {
	var gen int
	err := s.store.DB().GetContext(ctx, &gen, endOthersSQL, userID, keep)
	return gen, db.NotFound(err, "end sessions of user %d", userID)
}

// setPasswordSQL replaces the password and, in the same query, ends
// every session of the user under a new generation.
const setPasswordSQL = `
	WITH u AS (
		UPDATE users SET password_hash = $2, session_generation = session_generation + 1 WHERE id = $1
		RETURNING session_generation),
	gone AS (
		DELETE FROM sessions WHERE user_id = $1),
	devices AS (
		DELETE FROM login_devices WHERE user_id = $1)
	SELECT session_generation FROM u`

// setPassword gives a user a new password, ends all their sessions and
// forgets every browser trusted under the old password; it
// returns the new generation, for the session the caller starts next.
func (s *Service) setPassword(ctx context.Context, userID int64, hash string) (int, error) {
	var gen int
	err := s.store.DB().GetContext(ctx, &gen, setPasswordSQL, userID, hash)
	return gen, db.NotFound(err, "set password of user %d", userID)
}

// HoldSession proves, inside tx, that the session behind a request that
// moves money is still alive under its user's generation, and holds a
// share lock on its row until tx ends. A logout, a password change or
// "log out everywhere" deletes the row: one that comes first makes this
// ErrSessionEnded; one that comes later waits for tx, so the payment is
// ordered before it. Only the session row is locked (not the user's), so
// this and a password change cannot deadlock over the order of two locks,
// and only as a key share, so the same session's other requests can still
// write their data and last-seen time.
func HoldSession(ctx context.Context, tx *sqlx.Tx, hash []byte) error {
	const q = `
		SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id
		 WHERE s.token_hash = $1 AND s.generation = u.session_generation
		   FOR KEY SHARE OF s`
	var one int
	err := tx.GetContext(ctx, &one, q, hash)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrSessionEnded
	}
	if err != nil {
		return fmt.Errorf("hold session: %w", err)
	}
	return nil
}

// DeleteStaleSessions removes sessions idle since idleBefore or created
// before createdBefore, and reports how many went.
func (s *Service) DeleteStaleSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int64, error) {
	res, err := s.store.DB().ExecContext(ctx, `DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2`, idleBefore, createdBefore)
	if err != nil {
		return 0, fmt.Errorf("delete stale sessions: %w", err)
	}
	return res.RowsAffected()
}
