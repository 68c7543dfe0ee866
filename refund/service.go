package refund

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
	"im2pay/ledger"
	"im2pay/payment"
)

// Options configure the service.
type Options struct {
	Ledger    *ledger.Ledger // nil: ledger.New(store)
	Providers map[payment.Method]payment.Provider
	BaseURL   string           // our public origin, for the providers that notify a refund's outcome
	Now       func() time.Time // the app's clock; nil: time.Now
	// ApprovalAbove: a staff refund of more than this waits for a second
	// staff member (OPS_APPROVAL_ABOVE); 0: ¥500.00.
	ApprovalAbove int64
	// CheckAfter is how long an in-flight refund waits before Pass asks
	// its provider (0: DefaultCheckAfter).
	CheckAfter time.Duration
	Logger     *slog.Logger
}

// DefaultCheckAfter is the pause before asking about a refund sent: Alipay
// asks for at least 10 s (PROVIDERS.md §1.4); the others answer by
// notification within minutes.
const DefaultCheckAfter = time.Minute

// lease is how long a sender or a pass owns an in-flight refund before
// another may take it (a crash in between leaves it to the next pass).
const lease = 2 * time.Minute

// Service asks, approves, sends and completes refunds.
type Service struct {
	store      *db.Store
	ledger     *ledger.Ledger
	providers  map[payment.Method]payment.Provider
	baseURL    string
	now        func() time.Time
	above      int64
	checkAfter time.Duration
	log        *slog.Logger
}

// NewService returns the refunds over store.
func NewService(store *db.Store, o Options) *Service {
	if o.Ledger == nil {
		o.Ledger = ledger.New(store)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ApprovalAbove <= 0 {
		o.ApprovalAbove = 500_00
	}
	if o.CheckAfter <= 0 {
		o.CheckAfter = DefaultCheckAfter
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Service{store: store, ledger: o.Ledger, providers: o.Providers, baseURL: o.BaseURL, now: o.Now,
		above: o.ApprovalAbove, checkAfter: o.CheckAfter, log: o.Logger}
}

// ApprovalAbove is the amount above which a staff refund waits for approval.
func (s *Service) ApprovalAbove() int64 { return s.above }

// order is what a refund needs of a recharge order.
type order struct {
	ID          int64          `db:"id"`
	OutTradeNo  string         `db:"out_trade_no"`
	UserID      int64          `db:"user_id"`
	Method      string         `db:"method"`
	Amount      int64          `db:"amount"`
	Bonus       int64          `db:"bonus"`
	State       string         `db:"state"`
	TradeNo     sql.NullString `db:"provider_trade_no"`
	ProviderRef string         `db:"provider_ref"`
	PayAmount   int64          `db:"pay_amount"`
	PayCurrency string         `db:"pay_currency"`
	PaidAt      sql.NullTime   `db:"paid_at"`
	// What earlier refunds (in flight or done) took of it.
	Refunded int64 `db:"refunded"`
	Clawed   int64 `db:"clawed"`
}

// loadOrder reads an order and what was refunded of it, locking the order
// row when lock is set: every refund of an order is decided under that
// lock, so two at once cannot together exceed the order.
func loadOrder(ctx context.Context, q sqlx.QueryerContext, no string, lock bool) (order, error) {
	query := `
		SELECT o.id, o.out_trade_no, o.user_id, o.method, o.amount, o.tier_bonus + o.first_bonus AS bonus,
		       o.state::text AS state, o.provider_trade_no, o.provider_ref, o.pay_amount, o.pay_currency, o.paid_at,
		       coalesce((SELECT sum(r.amount) FROM refunds r WHERE r.order_id = o.id AND r.state IN ('in_flight', 'succeeded')), 0) AS refunded,
		       coalesce((SELECT sum(r.clawback) FROM refunds r WHERE r.order_id = o.id AND r.state IN ('in_flight', 'succeeded')), 0) AS clawed
		  FROM recharge_orders o WHERE o.out_trade_no = $1`
	if lock {
		query += ` FOR UPDATE OF o`
	}
	var o order
	if err := sqlx.GetContext(ctx, q, &o, query, no); err != nil {
		return o, db.NotFound(err, "order %s", no)
	}
	return o, nil
}

// quote prices a refund of amount of o, against the wallet's balance.
func quote(o order, amount, balance int64) (Quote, error) {
	q := Quote{OutTradeNo: o.OutTradeNo, Amount: amount, Refundable: o.Amount - o.Refunded, Balance: balance}
	switch {
	case o.State != "paid":
		return q, fmt.Errorf("order %s is %s: %w", o.OutTradeNo, o.State, ErrNotPaid)
	case amount <= 0 || amount > q.Refundable:
		return q, fmt.Errorf("order %s: refund %d of %d left: %w", o.OutTradeNo, amount, q.Refundable, ErrTooMuch)
	}
	q.Clawback = Clawback(o.Bonus, o.Amount, o.Refunded, o.Clawed, amount)
	return q, nil
}

// Preview is what a refund of amount of order no would move, for the form
// before anyone confirms. A refund the wallet cannot cover comes back
// with a *Shortfall beside the quote.
func (s *Service) Preview(ctx context.Context, no string, amount int64) (Quote, error) {
	o, err := loadOrder(ctx, s.store.DB(), no, false)
	if err != nil {
		return Quote{}, err
	}
	walletID, err := s.ledger.WalletOf(ctx, s.store.DB(), o.UserID)
	if err != nil {
		return Quote{}, err
	}
	balance, err := s.ledger.Balance(ctx, walletID)
	if err != nil {
		return Quote{}, err
	}
	q, err := quote(o, amount, balance)
	if err == nil && balance < q.Total() {
		err = &Shortfall{Amount: q.Amount, Clawback: q.Clawback, Balance: balance}
	}
	return q, err
}

// refunder is the provider of method that can refund.
func (s *Service) refunder(method string) (payment.Refunder, error) {
	p, ok := s.providers[payment.Method(method)]
	if !ok {
		return nil, fmt.Errorf("%s: %w", method, ErrNoRefunder)
	}
	r, ok := p.(payment.Refunder)
	if !ok {
		return nil, fmt.Errorf("%s: %w", method, ErrNoRefunder)
	}
	return r, nil
}

// Get returns one refund.
func (s *Service) Get(ctx context.Context, id int64) (Refund, error) {
	return load(ctx, s.store.DB(), id, false)
}

// load reads refund id through q, locking its row when lock is set.
func load(ctx context.Context, q sqlx.QueryerContext, id int64, lock bool) (Refund, error) {
	query := `SELECT ` + columns + ` FROM refunds WHERE id = $1`
	if lock {
		query += ` FOR UPDATE`
	}
	var r Refund
	if err := sqlx.GetContext(ctx, q, &r, query, id); err != nil {
		return r, db.NotFound(err, "refund %d", id)
	}
	return r, nil
}

// OfOrder lists an order's refunds, newest first.
func (s *Service) OfOrder(ctx context.Context, no string) ([]Refund, error) {
	var out []Refund
	q := `SELECT ` + columns + ` FROM refunds WHERE out_trade_no = $1 ORDER BY id DESC`
	if err := s.store.DB().SelectContext(ctx, &out, q, no); err != nil {
		return nil, fmt.Errorf("refunds of order %s: %w", no, err)
	}
	return out, nil
}

// OfUser lists a person's refunds, newest first (我的充值).
func (s *Service) OfUser(ctx context.Context, userID int64, limit int) ([]Refund, error) {
	var out []Refund
	q := `SELECT ` + columns + ` FROM refunds WHERE user_id = $1 ORDER BY id DESC LIMIT $2`
	if err := s.store.DB().SelectContext(ctx, &out, q, userID, limit); err != nil {
		return nil, fmt.Errorf("refunds of user %d: %w", userID, err)
	}
	return out, nil
}

// Pending lists the refunds waiting for approval, oldest first.
func (s *Service) Pending(ctx context.Context, limit int) ([]Refund, error) {
	var out []Refund
	q := `SELECT ` + columns + ` FROM refunds WHERE state = 'requested' ORDER BY id LIMIT $1`
	if err := s.store.DB().SelectContext(ctx, &out, q, limit); err != nil {
		return nil, fmt.Errorf("pending refunds: %w", err)
	}
	return out, nil
}

// mapOpen turns the one-open-refund index's refusal into ErrOpen.
func mapOpen(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(db.MapError(err), db.ErrDuplicate) {
		return fmt.Errorf("%w: %w", ErrOpen, err)
	}
	return err
}
