package staff

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
)

// Stage is what a login still needs before the console opens.
type Stage string

const (
	StageChangePassword Stage = "change_password" // the one-time password must be replaced
	StageEnroll         Stage = "totp_enroll"     // no second factor yet: enroll one
	StageTOTP           Stage = "totp"            // password right: now the code
	StageFull           Stage = "full"            // logged in
)

// Session timeouts of the console: shorter than users', since a staff
// session can look at anyone's money.
const (
	IdleTimeout     = 15 * time.Minute
	AbsoluteTimeout = 8 * time.Hour
)

// Session is one staff browser's login, as its row keeps it.
type Session struct {
	TokenHash   []byte    `db:"token_hash"`
	StaffID     int64     `db:"staff_id"`
	Generation  int       `db:"generation"`
	Stage       Stage     `db:"stage"`
	CSRF        string    `db:"csrf_token"`
	PendingTOTP string    `db:"pending_totp"`
	ClientIP    string    `db:"client_ip"`
	CreatedAt   time.Time `db:"created_at"`
	LastSeenAt  time.Time `db:"last_seen_at"`
}

// ErrNoSession is a cookie that opens nothing: unknown, timed out, of a
// disabled member or of an older session generation.
var ErrNoSession = errors.New("staff: no live session")

// NextStage is the step a member goes to once the password is right.
func NextStage(m Member) Stage {
	switch {
	case m.MustChangePassword:
		return StageChangePassword
	case !m.Enrolled():
		return StageEnroll
	}
	return StageTOTP
}

func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// StartSession begins a session at stage for m and returns its cookie
// token (256 random bits; the table keeps only the SHA-256). createdAt is
// when the password was checked: pass the zero time for now.
func (s *Service) StartSession(ctx context.Context, m Member, stage Stage, clientIP string, createdAt time.Time) (string, Session, error) {
	token, err := randomToken(32)
	if err != nil {
		return "", Session{}, err
	}
	csrf, err := randomToken(32)
	if err != nil {
		return "", Session{}, err
	}
	now := s.now()
	if createdAt.IsZero() {
		createdAt = now
	}
	row := Session{TokenHash: hashToken(token), StaffID: m.ID, Generation: m.SessionGeneration, Stage: stage,
		CSRF: csrf, ClientIP: clientKey(clientIP), CreatedAt: createdAt, LastSeenAt: now}
	const q = `INSERT INTO staff_sessions (token_hash, staff_id, generation, stage, csrf_token, client_ip, created_at, last_seen_at)
		VALUES (:token_hash, :staff_id, :generation, :stage, :csrf_token, :client_ip, :created_at, :last_seen_at)`
	if _, err := s.store.DB().NamedExecContext(ctx, q, row); err != nil {
		return "", Session{}, fmt.Errorf("start session of staff %d: %w", m.ID, err)
	}
	return token, row, nil
}

// Session is the live session of token with its member, touched now; a
// dead one (see ErrNoSession) is deleted on the way.
func (s *Service) Session(ctx context.Context, token string) (Session, Member, error) {
	if token == "" || len(token) > 64 {
		return Session{}, Member{}, ErrNoSession
	}
	hash := hashToken(token)
	var sess Session
	const q = `SELECT token_hash, staff_id, generation, stage, csrf_token, COALESCE(pending_totp, '') AS pending_totp,
		client_ip, created_at, last_seen_at FROM staff_sessions WHERE token_hash = $1`
	if err := s.store.DB().GetContext(ctx, &sess, q, hash); err != nil {
		if err = db.NotFound(err, "staff session"); errors.Is(err, db.ErrNotFound) {
			return Session{}, Member{}, ErrNoSession
		}
		return Session{}, Member{}, err
	}
	m, err := s.ByID(ctx, sess.StaffID)
	if err != nil {
		return Session{}, Member{}, err
	}
	now := s.now()
	if m.DisabledAt.Valid || m.SessionGeneration != sess.Generation ||
		now.Sub(sess.LastSeenAt) > IdleTimeout || now.Sub(sess.CreatedAt) > AbsoluteTimeout {
		if err := s.EndSession(ctx, token); err != nil {
			return Session{}, Member{}, err
		}
		return Session{}, Member{}, ErrNoSession
	}
	const touch = `UPDATE staff_sessions SET last_seen_at = $2 WHERE token_hash = $1`
	if _, err := s.store.DB().ExecContext(ctx, touch, hash, now); err != nil {
		return Session{}, Member{}, fmt.Errorf("touch staff session: %w", err)
	}
	sess.LastSeenAt = now
	return sess, m, nil
}

// Advance ends the session of token and starts one at stage under a new
// token (and a new CSRF token), keeping its start time: every step of a
// login gets a new id, so an id seen before a step opens nothing after it.
// The member is read again, so a generation moved meanwhile is honoured.
func (s *Service) Advance(ctx context.Context, token string, stage Stage, clientIP string) (string, Session, error) {
	var old Session
	err := s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		const q = `DELETE FROM staff_sessions WHERE token_hash = $1 RETURNING staff_id, generation, created_at`
		return tx.GetContext(ctx, &old, q, hashToken(token))
	})
	if err != nil {
		return "", Session{}, fmt.Errorf("advance staff session: %w", db.NotFound(err, "staff session"))
	}
	m, err := s.ByID(ctx, old.StaffID)
	if err != nil {
		return "", Session{}, err
	}
	if m.DisabledAt.Valid || m.SessionGeneration != old.Generation {
		return "", Session{}, ErrNoSession
	}
	return s.StartSession(ctx, m, stage, clientIP, old.CreatedAt)
}

// SetPendingTOTP keeps the secret shown on the enrollment page with the
// session, until a code confirms it.
func (s *Service) SetPendingTOTP(ctx context.Context, token, secret string) error {
	const q = `UPDATE staff_sessions SET pending_totp = $2 WHERE token_hash = $1`
	if _, err := s.store.DB().ExecContext(ctx, q, hashToken(token), secret); err != nil {
		return fmt.Errorf("keep pending TOTP secret: %w", err)
	}
	return nil
}

// EndSession deletes the session of token (a logout); an unknown one is
// no error.
func (s *Service) EndSession(ctx context.Context, token string) error {
	if _, err := s.store.DB().ExecContext(ctx, `DELETE FROM staff_sessions WHERE token_hash = $1`, hashToken(token)); err != nil {
		return fmt.Errorf("end staff session: %w", err)
	}
	return nil
}

// DeleteStaleSessions removes sessions past either timeout; correctness
// never depends on it (Session checks both).
func (s *Service) DeleteStaleSessions(ctx context.Context) (int64, error) {
	now := s.now()
	res, err := s.store.DB().ExecContext(ctx, `DELETE FROM staff_sessions WHERE last_seen_at < $1 OR created_at < $2`,
		now.Add(-IdleTimeout), now.Add(-AbsoluteTimeout))
	if err != nil {
		return 0, fmt.Errorf("delete stale staff sessions: %w", err)
	}
	return res.RowsAffected()
}
