// Package refund returns the money of a paid top-up through its provider
// (any payment.Refunder), with the bonus it earned clawed back pro rata.
//
// Money moves only through ledger.Post. When a refund is sent, the wallet
// pays the refund and the clawback into the system account
// "refunds:in-flight" (two postings of kind refund: descriptions "refund"
// and "refund_clawback", the two lines of 余额明细), never below zero. The
// provider's success moves them on to the method's clearing account and to
// "promotion" (the bonus returns to the budget); a definite failure
// reverses them to the wallet (kind reversal, "refund_reversal"). An
// unknown outcome stays in flight: Pass asks the provider and sends again
// under the same request number, so a refund is never lost or doubled.
//
// A refund made outside the app (the provider's merchant portal, a
// chargeback) arrives as a notification (Notified) and is booked whatever
// the wallet holds: the wallet goes to zero and the rest is the person's
// debt, kept in the system account "debt:<user id>", which the next
// top-up repays first (Repay, called by recharge in the crediting
// transaction).
//
// The database holds the invariants too: at most one refund of an order
// open at a time (a partial unique index), states that only move forward,
// and four eyes (the asker cannot approve).
package refund

import (
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"time"

	"im2pay/db"
	"im2pay/payment"
)

// States of a refund (the refund_state enum).
const (
	StateRequested = "requested" // waits for a finance staff member's approval; nothing moved
	StateInFlight  = "in_flight" // wallet debited, sent to the provider, outcome not known yet
	StateSucceeded = "succeeded" // the provider returned the money
	StateFailed    = "failed"    // refused or failed at the provider; the debit was reversed
	StateRejected  = "rejected"  // refused by finance before anything moved
)

// Ledger accounts and description codes.
const (
	InFlightAccount = "refunds:in-flight"
	// DescRefund and DescClawback are the wallet's two lines of a refund
	// (退款, 扣回奖励); DescReversal puts them back after a failure;
	// DescDone moves them on from in-flight (no wallet line); DescDebt is
	// a top-up repaying a debt (偿还欠款).
	DescRefund   = "refund"
	DescClawback = "refund_clawback"
	DescReversal = "refund_reversal"
	DescDone     = "refund_done"
	DescDebt     = "debt_repayment"
)

// debtAccount is the code of a person's debt account: negative while they
// owe what an external refund took beyond their wallet.
func debtAccount(userID int64) string { return fmt.Sprintf("debt:%d", userID) }

// Refund is one refund of one order.
type Refund struct {
	ID               int64          `db:"id"`
	OrderID          int64          `db:"order_id"`
	OutTradeNo       string         `db:"out_trade_no"`
	UserID           int64          `db:"user_id"`
	Method           string         `db:"method"`
	RequestNo        string         `db:"request_no"`
	Amount           int64          `db:"amount"`
	Clawback         int64          `db:"clawback"`
	State            string         `db:"state"`
	Reason           string         `db:"reason"`
	AskedByStaff     sql.NullInt64  `db:"asked_by_staff"`
	AskedByUser      sql.NullInt64  `db:"asked_by_user"`
	ApprovedBy       sql.NullInt64  `db:"approved_by"`
	ApprovedAt       sql.NullTime   `db:"approved_at"`
	DecidedBy        sql.NullInt64  `db:"decided_by"`
	ProviderRefundID string         `db:"provider_refund_id"`
	Failure          string         `db:"failure"`
	Detail           string         `db:"detail"`
	External         bool           `db:"external"`
	Chargeback       bool           `db:"chargeback"`
	ExternalNo       sql.NullString `db:"external_no"`
	Debt             int64          `db:"debt"`
	RequestedAt      time.Time      `db:"requested_at"`
	SentAt           sql.NullTime   `db:"sent_at"`
	FinishedAt       sql.NullTime   `db:"finished_at"`
	NextCheckAt      sql.NullTime   `db:"next_check_at"`
	CheckFailures    int            `db:"check_failures"`
	LeaseUntil       sql.NullTime   `db:"lease_until"`
	// AskerName is the staff member's name, or the person's, who asked.
	AskerName string `db:"asker_name"`
}

// Total is what the wallet pays: the refund and the clawback.
func (r Refund) Total() int64 { return r.Amount + r.Clawback }

const columns = `id, order_id, out_trade_no, user_id, method, request_no, amount, clawback, state::text AS state, reason,
	asked_by_staff, asked_by_user, approved_by, approved_at, decided_by, provider_refund_id, failure, detail,
	external, chargeback, external_no, debt, requested_at, sent_at, finished_at, next_check_at, check_failures, lease_until,
	coalesce((SELECT st.name FROM staff st WHERE st.id = asked_by_staff),
	         (SELECT u.username FROM users u WHERE u.id = asked_by_user), '') AS asker_name`

// Quote is what a refund of Amount of an order would move, shown before
// anyone confirms: "退款 ¥68.00，扣回奖励 ¥3.40，钱包共扣除 ¥71.40".
type Quote struct {
	OutTradeNo string
	Amount     int64 // refund
	Clawback   int64 // bonus clawed back
	Refundable int64 // what is left to refund of the order, this refund included
	Balance    int64 // the wallet now
}

// Total is what the wallet pays.
func (q Quote) Total() int64 { return q.Amount + q.Clawback }

// Shortfall refuses a refund the wallet cannot cover now: nothing moved.
type Shortfall struct {
	Amount, Clawback, Balance int64
}

func (e *Shortfall) Error() string {
	return fmt.Sprintf("refund: wallet holds %s of %s (refund %s + clawback %s)", payment.FenToYuan(e.Balance),
		payment.FenToYuan(e.Amount+e.Clawback), payment.FenToYuan(e.Amount), payment.FenToYuan(e.Clawback))
}

// Missing is what the wallet lacks.
func (e *Shortfall) Missing() int64 { return e.Amount + e.Clawback - e.Balance }

// Refusals.
var (
	// ErrNotPaid: only a paid top-up can be refunded.
	ErrNotPaid = errors.New("refund: the order is not a paid top-up")
	// ErrTooMuch: more than is left to refund of the order, or nothing.
	ErrTooMuch = errors.New("refund: amount above what is left to refund")
	// ErrOpen: another refund of the order is waiting or in flight.
	ErrOpen = errors.New("refund: another refund of this order is open")
	// ErrNotDecidable: the refund was approved, rejected or sent before.
	ErrNotDecidable = errors.New("refund: already decided")
	// ErrOwnRequest: the staff member who asked cannot decide.
	ErrOwnRequest = errors.New("refund: the requester cannot decide their own refund")
	// ErrNoRefunder: the order's provider is not configured or cannot refund.
	ErrNoRefunder = errors.New("refund: no provider to refund through")
	// ErrNotOwner: a person asked about someone else's order.
	ErrNotOwner = errors.New("refund: not this person's order")
	// ErrNotFound: no such refund or order.
	ErrNotFound = db.ErrNotFound
)

// Clawback is the bonus to claw back when amount more of an order is
// refunded: the bonus times the share of the order refunded after it,
// rounded half up, less what earlier refunds clawed back. Computing it
// on the running total means the clawbacks of partial refunds add up to
// exactly the rounded share, never more than the bonus, and a full refund
// takes back exactly the whole bonus.
func Clawback(bonus, orderAmount, refundedBefore, clawedBefore, amount int64) int64 {
	if bonus <= 0 || orderAmount <= 0 {
		return 0
	}
	after := refundedBefore + amount
	if after > orderAmount {
		after = orderAmount
	}
	// bonus × after / orderAmount, half up, in big integers: no overflow.
	n := new(big.Int).Mul(big.NewInt(bonus), big.NewInt(after))
	n.Mul(n, big.NewInt(2)).Add(n, big.NewInt(orderAmount))
	n.Quo(n, new(big.Int).Mul(big.NewInt(orderAmount), big.NewInt(2)))
	c := n.Int64() - clawedBefore
	c = max(c, 0)
	return min(c, bonus-clawedBefore)
}

// newRequestNo is a refund number: "RF" and 22 random letters and digits,
// inside the [0-9A-Za-z]{16,32} every provider accepts.
func newRequestNo() (string, error) {
	const set = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 22)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("refund number: %w", err)
	}
	for i := range b {
		b[i] = set[int(b[i])%len(set)]
	}
	return "RF" + string(b), nil
}
