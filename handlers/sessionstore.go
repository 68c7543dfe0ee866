package handlers

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/gob"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/sessions"

	"im2pay/db"
)

// sessionRows is the persistence the session store needs.
type sessionRows interface {
	SessionByHash(ctx context.Context, hash []byte) (db.SessionRow, error)
	SaveSession(ctx context.Context, row db.SessionRow) error
	TouchSession(ctx context.Context, hash []byte, at time.Time) error
	DeleteSession(ctx context.Context, hash []byte) error
}

// Session value keys.
const (
	sessUserID = "uid"
	sessFlash  = "flash"
)

// touchEvery limits last-seen writes to one per minute per session: the idle
// timeout is 30 minutes, so a minute of slack costs nothing and saves a
// write on every page view.
const touchEvery = time.Minute

// SessionStore keeps gorilla sessions in PostgreSQL. The cookie carries only
// a random 256-bit token; the table keeps its SHA-256. Ending a session
// deletes its row, so a copied cookie dies with it.
type SessionStore struct {
	rows     sessionRows
	options  sessions.Options
	idle     time.Duration
	absolute time.Duration
	now      func() time.Time
	// decoded remembers session data already decoded, by its bytes (see decode).
	decoded      sync.Map
	decodedCount atomic.Int64
}

// maxDecoded bounds the decoded cache; past it, data is decoded each time.
const maxDecoded = 10_000

// decode turns a session row's gob data into its values. A logged-in person
// sends the same few bytes with every page, and a fresh gob decoder costs
// more than the rest of the session's handling: data made only of values
// that cannot be changed in place (numbers, strings) is decoded once and
// each request gets its own copy of the map. Anything else (a list of
// flashes, which AddFlash appends to) is decoded every time.
func (s *SessionStore) decode(data []byte) (map[any]any, error) {
	if v, ok := s.decoded.Load(string(data)); ok {
		return maps.Clone(v.(map[any]any)), nil
	}
	values := map[any]any{}
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&values); err != nil {
		return nil, err
	}
	for _, v := range values {
		switch v.(type) {
		case int64, string, bool:
		default:
			return values, nil
		}
	}
	if s.decodedCount.Load() < maxDecoded {
		if _, loaded := s.decoded.LoadOrStore(string(data), maps.Clone(values)); !loaded {
			s.decodedCount.Add(1)
		}
	}
	return values, nil
}

// NewSessionStore sets every cookie option explicitly: gorilla's defaults
// (SameSite unset, HttpOnly false) are not what a wallet wants.
func NewSessionStore(rows sessionRows, secure bool, idle, absolute time.Duration, now func() time.Time) *SessionStore {
	return &SessionStore{
		rows: rows, idle: idle, absolute: absolute, now: now,
		options: sessions.Options{Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode},
	}
}

// Get is part of sessions.Store; requests load their session once, in the
// session middleware, so there is no per-request registry to consult.
func (s *SessionStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return s.New(r, name)
}

// New loads the session named by the request's cookie, or starts an empty
// one when there is none, it is unknown, or it has timed out.
func (s *SessionStore) New(r *http.Request, name string) (*sessions.Session, error) {
	sess, _, err := s.load(r, name)
	return sess, err
}

// load is New that also returns the session's user, read in the same
// query as the session (nil when there is none).
func (s *SessionStore) load(r *http.Request, name string) (*sessions.Session, *db.User, error) {
	sess := sessions.NewSession(s, name)
	opts := s.options
	sess.Options = &opts
	sess.IsNew = true
	c, err := r.Cookie(name)
	if err != nil || c.Value == "" {
		return sess, nil, nil
	}
	hash, ok := tokenHash(c.Value)
	if !ok {
		return sess, nil, nil
	}
	ctx := r.Context()
	row, err := s.rows.SessionByHash(ctx, hash)
	if errors.Is(err, db.ErrNotFound) {
		return sess, nil, nil
	}
	if err != nil {
		return sess, nil, fmt.Errorf("load session: %w", err)
	}
	now := s.now()
	if now.Sub(row.LastSeenAt) > s.idle || now.Sub(row.CreatedAt) > s.absolute {
		return sess, nil, s.rows.DeleteSession(ctx, hash)
	}
	if sess.Values, err = s.decode(row.Data); err != nil {
		return sess, nil, fmt.Errorf("decode session: %w", err)
	}
	if now.Sub(row.LastSeenAt) > touchEvery {
		if err := s.rows.TouchSession(ctx, hash, now); err != nil {
			return sess, nil, err
		}
	}
	sess.ID = c.Value
	sess.IsNew = false
	return sess, row.User, nil
}

// Save writes the session and its cookie; MaxAge < 0 deletes both.
func (s *SessionStore) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	ctx := r.Context()
	if sess.Options.MaxAge < 0 {
		if hash, ok := tokenHash(sess.ID); ok {
			if err := s.rows.DeleteSession(ctx, hash); err != nil {
				return err
			}
		}
		http.SetCookie(w, sessions.NewCookie(sess.Name(), "", sess.Options))
		return nil
	}
	if sess.ID == "" {
		token, err := newToken()
		if err != nil {
			return err
		}
		sess.ID = token
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(sess.Values); err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	hash, _ := tokenHash(sess.ID)
	// created_at only counts for a new row: the upsert keeps an existing
	// row's, which anchors the absolute timeout.
	now := s.now()
	row := db.SessionRow{TokenHash: hash, Data: buf.Bytes(), CreatedAt: now, LastSeenAt: now}
	if uid, ok := sess.Values[sessUserID].(int64); ok {
		row.UserID = sql.NullInt64{Int64: uid, Valid: true}
	}
	if err := s.rows.SaveSession(ctx, row); err != nil {
		return err
	}
	// The cookie lives as long as the absolute timeout; the server enforces
	// both timeouts whatever the browser keeps.
	opts := *sess.Options
	opts.MaxAge = int(s.absolute / time.Second)
	http.SetCookie(w, sessions.NewCookie(sess.Name(), sess.ID, &opts))
	return nil
}

// Renew gives the session a new token and deletes the old row, so an id
// planted before login (session fixation) is worthless after it.
func (s *SessionStore) Renew(r *http.Request, sess *sessions.Session) error {
	if hash, ok := tokenHash(sess.ID); ok {
		if err := s.rows.DeleteSession(r.Context(), hash); err != nil {
			return err
		}
	}
	sess.ID = ""
	sess.IsNew = true
	return nil
}

func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("session token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// tokenHash refuses anything that is not a token we could have issued, so a
// hostile cookie never reaches the database.
func tokenHash(token string) ([]byte, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 32 {
		return nil, false
	}
	h := sha256.Sum256(raw)
	return h[:], true
}
