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
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/sessions"

	"im2pay/account"
)

// sessionRows is the persistence the session store needs.
type sessionRows interface {
	SessionByHash(ctx context.Context, hash []byte) (account.Session, error)
	InsertSession(ctx context.Context, row account.Session) error
	UpdateSession(ctx context.Context, hash, data []byte, at time.Time) (bool, error)
	TouchSession(ctx context.Context, hash []byte, at time.Time, clientIP string) error
	DeleteSession(ctx context.Context, hash []byte) error
}

// Session value keys. sessGeneration is the user's session generation when
// they logged in: the row keeps it, and a session whose user has moved on
// (a password change, "log out everywhere") is dead.
const (
	sessUserID     = "uid"
	sessGeneration = "gen"
	sessFlash      = "flash"
)

// maxUserAgent bounds what a session remembers of the browser's User-Agent.
const maxUserAgent = 512

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
	// clientIP is the request's client address, as the router decides it
	// (TRUSTED_PROXIES); the session list shows it.
	clientIP func(*http.Request) string
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
func NewSessionStore(rows sessionRows, secure bool, idle, absolute time.Duration, now func() time.Time,
	clientIP func(*http.Request) string) *SessionStore {
	return &SessionStore{
		rows: rows, idle: idle, absolute: absolute, now: now, clientIP: clientIP,
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
	l, err := s.load(r, name)
	return l.sess, err
}

// loaded is a request's session with what its row said: the user, read in
// the same query (nil when there is none), and the session's public id.
type loaded struct {
	sess     *sessions.Session
	user     *account.User
	publicID int64
}

// load is New that also returns the session's user and public id. A
// session past a timeout, or started under an older generation of its
// user's sessions, is deleted and the request starts an empty one.
func (s *SessionStore) load(r *http.Request, name string) (loaded, error) {
	sess := sessions.NewSession(s, name)
	opts := s.options
	sess.Options = &opts
	sess.IsNew = true
	l := loaded{sess: sess}
	c, err := r.Cookie(name)
	if err != nil || c.Value == "" {
		return l, nil
	}
	hash, ok := tokenHash(c.Value)
	if !ok {
		return l, nil
	}
	ctx := r.Context()
	row, err := s.rows.SessionByHash(ctx, hash)
	if errors.Is(err, account.ErrNotFound) {
		return l, nil
	}
	if err != nil {
		return l, fmt.Errorf("load session: %w", err)
	}
	now := s.now()
	stale := row.User != nil && row.Generation != row.User.SessionGeneration
	if stale || now.Sub(row.LastSeenAt) > s.idle || now.Sub(row.CreatedAt) > s.absolute {
		return l, s.rows.DeleteSession(ctx, hash)
	}
	if sess.Values, err = s.decode(row.Data); err != nil {
		return l, fmt.Errorf("decode session: %w", err)
	}
	if now.Sub(row.LastSeenAt) > touchEvery {
		if err := s.rows.TouchSession(ctx, hash, now, s.clientIP(r)); err != nil {
			return l, err
		}
	}
	sess.ID = c.Value
	sess.IsNew = false
	return loaded{sess: sess, user: row.User, publicID: row.PublicID}, nil
}

// Save writes the session and its cookie; MaxAge < 0 deletes both. A new
// session is inserted under a fresh token; a loaded one is only updated,
// never re-created: when its row is gone (a logout or a password change
// while this request ran), it stays gone and its cookie is cleared.
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
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(sess.Values); err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	now := s.now()
	if sess.IsNew || sess.ID == "" {
		if err := s.insert(r, sess, buf.Bytes(), now); err != nil {
			return err
		}
	} else {
		hash, _ := tokenHash(sess.ID)
		alive, err := s.rows.UpdateSession(ctx, hash, buf.Bytes(), now)
		if err != nil {
			return err
		}
		if !alive {
			sess.Options.MaxAge = -1
			http.SetCookie(w, sessions.NewCookie(sess.Name(), "", sess.Options))
			return nil
		}
	}
	// The cookie lives as long as the absolute timeout; the server enforces
	// both timeouts whatever the browser keeps.
	opts := *sess.Options
	opts.MaxAge = int(s.absolute / time.Second)
	http.SetCookie(w, sessions.NewCookie(sess.Name(), sess.ID, &opts))
	return nil
}

// insert stores a session started by this request under a fresh token.
func (s *SessionStore) insert(r *http.Request, sess *sessions.Session, data []byte, now time.Time) error {
	token, err := newToken()
	if err != nil {
		return err
	}
	hash, _ := tokenHash(token)
	row := account.Session{TokenHash: hash, Data: data, CreatedAt: now, LastSeenAt: now,
		UserAgent: clip(r.UserAgent(), maxUserAgent), ClientIP: s.clientIP(r)}
	if uid, ok := sess.Values[sessUserID].(int64); ok {
		row.UserID = sql.NullInt64{Int64: uid, Valid: true}
		gen, _ := sess.Values[sessGeneration].(int64)
		row.Generation = int(gen)
	}
	if err := s.rows.InsertSession(r.Context(), row); err != nil {
		return err
	}
	sess.ID, sess.IsNew = token, false
	return nil
}

// clip cuts s to at most n bytes without splitting a UTF-8 character, and
// drops invalid bytes (PostgreSQL refuses them in text).
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return strings.ReplaceAll(s, "\x00", "")
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
