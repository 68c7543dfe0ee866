// Package spend is where a wallet's money goes: the shop (products,
// bundles, memberships, consumables), gifts, events and their spend
// bonuses, the per-use charges of the service API, and a person's spending
// thresholds. It keeps its own SQL (products, purchases, owned_items,
// memberships, user_settings, gift_items, gifts, events, event_bonuses,
// api_charges, item_uses) beside the methods that run it, and moves money
// only through the ledger.
package spend

import (
	"log/slog"
	"time"

	"im2pay/account"
	"im2pay/db"
	"im2pay/internal/cache"
	"im2pay/ledger"
	"im2pay/limits"
)

// maxCachedGiftItems bounds the gift catalog's cache: only codes of the
// catalog are remembered, a handful of rows, so the bound is a backstop.
const maxCachedGiftItems = 1_000

// Service sells, sends gifts, runs events and charges per use.
type Service struct {
	store  *db.Store
	ledger *ledger.Ledger
	// accounts finds the users whose wallets pay.
	accounts *account.Service
	now      func() time.Time
	log      *slog.Logger
	// giftItems remembers gift items by code. Several instances run over
	// one database, and the catalog may be repriced or retired: an
	// instance's remembered item is stale until its next use, which
	// insertGift refuses (nothing is charged) and which forgets it.
	giftItems *cache.Bounded[string, GiftItem]
	// limits holds every spend of a protected person against their caps.
	limits *limits.Service
}

// Options configures a Service; zero fields take the defaults.
type Options struct {
	// Ledger posts every movement of money (nil: ledger.New(store)).
	Ledger *ledger.Ledger
	// Accounts finds users by name and id (nil: an account service over
	// the same store with the defaults, Now and Ledger).
	Accounts *account.Service
	Now      func() time.Time
	Logger   *slog.Logger // nil: slog.Default()
	// Limits enforces the caps people set and minors' mode (nil:
	// limits.New over the same store with Now and the defaults).
	Limits *limits.Service
}

// NewService builds a Service over a store and names the queries its
// transactions run to the store, to be prepared before the first one.
func NewService(store *db.Store, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Ledger == nil {
		o.Ledger = ledger.New(store)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Accounts == nil {
		o.Accounts = account.NewService(store, account.Options{Now: o.Now, Logger: o.Logger, Ledger: o.Ledger})
	}
	if o.Limits == nil {
		o.Limits = limits.New(store, limits.Config{Now: o.Now})
	}
	store.PrepareForTx(insertGiftSQL)
	return &Service{store: store, ledger: o.Ledger, accounts: o.Accounts, now: o.Now, log: o.Logger,
		giftItems: cache.New[string, GiftItem](maxCachedGiftItems), limits: o.Limits}
}

// Limits is the protection this service enforces, for the pages that
// show and change it.
func (s *Service) Limits() *limits.Service { return s.limits }
