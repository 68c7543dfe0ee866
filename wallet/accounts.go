package wallet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
)

// Login throttling: failures counted over a sliding window, per account and
// per client address. The per-account cap holds however the attacker rotates
// addresses; the per-address cap slows one machine guessing many names.
const (
	ThrottleWindow     = time.Hour
	MaxFailsPerAccount = 100
	MaxFailsPerClient  = 300
)

// Register validates and creates an account with its wallet, and grants the
// configured sign-up credit in the same database transaction.
func (s *Service) Register(ctx context.Context, username, password string) (db.User, error) {
	username = NormalizeUsername(username)
	if err := errors.Join(ValidateUsername(username), ValidatePassword(password, username)); err != nil {
		return db.User{}, err
	}
	var hash string
	var err error
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
		if u, err = db.CreateUser(ctx, tx, username, hash); err != nil {
			return err
		}
		return s.postSignupGrant(ctx, tx, u, grants)
	})
	if errors.Is(err, db.ErrDuplicate) {
		return db.User{}, NewProblem("username", "username.taken")
	}
	if err != nil {
		return db.User{}, fmt.Errorf("register %q: %w", username, err)
	}
	return u, nil
}

func (s *Service) postSignupGrant(ctx context.Context, tx *sqlx.Tx, u db.User, grants int64) error {
	if s.signupGrant <= 0 {
		return nil
	}
	_, err := db.Post(ctx, tx, db.Posting{
		Key: fmt.Sprintf("grant:signup:%d", u.ID), Kind: db.KindGrant,
		Reference: fmt.Sprintf("user:%d", u.ID), Description: "signup_grant",
		Entries: []db.Entry{{AccountID: grants, Amount: -int64(s.signupGrant)}, {AccountID: u.WalletID, Amount: int64(s.signupGrant)}},
	})
	return err
}

// Authenticate checks a username and password from clientIP. It refuses
// before checking the password once the throttle is reached, answers the same
// for an unknown name and a wrong password, and spends the same time on both.
func (s *Service) Authenticate(ctx context.Context, username, password, clientIP string) (db.User, error) {
	username = NormalizeUsername(username)
	now := s.now()
	if wait, err := s.throttled(ctx, username, clientIP, now); err != nil {
		return db.User{}, err
	} else if wait > 0 {
		return db.User{}, NewProblem("", "login.throttled", minutesCeil(wait))
	}
	u, err := s.store.UserByName(ctx, username)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return db.User{}, fmt.Errorf("authenticate: %w", err)
	}
	known := err == nil
	ok := false
	slotErr := s.withHashSlot(ctx, func() {
		if known {
			ok, err = s.hasher.Verify(u.PasswordHash, password)
		} else {
			s.hasher.DummyVerify(password)
		}
	})
	if slotErr != nil {
		return db.User{}, slotErr
	}
	if known && err != nil {
		return db.User{}, fmt.Errorf("authenticate user %d: %w", u.ID, err)
	}
	if !ok {
		if err := s.store.RecordLoginFailure(ctx, username, clientIP, now); err != nil {
			return db.User{}, fmt.Errorf("authenticate: %w", err)
		}
		return db.User{}, NewProblem("", "login.invalid")
	}
	if s.hasher.NeedsRehash(u.PasswordHash) {
		// Best effort: the login is valid whether or not the upgrade lands.
		if h, err := s.hasher.Hash(password); err == nil {
			_ = s.store.SetPasswordHash(ctx, u.ID, h)
		}
	}
	return u, nil
}

// throttled returns how long the caller must wait, or 0.
func (s *Service) throttled(ctx context.Context, username, clientIP string, now time.Time) (time.Duration, error) {
	c, err := s.store.LoginFailures(ctx, username, clientIP, now.Add(-ThrottleWindow))
	if err != nil {
		return 0, fmt.Errorf("authenticate: %w", err)
	}
	var wait time.Duration
	if c.ByAccount >= MaxFailsPerAccount && c.OldestAccount.Valid {
		wait = max(wait, c.OldestAccount.Time.Add(ThrottleWindow).Sub(now))
	}
	if c.ByClient >= MaxFailsPerClient && c.OldestClient.Valid {
		wait = max(wait, c.OldestClient.Time.Add(ThrottleWindow).Sub(now))
	}
	return wait, nil
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
	return s.Register(ctx, username, password)
}

// ChangePassword replaces a user's password after checking the current one,
// and ends every session of the user: whoever knew the old password, or
// holds an old cookie, is out. The caller starts a fresh session for the
// person who made the change.
func (s *Service) ChangePassword(ctx context.Context, userID int64, current, next string) error {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	var ok bool
	if slotErr := s.withHashSlot(ctx, func() { ok, err = s.hasher.Verify(u.PasswordHash, current) }); slotErr != nil {
		return slotErr
	}
	if err != nil {
		return fmt.Errorf("change password of user %d: %w", u.ID, err)
	}
	if !ok {
		return NewProblem("current_password", "password.current_wrong")
	}
	if err := ValidatePassword(next, u.Username); err != nil {
		return err
	}
	var hash string
	if slotErr := s.withHashSlot(ctx, func() { hash, err = s.hasher.Hash(next) }); slotErr != nil {
		return slotErr
	}
	if err != nil {
		return fmt.Errorf("change password of user %d: %w", u.ID, err)
	}
	if err := s.store.SetPasswordHash(ctx, u.ID, hash); err != nil {
		return err
	}
	return s.store.DeleteUserSessions(ctx, u.ID)
}

// AccountCenter loads the account center of a user the session has already
// loaded, in one read: the page's balance, membership, threshold, running events and
// newest lines come from one statement. Viewing credits a
// spend bonus whose threshold was crossed; only then (rarely) does it
// award and read again, so the page shows the new balance.
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
	o := Overview{User: u, Balance: Money(v.Balance), Recent: toRecords(v.Recent), MembershipUntil: v.MembershipUntil,
		LowBalance: Money(v.LowBalance), Now: now}
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
