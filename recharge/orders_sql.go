package recharge

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"im2pay/db"
)

// Order is a recharge order.
type Order struct {
	ID              int64          `db:"id"`
	OutTradeNo      string         `db:"out_trade_no"`
	UserID          int64          `db:"user_id"`
	RequestKey      string         `db:"request_key"`
	Method          string         `db:"method"`
	Device          string         `db:"device"`
	Amount          int64          `db:"amount"`
	TierBonus       int64          `db:"tier_bonus"`
	FirstBonus      int64          `db:"first_bonus"`
	Currency        string         `db:"currency"`
	State           string         `db:"state"`
	FailReason      string         `db:"fail_reason"`
	ProviderTradeNo sql.NullString `db:"provider_trade_no"`
	ProviderRef     string         `db:"provider_ref"`
	NextURL         string         `db:"next_url"`
	NextQR          string         `db:"next_qr"`
	NextForm        []byte         `db:"next_form"`
	ReturnTo        string         `db:"return_to"`
	CreatedAt       time.Time      `db:"created_at"`
	ExpiresAt       time.Time      `db:"expires_at"`
	PaidAt          sql.NullTime   `db:"paid_at"`
	CheckedAt       sql.NullTime   `db:"checked_at"`
	UpdatedAt       time.Time      `db:"updated_at"`
	// PayCurrency, PayAmount (minor units) and PayRate (CNY per unit, a
	// decimal string) are the price the person pays the provider: Currency
	// and Amount at rate 1, unless the provider collects in a currency of
	// its own (PayPal). Providers are checked against these.
	PayCurrency string `db:"pay_currency"`
	PayAmount   int64  `db:"pay_amount"`
	PayRate     string `db:"pay_rate"`
	// RulesVersion is the rule version the order was quoted under (null
	// for orders from before versions existed).
	RulesVersion sql.NullInt64 `db:"rules_version"`
}

// Order states, as in the order_state enum. Which moves are allowed is the
// state machine in orderstate.go; the database refuses the
// others (migration 0011's trigger).
const (
	OrderAwaiting   = "awaiting"   // 待支付: created, not paid
	OrderProcessing = "processing" // 处理中: said paid, not credited yet
	OrderPaid       = "paid"       // 充值成功
	OrderFailed     = "failed"     // 充值失败, with a reason
	OrderCancelled  = "cancelled"  // 已取消: the person cancelled
	OrderClosed     = "closed"     // 已关闭: expired
)

// OpenStates are the states an order can still be paid in, and is asked
// about by the reconciler in.
var OpenStates = []string{OrderAwaiting, OrderProcessing}

const orderColumns = `id, out_trade_no, user_id, request_key, method, device, amount, tier_bonus, first_bonus,
	currency, state, fail_reason, provider_trade_no, provider_ref, next_url, next_qr, next_form, return_to,
	created_at, expires_at, paid_at, checked_at, updated_at,
	pay_currency, pay_amount, pay_rate, rules_version`

// lockUserOrders makes one person's orders be created one at a time inside
// tx, so two tabs cannot both fit under a daily limit. Its own lock class
// keeps it apart from the throttles' locks.
func lockUserOrders(ctx context.Context, tx *sqlx.Tx, userID int64) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashint8($2))`, db.LockClassOrders, userID); err != nil {
		return fmt.Errorf("lock the orders of user %d: %w", userID, err)
	}
	return nil
}

// InsertOrder inserts o inside tx, or returns the order the same user
// already created with the same request key (created is then false). An
// order with no price of its own is paid in its own currency at rate 1.
// CreatedAt and ExpiresAt are the caller's clock, the one that decides the
// daily limit's day and the order's expiry: stamped by the database's
// now(), an order would fall outside the day its app counts whenever the
// two clocks disagree.
func InsertOrder(ctx context.Context, tx *sqlx.Tx, o Order) (Order, bool, error) {
	if o.PayCurrency == "" {
		o.PayCurrency, o.PayAmount, o.PayRate = o.Currency, o.Amount, "1"
	}
	const q = `
		INSERT INTO recharge_orders (out_trade_no, user_id, request_key, method, device, amount, tier_bonus,
		                             first_bonus, currency, return_to, expires_at, pay_currency, pay_amount, pay_rate,
		                             created_at, rules_version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (user_id, request_key) DO NOTHING
		RETURNING ` + orderColumns
	var out Order
	err := tx.GetContext(ctx, &out, q, o.OutTradeNo, o.UserID, o.RequestKey, o.Method, o.Device, o.Amount,
		o.TierBonus, o.FirstBonus, o.Currency, o.ReturnTo, o.ExpiresAt, o.PayCurrency, o.PayAmount, o.PayRate, o.CreatedAt, o.RulesVersion)
	if errors.Is(err, sql.ErrNoRows) {
		const existing = `SELECT ` + orderColumns + ` FROM recharge_orders WHERE user_id = $1 AND request_key = $2`
		err = tx.GetContext(ctx, &out, existing, o.UserID, o.RequestKey)
		return out, false, db.NotFound(err, "order by request key")
	}
	if err != nil {
		return Order{}, false, db.MapError(fmt.Errorf("create order: %w", err))
	}
	return out, true, nil
}

// OrderByNo loads an order by our order number, for the provider return
// path, which must work before we know who the person is; it reveals
// nothing itself.
func (s *Service) OrderByNo(ctx context.Context, outTradeNo string) (Order, error) {
	var o Order
	if !validTradeNo(outTradeNo) {
		return o, db.NotFound(sql.ErrNoRows, "order %q", outTradeNo)
	}
	err := s.store.DB().GetContext(ctx, &o, `SELECT `+orderColumns+` FROM recharge_orders WHERE out_trade_no = $1`, outTradeNo)
	return o, db.NotFound(err, "order %q", outTradeNo)
}

// validTradeNo is the out_trade_no CHECK: anything else names no order. It
// must not reach PostgreSQL either, which answers a NUL byte or invalid
// UTF-8 in a text parameter with an error (a 500) instead of no rows.
func validTradeNo(s string) bool {
	if len(s) < 16 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// ordersOfUser lists a user's orders, newest first, before a cursor id (0 = newest).
func (s *Service) ordersOfUser(ctx context.Context, userID, beforeID int64, limit int) ([]Order, error) {
	const q = `SELECT ` + orderColumns + ` FROM recharge_orders
		WHERE user_id = $1 AND ($2::bigint = 0 OR id < $2::bigint) ORDER BY id DESC LIMIT $3`
	var out []Order
	if err := s.store.SelectCustom(ctx, s.store.DB(), &out, q, userID, beforeID, limit); err != nil {
		return nil, fmt.Errorf("orders of user %d: %w", userID, err)
	}
	return out, nil
}

// SetOrderNext remembers where the person was sent for an order.
func (s *Service) SetOrderNext(ctx context.Context, id int64, url, qr string, form []byte, ref string) error {
	const q = `UPDATE recharge_orders SET next_url = $2, next_qr = $3, next_form = $4, provider_ref = $5, updated_at = now()
		WHERE id = $1`
	// jsonb goes as text: with binary_parameters a []byte would be sent
	// in binary format, which jsonb reads differently.
	var formText any
	if form != nil {
		formText = string(form)
	}
	if _, err := s.store.DB().ExecContext(ctx, q, id, url, qr, formText, ref); err != nil {
		return fmt.Errorf("set next step of order %d: %w", id, err)
	}
	return nil
}

// Payment is what a provider says was paid for an order: Amount in minor
// units of Currency, compared with the order's stored price (pay_amount,
// pay_currency), never with its CNY amount unless that is the price.
type Payment struct {
	OutTradeNo, Method, Currency, TradeNo string
	Amount                                int64
	PaidAt                                time.Time
}

// markPaidSQL is markPaid's conditional update.
const markPaidSQL = `UPDATE recharge_orders SET state = 'paid', provider_trade_no = $5, paid_at = $6, fail_reason = '',
	updated_at = now()
	WHERE out_trade_no = $1 AND state <> 'paid' AND method = $2 AND pay_amount = $3 AND pay_currency = $4
	RETURNING ` + orderColumns

// markPaid moves an order to paid inside tx when it is not paid yet and the
// payment matches its method and stored price, in one conditional
// update, and returns the order as updated. It holds the order's row lock
// until tx ends, so the crediting that follows happens once: a concurrent
// twin waits here, then finds the order paid and moves nothing (moved is
// false, and the twin wrote nothing, so its commit costs no flush). The
// unique ledger key and the unique provider trade number keep that true
// whatever a caller does.
func (s *Service) markPaid(ctx context.Context, tx *sqlx.Tx, p Payment) (o Order, moved bool, err error) {
	if !validTradeNo(p.OutTradeNo) {
		return o, false, nil
	}
	err = s.store.TxGet(ctx, tx, &o, markPaidSQL, p.OutTradeNo, p.Method, p.Amount, p.Currency, p.TradeNo, p.PaidAt)
	if errors.Is(err, sql.ErrNoRows) {
		return o, false, nil
	}
	if err != nil {
		return o, false, db.MapError(fmt.Errorf("mark order %s paid: %w", p.OutTradeNo, err))
	}
	return o, true, nil
}

// recordNotification stores a provider's notification and reads the order
// it names, in one query: each delivery of a notification is recorded,
// and a repeated one of an order already paid needs nothing more. The
// record is committed asynchronously (see asyncCommit); the order it reads
// was committed durably (credits are), so a copy acknowledged because the
// order reads paid rests on a credit that survives a crash.
func (s *Service) recordNotification(ctx context.Context, e PaymentEvent) (Order, error) {
	var o Order
	if !validTradeNo(e.OutTradeNo) {
		return o, errors.Join(s.recordEvent(ctx, e), db.NotFound(sql.ErrNoRows, "order %q", e.OutTradeNo))
	}
	const q = `
		WITH ev AS (
			INSERT INTO payment_events (method, kind, out_trade_no, verified, status, detail, body)
			SELECT $1::text, $2::text, $3::text, $4::boolean, $5::text, $6::text, $7::text FROM ` + asyncCommit + `)
		SELECT ` + orderColumns + ` FROM recharge_orders WHERE out_trade_no = $3`
	st, err := s.store.Prepared(ctx, q)
	if err != nil {
		return o, fmt.Errorf("record notification: %w", err)
	}
	err = st.GetContext(ctx, &o, e.Method, e.Kind, e.OutTradeNo, e.Verified, e.Status, e.Detail, e.Body)
	return o, db.NotFound(err, "order %q", e.OutTradeNo)
}

// dropFirstBonus zeroes an order's first-recharge bonus when another order
// was paid first, so the order shows the bonus actually credited.
func dropFirstBonus(ctx context.Context, tx *sqlx.Tx, id int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE recharge_orders SET first_bonus = 0 WHERE id = $1`, id); err != nil {
		return fmt.Errorf("drop first bonus of order %d: %w", id, err)
	}
	return nil
}

// moveOrder moves an order that is in one of the states from to state to
// (with a failure reason for failed), in one conditional update: of two
// concurrent moves only one finds the order where it expects it. It
// reports whether the order moved.
func (s *Service) moveOrder(ctx context.Context, id int64, from []string, to, reason string) (bool, error) {
	const q = `UPDATE recharge_orders SET state = $3, fail_reason = $4, updated_at = now()
		WHERE id = $1 AND state::text = ANY($2)`
	res, err := s.store.DB().ExecContext(ctx, q, id, pq.Array(from), to, reason)
	if err != nil {
		return false, db.MapError(fmt.Errorf("move order %d to %s: %w", id, to, err))
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// markOrderChecked records that we just asked the provider about an order.
func (s *Service) markOrderChecked(ctx context.Context, id int64, at time.Time) error {
	if _, err := s.store.DB().ExecContext(ctx, `UPDATE recharge_orders SET checked_at = $2 WHERE id = $1`, id, at); err != nil {
		return fmt.Errorf("mark order %d checked: %w", id, err)
	}
	return nil
}

// rechargedSince sums a user's paid orders and live pending ones since a
// moment: what counts against the daily limit.
func rechargedSince(ctx context.Context, q sqlx.QueryerContext, userID int64, since, now time.Time) (int64, error) {
	const sum = `SELECT coalesce(sum(amount), 0) FROM recharge_orders
		WHERE user_id = $1 AND created_at >= $2 AND (state = 'paid' OR (state IN ('awaiting', 'processing') AND expires_at > $3))`
	var total int64
	if err := sqlx.GetContext(ctx, q, &total, sum, userID, since, now); err != nil {
		return 0, fmt.Errorf("recharged since: %w", err)
	}
	return total, nil
}

// hasPaidOrder reports whether a user has a paid order other than exceptID
// (for the first-recharge bonus).
func hasPaidOrder(ctx context.Context, q sqlx.QueryerContext, userID, exceptID int64) (bool, error) {
	var exists bool
	err := sqlx.GetContext(ctx, q, &exists,
		`SELECT EXISTS (SELECT 1 FROM recharge_orders WHERE user_id = $1 AND state = 'paid' AND id <> $2)`, userID, exceptID)
	if err != nil {
		return false, fmt.Errorf("has paid order: %w", err)
	}
	return exists, nil
}

// PaymentEvent is one message to or from a provider.
type PaymentEvent struct {
	ID         int64     `db:"id"`
	Method     string    `db:"method"`
	Kind       string    `db:"kind"`
	OutTradeNo string    `db:"out_trade_no"`
	Verified   bool      `db:"verified"`
	Status     string    `db:"status"`
	Detail     string    `db:"detail"`
	Body       string    `db:"body"`
	CreatedAt  time.Time `db:"created_at"`
}

// asyncCommit, joined into a query run on its own, commits that
// query's transaction without waiting for its WAL to reach the disk.
// It is for the payment event log only: forensics, whose last fraction of
// a second a crash may lose without losing money or an acknowledgement
// (the credits, and everything an acknowledgement rests on, commit
// durably). Providers send many copies of every notification, and a flood
// of forged ones must not cost a disk flush each.
const asyncCommit = `(SELECT set_config('synchronous_commit', 'off', true)) async_commit`

// recordEvent stores what a provider said (or what we failed to verify),
// committed asynchronously (see asyncCommit).
func (s *Service) recordEvent(ctx context.Context, e PaymentEvent) error {
	return insertEvent(ctx, s.store, e)
}

func insertEvent(ctx context.Context, store *db.Store, e PaymentEvent) error {
	const q = `INSERT INTO payment_events (method, kind, out_trade_no, verified, status, detail, body)
		SELECT $1::text, $2::text, $3::text, $4::boolean, $5::text, $6::text, $7::text FROM ` + asyncCommit
	if _, err := store.DB().ExecContext(ctx, q, e.Method, e.Kind, e.OutTradeNo, e.Verified, e.Status, e.Detail, e.Body); err != nil {
		return fmt.Errorf("record payment event: %w", err)
	}
	return nil
}

// Kinds of the events package refund records: its calls to a provider,
// each with the request and the answer.
const (
	EventRefund      = "refund"       // the refund request (alipay.trade.refund, WeChat's refunds, UnionPay's 04, PayPal's refund)
	EventRefundQuery = "refund_query" // the refund query
)

// RecordEvent stores one provider call made outside this service (package
// refund's), on the order's timeline with the payment calls: the same
// row, made storable the same way, committed asynchronously (forensics).
func RecordEvent(ctx context.Context, store *db.Store, e PaymentEvent) error {
	return insertEvent(ctx, store, eventRow(e.Method, e.Kind, e.OutTradeNo, e.Verified, e.Status, e.Detail, e.Body))
}
