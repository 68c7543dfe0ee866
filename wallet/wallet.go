// Package wallet is what every domain package shares about a wallet's
// money: Money (fen, parsed from forms and shown as yuan), the Problem a
// form can have, a history Record, and Grant, the credit seeding and tests
// give a person. How money comes in is package recharge's, where it goes
// package spend's, and its lines package statement's.
package wallet

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"im2pay/account"
	"im2pay/db"
	"im2pay/ledger"
)

// Service answers the questions the pages ask and performs what they request.
type Service struct {
	store  *db.Store
	ledger *ledger.Ledger
	// accounts finds the users whose wallets these are.
	accounts *account.Service
	now      func() time.Time
}

// Options configures a Service; zero fields take the defaults.
type Options struct {
	// Accounts finds users (nil: an account service over the same store
	// with the defaults and Now).
	Accounts *account.Service
	Now      func() time.Time
	// Logger is the default account service's (nil: slog.Default()).
	Logger *slog.Logger
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
	return &Service{store: store, ledger: o.Ledger, accounts: o.Accounts, now: o.Now}
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
