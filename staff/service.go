package staff

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/db"
	"im2pay/problem"
)

// Member is a staff account as the console and the audit log need it.
type Member struct {
	ID                 int64        `db:"id"`
	Name               string       `db:"name"`
	Role               Role         `db:"role"`
	PasswordHash       string       `db:"password_hash"`
	MustChangePassword bool         `db:"must_change_password"`
	TOTPSecret         string       `db:"totp_secret"`
	TOTPLastStep       int64        `db:"totp_last_step"`
	SessionGeneration  int          `db:"session_generation"`
	DisabledAt         sql.NullTime `db:"disabled_at"`
	CreatedAt          time.Time    `db:"created_at"`
}

// Enrolled reports whether the member has a TOTP second factor.
func (m Member) Enrolled() bool { return m.TOTPSecret != "" }

// Can reports whether the member's role grants p.
func (m Member) Can(p Permission) bool { return m.Role.Can(p) }

// ErrNotFound is a staff member or session that is not there.
var ErrNotFound = db.ErrNotFound

// Service keeps staff accounts, their logins, second factor and sessions.
type Service struct {
	store  *db.Store
	hasher account.PasswordHasher
	now    func() time.Time
	issuer string
	log    *slog.Logger
	// hashSlots bounds concurrent argon2id work, as account does.
	hashSlots chan struct{}
}

// Options configures a Service; zero fields take the defaults.
type Options struct {
	Hasher account.PasswordHasher // zero: account.DefaultPasswordHasher
	Now    func() time.Time       // the app clock; nil: time.Now
	// Issuer names the site in the authenticator app ("IM2.0 Pay").
	Issuer string
	Logger *slog.Logger
}

// NewService builds a Service over a store.
func NewService(store *db.Store, o Options) *Service {
	if o.Hasher == (account.PasswordHasher{}) {
		o.Hasher = account.DefaultPasswordHasher()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Issuer == "" {
		o.Issuer = "IM2.0 Pay"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Service{store: store, hasher: o.Hasher, now: o.Now, issuer: o.Issuer, log: o.Logger,
		hashSlots: make(chan struct{}, 2)}
}

// Now is the service's clock, for callers that stamp audit lines.
func (s *Service) Now() time.Time { return s.now() }

// DB is the primary database, for audit lines written outside an action's
// transaction.
func (s *Service) DB() *sqlx.DB { return s.store.DB() }

func (s *Service) withHashSlot(ctx context.Context, fn func()) error {
	select {
	case s.hashSlots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("wait for a password hashing slot: %w", ctx.Err())
	}
	defer func() { <-s.hashSlots }()
	fn()
	return nil
}

const memberColumns = `id, name, role, password_hash, must_change_password, COALESCE(totp_secret, '') AS totp_secret,
	totp_last_step, session_generation, disabled_at, created_at`

// ByName is the staff member called name (names are lower case).
func (s *Service) ByName(ctx context.Context, name string) (Member, error) {
	var m Member
	err := s.store.DB().GetContext(ctx, &m, `SELECT `+memberColumns+` FROM staff WHERE name = $1`, name)
	return m, db.NotFound(err, "staff %q", name)
}

// ByID is the staff member with id.
func (s *Service) ByID(ctx context.Context, id int64) (Member, error) {
	var m Member
	err := s.store.DB().GetContext(ctx, &m, `SELECT `+memberColumns+` FROM staff WHERE id = $1`, id)
	return m, db.NotFound(err, "staff %d", id)
}

// ErrBadName is a name Add refuses: against the rule, or taken.
var ErrBadName = errors.New("staff name not allowed or taken")

// nameRule is the staff table's CHECK: lower case, so a name is one
// spelling in the audit log.
var nameRule = regexp.MustCompile(`^[a-z][a-z0-9_.-]{1,31}$`)

// oneTimeAlphabet leaves out look-alikes (0/O, 1/l/I): the password is
// read off a terminal and typed once.
const oneTimeAlphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"

// oneTimePassword is 20 characters of oneTimeAlphabet (about 115 bits).
func oneTimePassword() (string, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("one-time password: %w", err)
	}
	for i := range b {
		// 256 % 54 != 0 leaves a slight bias, irrelevant at 115 bits.
		b[i] = oneTimeAlphabet[int(b[i])%len(oneTimeAlphabet)]
	}
	return string(b), nil
}

// Add creates a staff member and returns it with its one-time password,
// which is printed once and must be changed at the first login.
func (s *Service) Add(ctx context.Context, name string, role Role) (Member, string, error) {
	if !role.Valid() {
		return Member{}, "", fmt.Errorf("add staff %q: unknown role %q", name, role)
	}
	if !nameRule.MatchString(name) {
		return Member{}, "", fmt.Errorf("add staff %q: %w: a-z first, then 1 to 31 of a-z 0-9 _ . -", name, ErrBadName)
	}
	pw, err := oneTimePassword()
	if err != nil {
		return Member{}, "", err
	}
	hash, err := s.hasher.Hash(pw)
	if err != nil {
		return Member{}, "", fmt.Errorf("add staff %q: %w", name, err)
	}
	var m Member
	const q = `INSERT INTO staff (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING ` + memberColumns
	err = s.store.DB().GetContext(ctx, &m, q, name, role, hash, s.now())
	if err = db.MapError(err); errors.Is(err, db.ErrDuplicate) {
		return Member{}, "", fmt.Errorf("add staff %q: %w: the name is taken", name, ErrBadName)
	} else if err != nil {
		return Member{}, "", fmt.Errorf("add staff %q: %w", name, err)
	}
	return m, pw, nil
}

// Disable shuts a staff member out: the row is marked, the session
// generation moves and every session is deleted, in one transaction.
func (s *Service) Disable(ctx context.Context, name string) (Member, error) {
	var m Member
	err := s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		const q = `UPDATE staff SET disabled_at = COALESCE(disabled_at, $2), session_generation = session_generation + 1
			WHERE name = $1 RETURNING ` + memberColumns
		if err := tx.GetContext(ctx, &m, q, name, s.now()); err != nil {
			return db.NotFound(err, "staff %q", name)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE staff_id = $1`, m.ID); err != nil {
			return fmt.Errorf("end sessions of staff %d: %w", m.ID, err)
		}
		return nil
	})
	if err != nil {
		return Member{}, fmt.Errorf("disable staff %q: %w", name, err)
	}
	return m, nil
}

// SetPassword replaces id's password (the first-login change, or a change
// by its owner whose current password the caller checked), clears the
// must-change mark and moves the session generation; the caller starts the
// fresh session. It returns the new generation.
func (s *Service) SetPassword(ctx context.Context, id int64, next string) (int, error) {
	m, err := s.ByID(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("set staff password: %w", err)
	}
	if err := account.ValidatePassword(next, m.Name); err != nil {
		return 0, err
	}
	if ok, _ := s.hasher.Verify(m.PasswordHash, next); ok {
		return 0, problem.New("password", "ops.password.same")
	}
	var hash string
	if slotErr := s.withHashSlot(ctx, func() { hash, err = s.hasher.Hash(next) }); slotErr != nil {
		return 0, slotErr
	}
	if err != nil {
		return 0, fmt.Errorf("set password of staff %d: %w", id, err)
	}
	var gen int
	err = s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		const q = `UPDATE staff SET password_hash = $2, must_change_password = false, session_generation = session_generation + 1
			WHERE id = $1 AND disabled_at IS NULL RETURNING session_generation`
		if err := tx.GetContext(ctx, &gen, q, id, hash); err != nil {
			return db.NotFound(err, "staff %d", id)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE staff_id = $1`, id)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("set password of staff %d: %w", id, err)
	}
	return gen, nil
}

// List is every staff member, by name.
func (s *Service) List(ctx context.Context) ([]Member, error) {
	var out []Member
	if err := s.store.DB().SelectContext(ctx, &out, `SELECT `+memberColumns+` FROM staff ORDER BY name`); err != nil {
		return nil, fmt.Errorf("list staff: %w", err)
	}
	return out, nil
}
