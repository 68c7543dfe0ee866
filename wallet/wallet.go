// Package wallet is the domain: who may log in, what a wallet holds, and
// every rule that moves money. Handlers call it; it calls the store.
package wallet

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"im2pay/db"
	"im2pay/metrics"
	"im2pay/payment"
)

// Service answers the questions the pages ask and performs what they request.
type Service struct {
	store  *db.Store
	hasher PasswordHasher
	now    func() time.Time
	// signupGrant is credited to each new account from the grants account (0 = none).
	signupGrant Money
	// signups is the sign-up limit per client address and window.
	signups int
	// hashSlots bounds concurrent argon2id work: each hash holds ~19 MiB, so
	// a burst of logins must queue rather than exhaust memory.
	hashSlots chan struct{}

	rules     RechargeRules
	loc       *time.Location
	providers map[payment.Method]payment.Provider
	baseURL   string // our public origin, for return and notify URLs
	// reconcileAfter is the age at which Reconcile asks about a pending order.
	reconcileAfter time.Duration
	// notifying runs identical notifications arriving together once.
	notifying inflight
	log       *slog.Logger
	metrics   *metrics.Metrics // nil: nothing counted
}

// maxConcurrentHashes is the number of password hashes computed at once.
const maxConcurrentHashes = 4

// Options configures a Service; zero fields take the defaults.
type Options struct {
	Hasher      PasswordHasher
	Now         func() time.Time
	SignupGrant Money
	Rules       *RechargeRules // nil: DefaultRechargeRules
	Location    *time.Location // the zone a "day" of the daily limit is in
	Providers   map[payment.Method]payment.Provider
	BaseURL     string
	// ReconcileAfter is how old a pending order must be before Reconcile
	// asks its provider (0: DefaultReconcileAfter).
	ReconcileAfter time.Duration
	// SignupsPerClient is how many accounts one address may create per
	// SignupWindow (0: MaxSignupsPerClient).
	SignupsPerClient int
	// Logger receives the reconciler's passes and warnings about
	// notifications (nil: slog.Default()).
	Logger *slog.Logger
	// Metrics counts top-ups and notifications by outcome (nil: none).
	Metrics *metrics.Metrics
}

// NewService builds a Service over a store.
func NewService(store *db.Store, o Options) *Service {
	if o.Hasher == (PasswordHasher{}) {
		o.Hasher = DefaultPasswordHasher()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	rules := DefaultRechargeRules()
	if o.Rules != nil {
		rules = *o.Rules
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.ReconcileAfter <= 0 {
		o.ReconcileAfter = DefaultReconcileAfter
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.SignupsPerClient <= 0 {
		o.SignupsPerClient = MaxSignupsPerClient
	}
	return &Service{store: store, hasher: o.Hasher, now: o.Now, signupGrant: o.SignupGrant,
		hashSlots: make(chan struct{}, maxConcurrentHashes),
		rules:     rules, loc: o.Location, providers: o.Providers, baseURL: o.BaseURL,
		reconcileAfter: o.ReconcileAfter, log: o.Logger, signups: o.SignupsPerClient, metrics: o.Metrics}
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

// Ready says whether the database answers with the schema this binary knows.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ready(ctx) }

// Record is one line of a wallet's history: the account center's recent
// lines and the statement package's history and export alike.
type Record struct {
	ID           int64
	At           time.Time
	Kind         db.TxnKind
	Description  string // a locale catalog code
	Amount       Money  // signed: + in, − out
	BalanceAfter Money
}

// Overview is what the account center shows.
type Overview struct {
	User            db.User
	Balance         Money
	Recent          []Record
	MembershipUntil time.Time // zero: never a member
	LowBalance      Money     // the person's warning threshold
	Events          []EventStatus
	Orders          []db.Order // the latest top-ups, in the state every page shows
	Now             time.Time
}

// recentRecords is how many lines the account center shows.
const recentRecords = 5

// Records turns ledger lines as the store reads them into Records.
func Records(lines []db.HistoryLine) []Record {
	out := make([]Record, len(lines))
	for i, l := range lines {
		out[i] = Record{ID: l.EntryID, At: l.At, Kind: l.Kind, Description: l.Description,
			Amount: Money(l.Amount), BalanceAfter: Money(l.BalanceAfter)}
	}
	return out
}

// Grant credits a wallet from the grants account under an idempotency key,
// so seeding or retrying never grants twice. description is a catalog code.
func (s *Service) Grant(ctx context.Context, userID int64, amount Money, key, description string) (Money, error) {
	if amount <= 0 {
		return 0, fmt.Errorf("grant %q: amount %d must be positive", key, amount)
	}
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("grant %q: %w", key, err)
	}
	grants, err := s.store.SystemAccountID(ctx, "grants")
	if err != nil {
		return 0, fmt.Errorf("grant %q: %w", key, err)
	}
	posted, err := s.store.PostTransaction(ctx, db.Posting{
		Key: key, Kind: db.KindGrant, Reference: fmt.Sprintf("user:%d", u.ID), Description: description,
		Entries: []db.Entry{{AccountID: grants, Amount: -int64(amount)}, {AccountID: u.WalletID, Amount: int64(amount)}},
	})
	if err != nil {
		return 0, fmt.Errorf("grant %q: %w", key, err)
	}
	return Money(posted.Balances[u.WalletID]), nil
}
