package recharge

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/payment"
	"im2pay/problem"
	"im2pay/wallet"
)

// Limit is the per-order range one method accepts.
type Limit struct {
	Min wallet.Money `json:"min"`
	Max wallet.Money `json:"max"`
}

// BonusTier pays BasisPoints/10000 of the amount as bonus from Min upwards.
type BonusTier struct {
	Min         wallet.Money `json:"min"`
	BasisPoints int64        `json:"basis_points"`
}

// Rules are the configurable limits and promotions. All but Lifetime are
// versioned in the database (rules.go); Lifetime, how long an order can
// be paid, is the service's own and not a promotion.
type Rules struct {
	Presets    []wallet.Money           `json:"presets"`
	Limits     map[payment.Method]Limit `json:"limits"`
	DailyMax   wallet.Money             `json:"daily_max"`
	Tiers      []BonusTier              `json:"tiers"`       // ascending by Min; the highest reached applies
	FirstBonus wallet.Money             `json:"first_bonus"` // added to a person's first paid top-up
	Lifetime   time.Duration            `json:"-"`
}

// DefaultRules are the launch settings.
func DefaultRules() Rules {
	return Rules{
		Presets: []wallet.Money{6_00, 30_00, 68_00, 128_00, 328_00, 648_00},
		Limits: map[payment.Method]Limit{
			payment.Alipay: {1_00, 50_000_00}, payment.WeChat: {1_00, 20_000_00},
			payment.Card: {10_00, 50_000_00}, payment.PayPal: {5_00, 10_000_00},
		},
		DailyMax:   100_000_00,
		Tiers:      []BonusTier{{68_00, 500}, {328_00, 1000}},
		FirstBonus: 6_00,
		Lifetime:   30 * time.Minute,
	}
}

// Quote is what a top-up of Amount by Method gives.
type Quote struct {
	Method     payment.Method
	Amount     wallet.Money
	TierBonus  wallet.Money
	FirstBonus wallet.Money
	// Pay is what the person pays the provider when it collects in another
	// currency (PayPal outside China), nil when they pay Amount in CNY.
	Pay *payment.Price
	// RulesVersion is the rule version the quote was priced under; the
	// confirm form carries it so the order keeps these terms.
	RulesVersion int64
}

// Bonus is the whole bonus.
func (q Quote) Bonus() wallet.Money { return q.TierBonus + q.FirstBonus }

// Total is what lands in the wallet.
func (q Quote) Total() wallet.Money { return q.Amount + q.Bonus() }

// ParseMethod reads a method name from a form.
func ParseMethod(s string) (payment.Method, error) {
	if m := payment.Method(s); slices.Contains(payment.Methods, m) {
		return m, nil
	}
	return "", problem.New("method", "recharge.method_err")
}

// Quote checks a top-up against the rules in force and prices its bonus:
// method, maintenance, the method's per-order limits and the daily limit.
// The recharge page previews it; CreateOrder enforces it again.
func (s *Service) Quote(ctx context.Context, userID int64, method, amount string) (Quote, error) {
	rv, err := s.CurrentRules(ctx)
	if err != nil {
		return Quote{}, err
	}
	return s.quoteUnder(ctx, rv, userID, method, amount)
}

// quoteUnder is Quote under one rule version.
func (s *Service) quoteUnder(ctx context.Context, rv RuleVersion, userID int64, method, amount string) (Quote, error) {
	m, err := ParseMethod(method)
	if err != nil {
		return Quote{}, err
	}
	amt, err := wallet.ParseMoney(amount)
	if err != nil {
		return Quote{Method: m}, err
	}
	if err := s.checkMaintenance(ctx, m); err != nil {
		return Quote{Method: m, Amount: amt}, err
	}
	if err := s.checkLimits(ctx, s.store.DB(), rv.Rules, userID, m, amt); err != nil {
		return Quote{Method: m, Amount: amt}, err
	}
	first, err := hasPaidOrder(ctx, s.store.DB(), userID, 0)
	if err != nil {
		return Quote{}, err
	}
	q := Preview(rv.Rules, amt, m, !first)
	q.RulesVersion = rv.ID
	if q.Pay, err = s.foreignPrice(m, amt); err != nil {
		return Quote{}, err
	}
	return q, nil
}

// foreignPrice is what the provider of m charges for amt when it collects
// in a currency of its own (payment.Converter), nil when it takes CNY.
func (s *Service) foreignPrice(m payment.Method, amt wallet.Money) (*payment.Price, error) {
	c, ok := s.providers[m].(payment.Converter)
	if !ok {
		return nil, nil
	}
	p, err := c.Convert(int64(amt))
	if err != nil {
		return nil, fmt.Errorf("price %s in the %s currency: %w", amt, m, err)
	}
	if !p.Foreign() {
		return nil, nil
	}
	return &p, nil
}

// Preview is what a person would be shown for a top-up of amt by m under
// r (first: they have no paid top-up yet), without the limits, maintenance
// or a foreign price: the console's preview, and the pricing of Quote.
func Preview(r Rules, amt wallet.Money, m payment.Method, first bool) Quote {
	q := Quote{Method: m, Amount: amt}
	for _, t := range r.Tiers {
		if amt >= t.Min {
			q.TierBonus = wallet.Money(int64(amt) * t.BasisPoints / 10_000)
		}
	}
	if first {
		q.FirstBonus = r.FirstBonus
	}
	return q
}

func (s *Service) checkLimits(ctx context.Context, q sqlx.QueryerContext, r Rules, userID int64, m payment.Method, amt wallet.Money) error {
	lim := r.Limits[m]
	switch {
	case amt < lim.Min:
		return problem.New("amount", "recharge.too_low", lim.Min.String(), (lim.Min - amt).String())
	case amt > lim.Max:
		return problem.New("amount", "recharge.too_high", lim.Max.String(), (amt - lim.Max).String())
	}
	now := s.now()
	y, mo, d := now.In(s.loc).Date()
	since := time.Date(y, mo, d, 0, 0, 0, 0, s.loc)
	used, err := rechargedSince(ctx, q, userID, since, now)
	if err != nil {
		return err
	}
	if left := r.DailyMax - wallet.Money(used); amt > left {
		return problem.New("amount", "recharge.daily", r.DailyMax.String(), max(left, 0).String())
	}
	// The person's own caps and minors' mode (CreateOrder calls this under
	// the person's order lock, so two tabs cannot both fit under them).
	return s.limits.TopUp(ctx, q, userID, amt)
}

// NewOrder is a confirmed top-up.
type NewOrder struct {
	UserID     int64
	Method     string
	Amount     string
	Device     payment.Device
	RequestKey string // from the form: a double click or a refresh finds the same order
	ReturnTo   string // a local path to offer after success
	// RulesVersion is the version the confirmed quote was priced under
	// (0: the rules in force now). See rulesFor for when it is honoured.
	RulesVersion int64
}

// CreateOrder checks the rules again, under the version the person was
// quoted (while rulesFor honours it), and creates a pending order that
// records that version. The same request key returns the order it created
// first, whatever was sent. A quote whose terms are no longer honoured is
// refused with recharge.terms_changed (ErrTermsChanged), so the person
// sees the new terms before paying.
func (s *Service) CreateOrder(ctx context.Context, n NewOrder) (Order, error) {
	if len(n.RequestKey) < 16 || len(n.RequestKey) > 64 {
		return Order{}, problem.New("", "recharge.stale_form")
	}
	rv, err := s.rulesFor(ctx, n.RulesVersion)
	if errors.Is(err, ErrTermsChanged) {
		// A double click after the terms changed still finds its order.
		if o, found, ferr := s.orderByRequestKey(ctx, n.UserID, n.RequestKey); ferr != nil || found {
			return o, ferr
		}
	}
	if err != nil {
		return Order{}, err
	}
	q, err := s.quoteUnder(ctx, rv, n.UserID, n.Method, n.Amount)
	if err != nil {
		return Order{}, err
	}
	var out Order
	var created bool
	err = s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockUserOrders(ctx, tx, n.UserID); err != nil {
			return err
		}
		if err := s.checkLimits(ctx, tx, rv.Rules, n.UserID, q.Method, q.Amount); err != nil {
			return err
		}
		now := s.now()
		no, err := newOutTradeNo(now)
		if err != nil {
			return err
		}
		o := Order{
			OutTradeNo: no, UserID: n.UserID, RequestKey: n.RequestKey, Method: string(q.Method),
			Device: string(n.Device), Amount: int64(q.Amount), TierBonus: int64(q.TierBonus),
			FirstBonus: int64(q.FirstBonus), Currency: "CNY", ReturnTo: n.ReturnTo,
			CreatedAt: now, ExpiresAt: now.Add(s.rules.Lifetime),
			RulesVersion: sql.NullInt64{Int64: rv.ID, Valid: true},
		}
		if q.Pay != nil {
			// The price shown is the price stored: PayPal is asked for it,
			// and every capture is checked against it.
			o.PayCurrency, o.PayAmount, o.PayRate = q.Pay.Currency, q.Pay.Amount, q.Pay.Rate.String()
		}
		out, created, err = InsertOrder(ctx, tx, o)
		return err
	})
	if err != nil {
		return Order{}, fmt.Errorf("create order: %w", err)
	}
	if created {
		s.metrics.TopUp(out.Method, "created")
	}
	return out, nil
}

// newOutTradeNo is a time prefix (readable in support calls) and 40 random
// bits, inside the [0-9A-Za-z]{16,32} every provider accepts.
func newOutTradeNo(now time.Time) (string, error) {
	const alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("order number: %w", err)
	}
	suffix := make([]byte, len(b))
	for i, c := range b {
		suffix[i] = alphabet[int(c)%len(alphabet)]
	}
	return now.UTC().Format("20060102150405") + string(suffix), nil
}

// ErrMismatch means a provider's paid answer disagrees with our order
// (amount, currency or method): it is stored and nothing is credited.
var ErrMismatch = errors.New("recharge: payment does not match the order")

// RoundUpToPreset is the smallest preset tier in force that covers m (m
// itself when no preset does, or when the rules cannot be read: the
// "top up the shortfall" button offers both).
func (s *Service) RoundUpToPreset(ctx context.Context, m wallet.Money) wallet.Money {
	rv, err := s.CurrentRules(ctx)
	if err != nil {
		s.log.Warn("round up to a preset", "err", err)
		return m
	}
	for _, p := range rv.Rules.Presets {
		if p >= m {
			return p
		}
	}
	return m
}
