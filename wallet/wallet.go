// Package wallet is what a wallet holds and how money comes into it: Money,
// the refusals a person can correct, recharge rules, orders, the providers'
// flows, crediting, reconciliation and grants. Where money goes is package
// spend's. Handlers call it; it calls the store, the ledger, and the
// account package for the people whose wallets they are.
package wallet

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"im2pay/account"
	"im2pay/db"
	"im2pay/ledger"
	"im2pay/metrics"
	"im2pay/payment"
)

// Service answers the questions the pages ask and performs what they request.
type Service struct {
	store  *db.Store
	ledger *ledger.Ledger
	// accounts finds the users whose wallets these are.
	accounts *account.Service
	now      func() time.Time

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

// Options configures a Service; zero fields take the defaults.
type Options struct {
	// Accounts finds users (nil: an account service over the same store
	// with the defaults and Now).
	Accounts  *account.Service
	Now       func() time.Time
	Rules     *RechargeRules // nil: DefaultRechargeRules
	Location  *time.Location // the zone a "day" of the daily limit is in
	Providers map[payment.Method]payment.Provider
	BaseURL   string
	// ReconcileAfter is how old a pending order must be before Reconcile
	// asks its provider (0: DefaultReconcileAfter).
	ReconcileAfter time.Duration
	// Logger receives the reconciler's passes and warnings about
	// notifications (nil: slog.Default()).
	Logger *slog.Logger
	// Metrics counts top-ups and notifications by outcome (nil: none).
	Metrics *metrics.Metrics
	// Ledger posts every movement of money (nil: ledger.New(store)).
	Ledger *ledger.Ledger
}

// NewService builds a Service over a store.
func NewService(store *db.Store, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Ledger == nil {
		o.Ledger = ledger.New(store)
	}
	if o.Accounts == nil {
		o.Accounts = account.NewService(store, account.Options{Now: o.Now, Logger: o.Logger, Ledger: o.Ledger})
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
	return &Service{store: store, ledger: o.Ledger, accounts: o.Accounts, now: o.Now,
		rules: rules, loc: o.Location, providers: o.Providers, baseURL: o.BaseURL,
		reconcileAfter: o.ReconcileAfter, log: o.Logger, metrics: o.Metrics}
}

// Ready says whether the database answers with the schema this binary knows.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ready(ctx) }

// Record is one line of a wallet's history: the account center's recent
// lines and the statement package's history and export alike.
type Record struct {
	ID           int64
	At           time.Time
	Kind         ledger.Kind
	Description  string // a locale catalog code
	Amount       Money  // signed: + in, − out
	BalanceAfter Money
}

// Records turns ledger lines as the store reads them into Records.
func Records(lines []db.HistoryLine) []Record {
	out := make([]Record, len(lines))
	for i, l := range lines {
		out[i] = Record{ID: l.EntryID, At: l.At, Kind: ledger.Kind(l.Kind), Description: l.Description,
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
	u, err := s.accounts.UserByID(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("grant %q: %w", key, err)
	}
	grants, err := s.ledger.SystemAccountID(ctx, "grants")
	if err != nil {
		return 0, fmt.Errorf("grant %q: %w", key, err)
	}
	posted, err := s.ledger.Post(ctx, ledger.Posting{
		Key: key, Kind: ledger.Grant, Reference: fmt.Sprintf("user:%d", u.ID), Description: description,
		Entries: []ledger.Entry{{AccountID: grants, Amount: -int64(amount)}, {AccountID: u.WalletID, Amount: int64(amount)}},
	})
	if err != nil {
		return 0, fmt.Errorf("grant %q: %w", key, err)
	}
	return Money(posted.Balances[u.WalletID]), nil
}

// RoundUpToPreset is the smallest preset tier that covers m (m itself when
// no preset does): the "top up the shortfall" button offers both.
func (s *Service) RoundUpToPreset(m Money) Money {
	for _, p := range s.rules.Presets {
		if p >= m {
			return p
		}
	}
	return m
}
