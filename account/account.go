// Package account is who may log in: credentials and their hashes,
// sessions, the limits on login guesses and sign-ups, and trusted devices.
// It keeps its own SQL (users, sessions, login_failures, registrations,
// login_devices) over the db package's store. Opening an account's wallet
// and granting its sign-up credit are the ledger's; Register only asks for
// them in its transaction.
package account

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"im2pay/db"
	"im2pay/internal/cache"
	"im2pay/ledger"
)

// maxConcurrentHashes is the number of password hashes computed at once.
const maxConcurrentHashes = 4

// maxCachedNames bounds UserByNameCached's cache (about 100 bytes a name).
const maxCachedNames = 50_000

// Service logs people in and keeps their sessions and limits.
type Service struct {
	store  *db.Store
	ledger *ledger.Ledger
	hasher PasswordHasher
	now    func() time.Time
	// signupGrant is credited to each new account from the grants
	// account, in fen (0 = none).
	signupGrant int64
	// signups is the sign-up limit per client address and window.
	signups int
	// hashSlots bounds concurrent argon2id work: each hash holds ~19 MiB, so
	// a burst of logins must queue rather than exhaust memory.
	hashSlots chan struct{}
	// names caches users by the name the service API was given (see
	// UserByNameCached).
	names *cache.Bounded[string, User]
	log   *slog.Logger
}

// Options configures a Service; zero fields take the defaults.
type Options struct {
	Hasher PasswordHasher // zero: DefaultPasswordHasher
	Now    func() time.Time
	// SignupGrant is the credit in fen each new account receives (0: none).
	SignupGrant int64
	// SignupsPerClient is how many accounts one address may create per
	// SignupWindow (0: MaxSignupsPerClient).
	SignupsPerClient int
	Logger           *slog.Logger // nil: slog.Default()
	// Ledger posts the sign-up grant (nil: ledger.New(store)).
	Ledger *ledger.Ledger
}

// NewService builds a Service over a store.
func NewService(store *db.Store, o Options) *Service {
	if o.Hasher == (PasswordHasher{}) {
		o.Hasher = DefaultPasswordHasher()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SignupsPerClient <= 0 {
		o.SignupsPerClient = MaxSignupsPerClient
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Ledger == nil {
		o.Ledger = ledger.New(store)
	}
	return &Service{store: store, ledger: o.Ledger, hasher: o.Hasher, now: o.Now, signupGrant: o.SignupGrant,
		signups: o.SignupsPerClient, hashSlots: make(chan struct{}, maxConcurrentHashes),
		names: cache.New[string, User](maxCachedNames), log: o.Logger}
}

// withHashSlot runs fn once a hashing slot is free, or gives up with ctx.
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

// ErrNotFound is a user or session that is not there (or not the caller's):
// the store's own error, so errors.Is works whichever layer looked.
var ErrNotFound = db.ErrNotFound
