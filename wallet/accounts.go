package wallet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
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

var guessLimits = db.GuessLimits{Account: MaxFailsPerAccount, Client: MaxFailsPerClient, Device: MaxFailsPerDevice,
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
func (s *Service) Register(ctx context.Context, username, password, clientIP string) (db.User, error) {
	username = NormalizeUsername(username)
	if err := errors.Join(ValidateUsername(username), ValidatePassword(password, username)); err != nil {
		return db.User{}, err
	}
	client := clientKey(clientIP)
	// A cheap look before the costly hash, so an address over its limit
	// cannot spend our CPU on argon2; AdmitSignup decides, under its lock.
	wait, err := s.store.SignupWait(ctx, client, s.now(), s.signups, SignupWindow)
	if err != nil {
		return db.User{}, fmt.Errorf("register %q: %w", username, err)
	}
	if wait > 0 {
		return db.User{}, NewProblem("", "register.throttled", minutesCeil(wait))
	}
	var hash string
	if slotErr := s.withHashSlot(ctx, func() { hash, err = s.hasher.Hash(password) }); slotErr != nil {
		return db.User{}, slotErr
	}
	if err != nil {
		return db.User{}, fmt.Errorf("register: %w", err)
	}
	// Looked up before the transaction: inside it, only tx may be used.
	grants, err := s.store.SystemAccountID(ctx, "grants")
	if err != nil {
		return db.User{}, err
	}
	var u db.User
	err = s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if wait, err = db.AdmitSignup(ctx, tx, client, s.now(), s.signups, SignupWindow); err != nil || wait > 0 {
			return err
		}
		if u, err = db.CreateUser(ctx, tx, username, hash); err != nil {
			return err
		}
		return s.postSignupGrant(ctx, tx, u, grants)
	})
	switch {
	case errors.Is(err, db.ErrDuplicate):
		return db.User{}, NewProblem("username", "username.taken")
	case err != nil:
		return db.User{}, fmt.Errorf("register %q: %w", username, err)
	case wait > 0:
		return db.User{}, NewProblem("", "register.throttled", minutesCeil(wait))
	}
	return u, nil
}

func (s *Service) postSignupGrant(ctx context.Context, tx *sqlx.Tx, u db.User, grants int64) error {
	if s.signupGrant <= 0 {
		return nil
	}
	_, err := s.store.Post(ctx, tx, db.Posting{
		Key: fmt.Sprintf("grant:signup:%d", u.ID), Kind: db.KindGrant,
		Reference: fmt.Sprintf("user:%d", u.ID), Description: "signup_grant",
		Entries: []db.Entry{{AccountID: grants, Amount: -int64(s.signupGrant)}, {AccountID: u.WalletID, Amount: int64(s.signupGrant)}},
	})
	return err
}

// Authenticate checks a login attempt. The attempt is counted as a failure
// before the password is checked (and forgiven when it was right), so
// guesses sent together cannot overshoot the limits; over a limit it is
// refused unchecked. An unknown name and a wrong password get the same
// answer after the same work.
func (s *Service) Authenticate(ctx context.Context, a Attempt) (db.User, error) {
	a.Username = NormalizeUsername(a.Username)
	u, err := s.store.UserByName(ctx, a.Username)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return db.User{}, fmt.Errorf("authenticate: %w", err)
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
		return db.User{}, fmt.Errorf("authenticate: %w", err)
	}
	if !ok {
		return db.User{}, NewProblem("", "login.invalid")
	}
	if s.hasher.NeedsRehash(u.PasswordHash) {
		// Best effort: the login is valid whether or not the upgrade lands.
		if h, err := s.hasher.Hash(a.Password); err == nil {
			_ = s.store.SetPasswordHash(ctx, u.ID, h)
		}
	}
	return u, nil
}

// checkGuess runs verify under the guess limits: counted first, refused
// with throttledCode while over a limit, forgiven when verify says yes. A
// device cookie counts only when its browser once logged in to the account.
func (s *Service) checkGuess(ctx context.Context, a Attempt, throttledCode string, verify func() (bool, error)) (bool, error) {
	g := db.Guess{Username: a.Username, ClientIP: clientKey(a.ClientIP), At: s.now()}
	if a.DeviceHash != nil {
		trusted, err := s.store.DeviceTrusted(ctx, a.DeviceHash, a.Username)
		if err != nil {
			return false, err
		}
		if trusted {
			g.Device = a.DeviceHash
		}
	}
	adm, err := s.store.AdmitGuess(ctx, g, guessLimits)
	if err != nil {
		return false, err
	}
	if adm.Wait > 0 {
		return false, NewProblem("", throttledCode, minutesCeil(adm.Wait))
	}
	var ok bool
	if slotErr := s.withHashSlot(ctx, func() { ok, err = verify() }); slotErr != nil {
		return false, slotErr
	}
	if err != nil || !ok {
		return false, err
	}
	return true, s.store.ForgiveGuess(ctx, adm.ID)
}

// TrustDevice remembers that the browser whose device cookie hashes to
// deviceHash has logged in to userID.
func (s *Service) TrustDevice(ctx context.Context, deviceHash []byte, userID int64) error {
	return s.store.TrustDevice(ctx, deviceHash, userID, s.now())
}

// minutesCeil rounds a wait up to whole minutes for people. It ignores
// sub-second parts: PostgreSQL rounds timestamps to microseconds, which must
// not turn "60 minutes" into "61".
func minutesCeil(d time.Duration) int {
	d = d.Truncate(time.Second)
	m := int((d + time.Minute - 1) / time.Minute)
	return max(m, 1)
}

// UserByID loads a logged-in user.
func (s *Service) UserByID(ctx context.Context, id int64) (db.User, error) {
	return s.store.UserByID(ctx, id)
}

// EnsureUser creates a user if the name is free and returns it either way;
// the demo seed uses it so that a second run changes nothing.
func (s *Service) EnsureUser(ctx context.Context, username, password string) (db.User, error) {
	u, err := s.store.UserByName(ctx, username)
	if err == nil {
		return u, nil
	}
	if !errors.Is(err, db.ErrNotFound) {
		return db.User{}, err
	}
	return s.Register(ctx, username, password, "seed")
}

// ChangePassword replaces a user's password after checking the current one
// under the login limits (the guess counts against the account and the
// client's address, as a login would), ends every session of the user and
// bumps their session generation, and returns the new generation for the
// fresh session the caller starts for the person who made the change.
func (s *Service) ChangePassword(ctx context.Context, userID int64, current, next string, a Attempt) (int, error) {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("change password: %w", err)
	}
	a.Username, a.Password = u.Username, current
	ok, err := s.checkGuess(ctx, a, "password.throttled", func() (bool, error) {
		return s.hasher.Verify(u.PasswordHash, current)
	})
	var p *Problem
	if errors.As(err, &p) {
		p.Field = "current_password"
		return 0, p
	}
	if err != nil {
		return 0, fmt.Errorf("change password of user %d: %w", u.ID, err)
	}
	if !ok {
		return 0, NewProblem("current_password", "password.current_wrong")
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
	return s.store.SetPassword(ctx, u.ID, hash)
}

// recentOrders is how many top-ups the account center lists.
const recentOrders = 3

// AccountCenter loads the account center of a user the session has already
// loaded, in one read: the page's balance, membership, threshold, running events and
// newest lines come from one statement. Viewing credits a
// spend bonus whose threshold was crossed; only then (rarely) does it
// award and read again, so the page shows the new balance. The latest
// top-ups are a second read.
func (s *Service) AccountCenter(ctx context.Context, u db.User) (Overview, error) {
	now := s.now()
	v, err := s.store.AccountView(ctx, u.ID, u.WalletID, now, recentRecords)
	if err != nil {
		return Overview{}, fmt.Errorf("account center: %w", err)
	}
	if bonusDue(v) {
		if err := s.AwardEventBonuses(ctx, u.ID); err != nil {
			return Overview{}, fmt.Errorf("account center: %w", err)
		}
		if v, err = s.store.AccountView(ctx, u.ID, u.WalletID, now, recentRecords); err != nil {
			return Overview{}, fmt.Errorf("account center: %w", err)
		}
	}
	o := Overview{User: u, Balance: Money(v.Balance), Recent: Records(v.Recent), MembershipUntil: v.MembershipUntil,
		LowBalance: Money(v.LowBalance), Now: now}
	if o.Orders, err = s.store.OrdersOfUser(ctx, u.ID, 0, recentOrders); err != nil {
		return Overview{}, fmt.Errorf("account center: %w", err)
	}
	for _, e := range v.Events {
		o.Events = append(o.Events, EventStatus{Event: e.Event, Running: true, Spent: Money(e.Spent),
			Threshold: Money(e.Threshold), Bonus: Money(e.Bonus), Awarded: e.Awarded, Price: Money(e.Price),
			ListPrice: Money(e.ListPrice)})
	}
	return o, nil
}

// bonusDue reports whether a running spend-bonus event's threshold has been
// reached without its bonus: AwardEventBonuses' own test.
func bonusDue(v db.AccountView) bool {
	for _, e := range v.Events {
		if e.Kind == "spend_bonus" && !e.Awarded && e.Spent >= e.Threshold {
			return true
		}
	}
	return false
}
