package payment

import (
	"context"
	"errors"
	"time"
)

// Refunder is a provider that returns money of a payment it collected.
// Every provider here is one; the interface is apart from Provider so that
// the refund code says what it needs.
type Refunder interface {
	// Refund asks the provider to return r.Amount of the payment. The same
	// r.RequestNo never refunds twice, so a retry after a lost answer reuses
	// it. A RefundProcessing answer means accepted: the outcome comes by
	// notification or QueryRefund. An error means the outcome is unknown
	// (ask QueryRefund), except a *RefundRefusal, which is definite:
	// nothing was refunded.
	Refund(ctx context.Context, r RefundRequest) (RefundResult, error)
	// QueryRefund asks about the refund r.RequestNo of r.OutTradeNo.
	// ErrRefundNotFound means the provider never accepted it.
	QueryRefund(ctx context.Context, r RefundRequest) (RefundResult, error)
}

// RefundRequest is one refund of one paid payment.
type RefundRequest struct {
	OutTradeNo string // our order number
	// TradeNo is the provider's id of the payment: Alipay's trade_no,
	// WeChat's transaction_id, UnionPay's queryId of the consumption
	// (origQryId), PayPal's capture id.
	TradeNo string
	// RequestNo is our number for this refund, unique per refund and kept
	// across retries: Alipay's out_request_no, WeChat's out_refund_no,
	// UnionPay's orderId of the 04 transaction, PayPal's PayPal-Request-Id.
	// [0-9A-Za-z]{16,32}, which every provider accepts.
	RequestNo string
	Amount    int64  // to refund, in minor units of Currency, > 0
	Total     int64  // the payment's amount (WeChat's amount.total)
	Currency  string // the payment's currency
	Reason    string // shown to the payer by some providers
	NotifyURL string // where the provider notifies the refund's outcome, if it does
	// RequestedAt is when we first sent this refund (UnionPay's txnTime of
	// the 04 transaction, kept across retries).
	RequestedAt time.Time
}

// RefundStatus is what the provider says about a refund.
type RefundStatus string

// Refund statuses.
const (
	// RefundProcessing: accepted, the outcome is still to come.
	RefundProcessing RefundStatus = "processing"
	// RefundSucceeded: the money went back to the payer.
	RefundSucceeded RefundStatus = "succeeded"
	// RefundFailed: the refund will not happen (WeChat CLOSED, PayPal
	// FAILED/CANCELLED, UnionPay's failed 04 transaction); nothing left us.
	RefundFailed RefundStatus = "failed"
)

// RefundResult is a verified answer about one refund.
type RefundResult struct {
	OutTradeNo string
	// RequestNo is our refund number; for a refund we never asked for (made
	// in the provider's merchant portal, or a chargeback) it is the
	// provider's own number and External is set.
	RequestNo string
	RefundID  string // the provider's id of the refund
	Status    RefundStatus
	Amount    int64  // this refund, minor units of Currency (0: the provider says only RefundedTotal)
	Currency  string // as the provider reports it
	// RefundedTotal is everything refunded on the payment so far, where the
	// provider states it (Alipay's refund_fee); 0 when it does not. Alipay's
	// refund notifications carry only this (PROVIDERS.md §1.1), so the
	// refund code derives the amount of a refund it did not ask for from it.
	RefundedTotal int64
	At            time.Time
	// Failure says why, for RefundFailed (the provider's code kept in
	// Detail for the order's timeline).
	Failure RefundFailure
	Detail  string
	// External marks a refund our app did not ask for; Chargeback marks a
	// payer's bank or PayPal taking the money back (PayPal REVERSED).
	External   bool
	Chargeback bool
}

// RefundFailure is why a refund was refused or failed, in our terms.
type RefundFailure string

// Refund failures.
const (
	RefundNoMerchantFunds RefundFailure = "merchant_funds"   // not enough in the merchant account
	RefundWindowPassed    RefundFailure = "window_passed"    // too long after the payment
	RefundAlreadyRefunded RefundFailure = "already_refunded" // nothing (or less) left to refund
	RefundNotAllowed      RefundFailure = "not_allowed"      // frozen, disputed, not refundable
	RefundAccountClosed   RefundFailure = "account_closed"   // the payer's account cannot receive it
)

// RefundRefusal is a definite "no" to a refund request: nothing was
// refunded and the same request will not succeed.
type RefundRefusal struct {
	Failure RefundFailure
	Code    string // the provider's code, e.g. ACQ.SELLER_BALANCE_NOT_ENOUGH
}

func (r *RefundRefusal) Error() string { return "payment: refund refused: " + r.Code }

// ErrRefundNotFound is a refund the provider does not know.
var ErrRefundNotFound = errors.New("payment: refund not found")
