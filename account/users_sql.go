package account

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
)

// User is a person who can log in; WalletID is their wallet account.
type User struct {
	ID           int64     `db:"id"`
	Username     string    `db:"username"`
	PasswordHash string    `db:"password_hash"`
	CreatedAt    time.Time `db:"created_at"`
	WalletID     int64     `db:"wallet_id"`
	// SessionGeneration is bumped by a password change and by "log out
	// everywhere"; a session started under an older one is dead.
	SessionGeneration int `db:"session_generation"`
}

const selectUser = `
	SELECT u.id, u.username, u.password_hash, u.created_at, a.id AS wallet_id, u.session_generation
	  FROM users u JOIN accounts a ON a.user_id = u.id`

// CreateUser stores a user and opens their wallet in one transaction. A name
// taken in any letter case is db.ErrDuplicate.
func CreateUser(ctx context.Context, tx *sqlx.Tx, username, passwordHash string) (User, error) {
	u := User{Username: username, PasswordHash: passwordHash}
	const insertUser = `INSERT INTO users (username, password_hash) VALUES ($1, $2) RETURNING id, created_at`
	if err := tx.QueryRowxContext(ctx, insertUser, username, passwordHash).Scan(&u.ID, &u.CreatedAt); err != nil {
		return User{}, db.MapError(fmt.Errorf("create user %q: %w", username, err))
	}
	const insertWallet = `INSERT INTO accounts (kind, user_id, balance) VALUES ('wallet', $1, 0) RETURNING id`
	if err := tx.GetContext(ctx, &u.WalletID, insertWallet, u.ID); err != nil {
		return User{}, db.MapError(fmt.Errorf("create wallet for user %d: %w", u.ID, err))
	}
	return u, nil
}

// UserByName finds a user by name, ignoring letter case.
func (s *Service) UserByName(ctx context.Context, username string) (User, error) {
	var u User
	err := s.store.DB().GetContext(ctx, &u, selectUser+` WHERE lower(u.username) = lower($1)`, username)
	return u, db.NotFound(err, "user %q", username)
}

// UserByNameCached is UserByName, without the password hash, for the
// service API, which names the user of every charge: a name, once found, is
// answered from memory. That cannot
// go stale, because users are never renamed or deleted; an unknown name is
// not remembered, since it may be registered at any time. The cache is keyed
// by the name exactly as given, so it never has to agree with PostgreSQL's
// lower() on what a letter's case is.
func (s *Service) UserByNameCached(ctx context.Context, username string) (User, error) {
	if u, ok := s.names.Get(username); ok {
		return u, nil
	}
	u, err := s.UserByName(ctx, username)
	if err != nil {
		return u, err
	}
	// The password hash and the session generation can change (a new
	// password, an upgrade, "log out everywhere", on any instance), and
	// nothing that reads this cache has a use for them.
	u.PasswordHash, u.SessionGeneration = "", 0
	s.names.Put(username, u)
	return u, nil
}

// UserByID finds a user by id.
func (s *Service) UserByID(ctx context.Context, id int64) (User, error) {
	var u User
	err := s.store.DB().GetContext(ctx, &u, selectUser+` WHERE u.id = $1`, id)
	return u, db.NotFound(err, "user %d", id)
}

// setPasswordHash replaces a user's hash with an upgraded one of the same
// password (new hashing parameters): every session stays valid.
func (s *Service) setPasswordHash(ctx context.Context, userID int64, hash string) error {
	_, err := s.store.DB().ExecContext(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, userID, hash)
	if err != nil {
		return fmt.Errorf("set password hash of user %d: %w", userID, err)
	}
	return nil
}
