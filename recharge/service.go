// Package recharge is topping a wallet up: the rules and quotes, the orders
// and their states, the provider flows (pay, check, return, cancel), the
// one crediting function (Settle) that every notification, return, check
// and reconciler pass goes through, the reconciler itself and the
// maintenance switches. It keeps its own SQL (recharge_orders,
// payment_events, callback_refusals, maintenance) over the db package's
// store, and moves money only through the ledger.
package recharge

import (
	"context"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
	"im2pay/ledger"
	"im2pay/limits"
	"im2pay/metrics"
	"im2pay/payment"
)

// Service quotes, creates, follows and credits top-ups.
type Service struct {
	store  *db.Store
	ledger *ledger.Ledger
	now    func() time.Time

	rules     Rules      // Lifetime only: the rest is versioned (rules.go)
	ruleCache rulesCache // the version in force, briefly
	loc       *time.Location
	providers map[payment.Method]payment.Provider
	baseURL   string // our public origin, for return and notify URLs
	// reconcileAfter is the age at which Reconcile asks about a pending order.
	reconcileAfter time.Duration
	// notifying runs identical notifications arriving together once.
	notifying inflight
	log       *slog.Logger
	metrics   *metrics.Metrics // nil: nothing counted
	// refundNotified and debts are package refund's hooks (see Options).
	refundNotified func(ctx context.Context, method payment.Method, n payment.Notification) error
	debts          DebtRepayer
	// limits holds each top-up against the person's own caps and
	// minors' mode.
	limits *limits.Service
}

// Options configures a Service; zero fields take the defaults.
type Options struct {
	Now       func() time.Time
	Rules     *Rules         // its Lifetime (nil: DefaultRules'); the rest comes from the versions in the database
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
	// Ledger posts every top-up (nil: ledger.New(store)).
	Ledger *ledger.Ledger
	// RefundNotified books a verified notification about a refund
	// (Notification.Refund set), after Notify recorded it; an error makes
	// the provider send it again (ErrUnknownOrder excepted). nil: refund
	// notifications are recorded and acknowledged only. Package refund's
	// Service.Notified; a hook, so that recharge does not import refund.
	RefundNotified func(ctx context.Context, method payment.Method, n payment.Notification) error
	// Debts is repaid first from every top-up (package refund's Service);
	// nil: nobody owes anything.
	Debts DebtRepayer
	// Limits checks each top-up against the caps the person set and
	// minors' mode (nil: limits.New over the same store with Now and the
	// defaults).
	Limits *limits.Service
}

// DebtRepayer is what a person owes after a refund made outside the app
// that their wallet could not cover. The next top-up repays it first, in
// the transaction that credits it.
type DebtRepayer interface {
	// Owes says whether the person owes anything (read through q).
	Owes(ctx context.Context, q sqlx.QueryerContext, userID int64) (bool, error)
	// Repay pays the debt from the wallet, up to what it holds, inside tx
	// after the top-up's postings (which hold the wallet's lock).
	Repay(ctx context.Context, tx *sqlx.Tx, userID, walletID int64, orderNo string) error
}

// NewService builds a Service over a store. The order's paid gate is one
// of the store's hot queries in transactions, prepared once per
// connection before the first transaction runs.
func NewService(store *db.Store, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Ledger == nil {
		o.Ledger = ledger.New(store)
	}
	rules := DefaultRules()
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
	if o.Limits == nil {
		o.Limits = limits.New(store, limits.Config{Now: o.Now})
	}
	store.PrepareForTx(markPaidSQL)
	return &Service{store: store, ledger: o.Ledger, now: o.Now,
		rules: rules, loc: o.Location, providers: o.Providers, baseURL: o.BaseURL,
		reconcileAfter: o.ReconcileAfter, log: o.Logger, metrics: o.Metrics,
		refundNotified: o.RefundNotified, debts: o.Debts, limits: o.Limits}
}
