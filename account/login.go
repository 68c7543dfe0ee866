package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
	"im2pay/ledger"
	"im2pay/problem"
)

// Guess limits: failures counted over a sliding window, per account, per
// client address, and per trusted device. The per-account cap holds however
// the attacker rotates addresses; the per-address cap slows one machine
// guessing many names. A browser that once logged in to the account (its
// device cookie, OWASP's "device cookies") is held to its own cap instead,
// so an attacker who locks the account does not lock its owner out.
const (
	ThrottleWindow     = time.Hour
	MaxFailsPerAccount = 100
	MaxFailsPerClient  = 300
	MaxFailsPerDevice  = 10
)

// Sign-up limit per client address.
const (
	SignupWindow        = time.Hour
	MaxSignupsPerClient = 10
)

var guessLimits = GuessLimits{Account: MaxFailsPerAccount, Client: MaxFailsPerClient, Device: MaxFailsPerDevice,
	Window: ThrottleWindow}

// Attempt is a login or a password check as the request brings it:
// DeviceHash is the SHA-256 of the browser's device cookie, nil without one.
type Attempt struct {
	Username   string
	Password   string
	ClientIP   string
	DeviceHash []byte
}

// Register validates and creates an account with its wallet, and grants the
// configured sign-up credit in the same database transaction. At most
// MaxSignupsPerClient accounts are made from one address per SignupWindow.
func (s *Service) Register(ctx context.Context, username, password, clientIP string) (User, error) {
	username = NormalizeUsername(username)
	if err := errors.Join(ValidateUsername(username), ValidatePassword(password, username)); err != nil {
		return User{}, err
	}
	client := clientKey(clientIP)
	// A cheap look before the costly hash, so an address over its limit
	// cannot spend our CPU on argon2; AdmitSignup decides, under its lock.
	wait, err := signupWait(ctx, s.store.DB(), client, s.now(), s.signups, SignupWindow)
	if err != nil {
		return User{}, fmt.Errorf("register %q: %w", username, err)
	}
	if wait > 0 {
		return User{}, problem.New("", "register.throttled", minutesCeil(wait))
	}
	var hash string
	if slotErr := s.withHashSlot(ctx, func() { hash, err = s.hasher.Hash(password) }); slotErr != nil {
		return User{}, slotErr
	}
	if err != nil {
		return User{}, fmt.Errorf("register: %w", err)
	}
	// Looked up before the transaction: inside it, only tx may be used.
	grants, err := s.ledger.SystemAccountID(ctx, "grants")
	if err != nil {
		return User{}, err
	}
	var u User
	err = s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if wait, err = admitSignup(ctx, tx, client, s.now(), s.signups, SignupWindow); err != nil || wait > 0 {
			return err
		}
		if u, err = CreateUser(ctx, tx, username, hash); err != nil {
			return err
		}
		return s.postSignupGrant(ctx, tx, u, grants)
	})
	switch {
	case errors.Is(err, db.ErrDuplicate):
		return User{}, problem.New("username", "username.taken")
	case err != nil:
		return User{}, fmt.Errorf("register %q: %w", username, err)
	case wait > 0:
		return User{}, problem.New("", "register.throttled", minutesCeil(wait))
	}
	return u, nil
}

func (s *Service) postSignupGrant(ctx context.Context, tx *sqlx.Tx, u User, grants int64) error {
	if s.signupGrant <= 0 {
		return nil
	}
	_, err := s.ledger.Post(ctx, ledger.Posting{
		Key: fmt.Sprintf("grant:signup:%d", u.ID), Kind: ledger.Grant,
		Reference: fmt.Sprintf("user:%d", u.ID), Description: "signup_grant",
		Entries: []ledger.Entry{{AccountID: grants, Amount: -int64(s.signupGrant)}, {AccountID: u.WalletID, Amount: int64(s.signupGrant)}},
	}, ledger.InTx(tx))
	return err
}

// Authenticate checks a login attempt. The attempt is counted as a failure
// before the password is checked (and forgiven when it was right), so
// guesses sent together cannot overshoot the limits; over a limit it is
// refused unchecked. An unknown name and a wrong password get the same
// answer after the same work.
func (s *Service) Authenticate(ctx context.Context, a Attempt) (User, error) {
	a.Username = NormalizeUsername(a.Username)
	u, err := s.UserByName(ctx, a.Username)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return User{}, fmt.Errorf("authenticate: %w", err)
	}
	known := err == nil
	ok, err := s.checkGuess(ctx, a, "login.throttled", func() (bool, error) {
		if !known {
			s.hasher.DummyVerify(a.Password)
			return false, nil
		}
		return s.hasher.Verify(u.PasswordHash, a.Password)
	})
	if err != nil {
		return User{}, fmt.Errorf("authenticate: %w", err)
	}
	if !ok {
		return User{}, problem.New("", "login.invalid")
	}
	if s.hasher.NeedsRehash(u.PasswordHash) {
		// Best effort: the login is valid whether or not the upgrade lands.
		h, err := s.hasher.Hash(a.Password)
		if err == nil {
			err = s.setPasswordHash(ctx, u.ID, h)
		}
		if err != nil {
			s.log.Warn("upgrade password hash", "user", u.ID, "err", err)
		}
	}
	return u, nil
}

// checkGuess runs verify under the guess limits: counted first, refused
// with throttledCode while over a limit, forgiven when verify says yes. A
// device cookie counts only when its browser once logged in to the account.
func (s *Service) checkGuess(ctx context.Context, a Attempt, throttledCode string, verify func() (bool, error)) (bool, error) {
	g := guess{Username: a.Username, ClientIP: clientKey(a.ClientIP), At: s.now()}
	if a.DeviceHash != nil {
		trusted, err := s.deviceTrusted(ctx, a.DeviceHash, a.Username)
		if err != nil {
			return false, err
		}
		if trusted {
			g.Device = a.DeviceHash
		}
	}
	adm, err := s.admitGuess(ctx, g, guessLimits)
	if err != nil {
		return false, err
	}
	if adm.Wait > 0 {
		return false, problem.New("", throttledCode, minutesCeil(adm.Wait))
	}
	var ok bool
	if slotErr := s.withHashSlot(ctx, func() { ok, err = verify() }); slotErr != nil {
		return false, slotErr
	}
	if err != nil || !ok {
		return false, err
	}
	return true, s.forgiveGuess(ctx, adm.ID)
}

// TrustDevice remembers that the browser whose device cookie hashes to
// deviceHash has logged in to userID.
func (s *Service) TrustDevice(ctx context.Context, deviceHash []byte, userID int64) error {
	return s.insertTrustedDevice(ctx, deviceHash, userID, s.now())
}

// minutesCeil rounds a wait up to whole minutes for people. It ignores
// sub-second parts: PostgreSQL rounds timestamps to microseconds, which must
// not turn "60 minutes" into "61".
func minutesCeil(d time.Duration) int {
	d = d.Truncate(time.Second)
	m := int((d + time.Minute - 1) / time.Minute)
	return max(m, 1)
}

// EnsureUser creates a user if the name is free and returns it either way;
// the demo seed uses it so that a second run changes nothing.
func (s *Service) EnsureUser(ctx context.Context, username, password string) (User, error) {
	u, err := s.UserByName(ctx, username)
	if err == nil {
		return u, nil
	}
	if !errors.Is(err, db.ErrNotFound) {
		return User{}, err
	}
	return s.Register(ctx, username, password, "seed")
}

// ChangePassword replaces a user's password after checking the current one
// under the login limits (the guess counts against the account and the
// client's address, as a login would), ends every session of the user and
// bumps their session generation, and returns the new generation for the
// fresh session the caller starts for the person who made the change.
func (s *Service) ChangePassword(ctx context.Context, userID int64, current, next string, a Attempt) (int, error) {
	u, err := s.UserByID(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("change password: %w", err)
	}
	a.Username, a.Password = u.Username, current
	ok, err := s.checkGuess(ctx, a, "password.throttled", func() (bool, error) {
		return s.hasher.Verify(u.PasswordHash, current)
	})
	var p *problem.Problem
	if errors.As(err, &p) {
		p.Field = "current_password"
		return 0, p
	}
	if err != nil {
		return 0, fmt.Errorf("change password of user %d: %w", u.ID, err)
	}
	if !ok {
		return 0, problem.New("current_password", "password.current_wrong")
	}
	if err := ValidatePassword(next, u.Username); err != nil {
		return 0, err
	}
	var hash string
	if slotErr := s.withHashSlot(ctx, func() { hash, err = s.hasher.Hash(next) }); slotErr != nil {
		return 0, slotErr
	}
	if err != nil {
		return 0, fmt.Errorf("change password of user %d: %w", u.ID, err)
	}
	return s.setPassword(ctx, u.ID, hash)
}
