// Package limits is the spending protection a person sets for themselves:
// daily and monthly caps on spending and on top-ups, and minors' mode
// (青少年模式), which caps top-ups, turns gifts to others off and can only
// be turned off with a guardian PIN.
//
// Days and months are Beijing's (Config.Location), decided by the app's
// one clock (Config.Now). A person who never set anything has no
// protection row and costs nothing: their spends post in one query as
// before (UnprotectedGate). A protected person's spends take a
// transaction that locks the protection row first (HoldSpend), so the
// check and the debit of concurrent spends are decided one after another
// and together never pass a cap. Top-ups are checked inside the recharge
// package's per-person order lock (TopUp).
//
// Spending recorded while a person is unprotected is not counted: the caps
// count from the moment the first one is set.
package limits

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/db"
	"im2pay/problem"
	"im2pay/wallet"
)

// Cap names one of the four caps a person may set.
type Cap string

// The caps; each is also the catalog key "limit.<cap>" of its refusal and
// "protect.cap.<cap>" of its label.
const (
	SpendDay   Cap = "spend_day"
	SpendMonth Cap = "spend_month"
	TopUpDay   Cap = "topup_day"
	TopUpMonth Cap = "topup_month"
)

// Caps lists the caps in the order the settings page shows them.
var Caps = []Cap{SpendDay, SpendMonth, TopUpDay, TopUpMonth}

// RaiseDelay is how long a raised (or removed) cap waits before it takes
// effect: a cooling-off, as gambling-harm guidance recommends, so a
// moment's impulse cannot undo the limit a calmer self chose. A lowered
// cap takes effect at once.
const RaiseDelay = 24 * time.Hour

// Minors' mode defaults: the caps China's rules for minors' online
// spending use for the youngest group (¥50 a payment, ¥200 a month).
const (
	DefaultMinorsTopUpEach  wallet.Money = 50_00
	DefaultMinorsTopUpMonth wallet.Money = 200_00
)

// PIN guessing: after MaxPINFailures wrong PINs in a row no PIN is tried
// for PINLockout.
const (
	MaxPINFailures = 5
	PINLockout     = 15 * time.Minute
)

// RealNameChecker is where a real-name (实名认证) check would plug in, to
// tell whether an account belongs to a minor. None is wired: the app has
// no identity provider, and a guess would be worse than none, so minors'
// mode is turned on by the person or a guardian. Config.RealName nil
// means exactly that.
type RealNameChecker interface {
	// IsMinor reports whether the verified holder of userID's account is
	// under 18.
	IsMinor(ctx context.Context, userID int64) (bool, error)
}

// Config configures a Service; zero fields take the defaults.
type Config struct {
	Now      func() time.Time
	Location *time.Location // nil: Asia/Shanghai (Beijing)
	// MinorsTopUpEach and MinorsTopUpMonth cap top-ups in minors' mode
	// (0: the defaults above).
	MinorsTopUpEach, MinorsTopUpMonth wallet.Money
	// Hasher hashes guardian PINs (zero: account.DefaultPasswordHasher).
	Hasher account.PasswordHasher
	// RealName is nil: no real-name check is wired (see RealNameChecker).
	RealName RealNameChecker
}

// Service reads and enforces a person's protection.
type Service struct {
	store *db.Store
	cfg   Config
}

// New returns the service over store.
func New(store *db.Store, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Location == nil {
		loc, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			loc = time.FixedZone("CST", 8*3600) // Beijing has no daylight saving
		}
		cfg.Location = loc
	}
	if cfg.MinorsTopUpEach <= 0 {
		cfg.MinorsTopUpEach = DefaultMinorsTopUpEach
	}
	if cfg.MinorsTopUpMonth <= 0 {
		cfg.MinorsTopUpMonth = DefaultMinorsTopUpMonth
	}
	if cfg.Hasher == (account.PasswordHasher{}) {
		cfg.Hasher = account.DefaultPasswordHasher()
	}
	return &Service{store: store, cfg: cfg}
}

// Config is the configuration in force (defaults filled in).
func (s *Service) Config() Config { return s.cfg }

// Refused is a spend or a top-up a cap or minors' mode refuses. It
// unwraps to the Problem the pages show (code "limit.<cap>"); the API
// answers it as limit_reached.
type Refused struct {
	Cap         Cap // or "minors_each", "minors_month", "minors_gifts"
	Limit, Used wallet.Money
	p           *problem.Problem
}

func (r *Refused) Error() string {
	return fmt.Sprintf("limits: %s of %s reached (%s used)", r.Cap, r.Limit, r.Used)
}

// Unwrap is the refusal as the pages show it.
func (r *Refused) Unwrap() error { return r.p }

func refuse(field string, c Cap, limit, used wallet.Money) *Refused {
	left := max(limit-used, 0)
	return &Refused{Cap: c, Limit: limit, Used: used, p: problem.New(field, "limit."+string(c), limit.String(), left.String())}
}

// UnprotectedGate is a ledger.Row gate (see ledger.Row.Gate) that opens
// only when the wallet paying ($8, the posting's payer) belongs to a
// person without protection. A closed gate writes nothing: the caller
// then spends through a transaction with HoldSpend.
const UnprotectedGate = `SELECT 1 WHERE NOT EXISTS (
	SELECT 1 FROM protection p JOIN accounts a ON a.user_id = p.user_id WHERE a.id = $8::bigint)`

// UnprotectedCondition is UnprotectedGate as a condition, to AND into a
// gate of one's own.
const UnprotectedCondition = `NOT EXISTS (
	SELECT 1 FROM protection p JOIN accounts a ON a.user_id = p.user_id WHERE a.id = $8::bigint)`

// day is the Beijing date of t, and month the first day of its month and
// of the next one.
func (s *Service) day(t time.Time) (day, monthStart, nextMonth time.Time) {
	y, m, d := t.In(s.cfg.Location).Date()
	day = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	monthStart = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	return day, monthStart, monthStart.AddDate(0, 1, 0)
}

// capRow is one row of protection_caps.
type capRow struct {
	Cap        Cap           `db:"cap"`
	Amount     int64         `db:"amount"`
	NextAmount sql.NullInt64 `db:"next_amount"`
	NextAt     sql.NullTime  `db:"next_at"`
}

// Setting is one cap as it stands at a moment: Amount in force (0: none)
// and, when a raise waits, Next from NextAt.
type Setting struct {
	Amount  wallet.Money
	Pending bool
	Next    wallet.Money
	NextAt  time.Time
}

// at is the row as it stands at now: a raise whose time has come is in
// force.
func (r capRow) at(now time.Time) Setting {
	st := Setting{Amount: wallet.Money(r.Amount)}
	if r.NextAmount.Valid {
		if !now.Before(r.NextAt.Time) {
			st.Amount = wallet.Money(r.NextAmount.Int64)
		} else {
			st.Pending, st.Next, st.NextAt = true, wallet.Money(r.NextAmount.Int64), r.NextAt.Time
		}
	}
	return st
}

// capsOf reads a person's caps at now through q.
func (s *Service) capsOf(ctx context.Context, q sqlx.QueryerContext, userID int64, now time.Time) (map[Cap]Setting, error) {
	var rows []capRow
	if err := sqlx.SelectContext(ctx, q, &rows, `SELECT cap, amount, next_amount, next_at FROM protection_caps WHERE user_id = $1`, userID); err != nil {
		return nil, fmt.Errorf("caps of user %d: %w", userID, err)
	}
	out := map[Cap]Setting{}
	for _, r := range rows {
		out[r.Cap] = r.at(now)
	}
	return out, nil
}

// Hold is a spend HoldSpend allowed; Record counts it once it is posted.
type Hold struct {
	userID int64
	amount wallet.Money
	day    time.Time
	on     bool // the person is protected: the spend is counted
}

// HoldSpend decides, inside the spend's transaction tx, whether userID may
// spend amount now (gift: to another person). It locks the person's
// protection row, so a concurrent spend waits here until this transaction
// ends and then sees what it counted. An unprotected person passes
// without a lock. Refusals are *Refused. Call Record on the Hold after
// the posting, in the same transaction.
func (s *Service) HoldSpend(ctx context.Context, tx *sqlx.Tx, userID int64, amount wallet.Money, gift bool) (Hold, error) {
	var minors bool
	err := tx.GetContext(ctx, &minors, `SELECT minors FROM protection WHERE user_id = $1 FOR UPDATE`, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return Hold{}, nil
	}
	if err != nil {
		return Hold{}, fmt.Errorf("lock the protection of user %d: %w", userID, err)
	}
	if gift && minors {
		return Hold{}, &Refused{Cap: "minors_gifts", p: problem.New("", "limit.minors_gifts")}
	}
	now := s.cfg.Now()
	caps, err := s.capsOf(ctx, tx, userID, now)
	if err != nil {
		return Hold{}, err
	}
	day, month, next := s.day(now)
	// A statement after the lock: it sees every spend committed by the
	// transactions that held the lock before this one.
	var used struct {
		Day   int64 `db:"day"`
		Month int64 `db:"month"`
	}
	const q = `SELECT coalesce(sum(amount) FILTER (WHERE day = $2), 0) AS day, coalesce(sum(amount), 0) AS month
		FROM spend_usage WHERE user_id = $1 AND day >= $3 AND day < $4`
	if err := tx.GetContext(ctx, &used, q, userID, day, month, next); err != nil {
		return Hold{}, fmt.Errorf("spending of user %d: %w", userID, err)
	}
	if c := caps[SpendDay].Amount; c > 0 && wallet.Money(used.Day)+amount > c {
		return Hold{}, refuse("", SpendDay, c, wallet.Money(used.Day))
	}
	if c := caps[SpendMonth].Amount; c > 0 && wallet.Money(used.Month)+amount > c {
		return Hold{}, refuse("", SpendMonth, c, wallet.Money(used.Month))
	}
	return Hold{userID: userID, amount: amount, day: day, on: true}, nil
}

// Record counts the held spend, inside the transaction that posted it.
func (h Hold) Record(ctx context.Context, tx *sqlx.Tx) error {
	if !h.on {
		return nil
	}
	const q = `INSERT INTO spend_usage (user_id, day, amount) VALUES ($1, $2, $3)
		ON CONFLICT (user_id, day) DO UPDATE SET amount = spend_usage.amount + EXCLUDED.amount`
	if _, err := tx.ExecContext(ctx, q, h.userID, h.day, int64(h.amount)); err != nil {
		return fmt.Errorf("count the spending of user %d: %w", h.userID, err)
	}
	return nil
}

// TopUp checks a top-up of amount by userID against their caps and
// minors' mode, through q. Recharge calls it where it checks its own
// daily limit, inside the per-person order lock when creating an order,
// so two tabs cannot both fit under a cap. A top-up counts from its order's
// creation (the app's clock) while it is paid or may still be; the field
// of a refusal is "amount".
func (s *Service) TopUp(ctx context.Context, q sqlx.QueryerContext, userID int64, amount wallet.Money) error {
	bounds, err := s.topUpBounds(ctx, q, userID)
	if err != nil {
		return err
	}
	for _, b := range bounds {
		if b.used+amount > b.limit {
			return refuse("amount", b.cap, b.limit, b.used)
		}
	}
	return nil
}

// TopUpRoom is the largest top-up userID's own caps and minors' mode admit
// now, and whether any of them applies (false: only the site's rules
// bound a top-up). The recharge page shows it before it matters; TopUp
// decides.
func (s *Service) TopUpRoom(ctx context.Context, q sqlx.QueryerContext, userID int64) (room wallet.Money, bounded bool, err error) {
	bounds, err := s.topUpBounds(ctx, q, userID)
	if err != nil || len(bounds) == 0 {
		return 0, false, err
	}
	room = bounds[0].limit - bounds[0].used
	for _, b := range bounds[1:] {
		room = min(room, b.limit-b.used)
	}
	return max(room, 0), true, nil
}

// bound is one limit on top-ups: limit, of which used is taken.
type bound struct {
	cap         Cap
	limit, used wallet.Money
}

// topUpBounds lists the limits userID's protection puts on a top-up now:
// minors' each and month, and the person's day and month caps.
func (s *Service) topUpBounds(ctx context.Context, q sqlx.QueryerContext, userID int64) ([]bound, error) {
	var minors bool
	err := sqlx.GetContext(ctx, q, &minors, `SELECT minors FROM protection WHERE user_id = $1`, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("protection of user %d: %w", userID, err)
	}
	now := s.cfg.Now()
	caps, err := s.capsOf(ctx, q, userID, now)
	if err != nil {
		return nil, err
	}
	dayUsed, monthUsed, err := s.toppedUp(ctx, q, userID, now)
	if err != nil {
		return nil, err
	}
	var out []bound
	if minors {
		out = append(out, bound{"minors_each", s.cfg.MinorsTopUpEach, 0}, bound{"minors_month", s.cfg.MinorsTopUpMonth, monthUsed})
	}
	if c := caps[TopUpDay].Amount; c > 0 {
		out = append(out, bound{TopUpDay, c, dayUsed})
	}
	if c := caps[TopUpMonth].Amount; c > 0 {
		out = append(out, bound{TopUpMonth, c, monthUsed})
	}
	return out, nil
}

// toppedUp sums userID's top-ups of today and of this month: orders paid,
// or still payable, created since the day's (month's) start by the
// app's clock.
func (s *Service) toppedUp(ctx context.Context, q sqlx.QueryerContext, userID int64, now time.Time) (day, month wallet.Money, err error) {
	y, m, d := now.In(s.cfg.Location).Date()
	dayStart := time.Date(y, m, d, 0, 0, 0, 0, s.cfg.Location)
	monthStart := time.Date(y, m, 1, 0, 0, 0, 0, s.cfg.Location)
	const sum = `SELECT coalesce(sum(amount) FILTER (WHERE created_at >= $2), 0) AS day, coalesce(sum(amount), 0) AS month
		FROM recharge_orders
		WHERE user_id = $1 AND created_at >= $3
		  AND (state = 'paid' OR (state IN ('awaiting', 'processing') AND expires_at > $4))`
	var used struct {
		Day   int64 `db:"day"`
		Month int64 `db:"month"`
	}
	if err := sqlx.GetContext(ctx, q, &used, sum, userID, dayStart, monthStart, now); err != nil {
		return 0, 0, fmt.Errorf("top-ups of user %d: %w", userID, err)
	}
	return wallet.Money(used.Day), wallet.Money(used.Month), nil
}

// GiftsOff refuses a gift to another person while userID is in minors'
// mode, before anything is asked or moved; HoldSpend decides it again
// under the lock.
func (s *Service) GiftsOff(ctx context.Context, userID int64) error {
	on, err := s.Minors(ctx, userID)
	if err != nil || !on {
		return err
	}
	return &Refused{Cap: "minors_gifts", p: problem.New("", "limit.minors_gifts")}
}
