package paypal

import (
	"fmt"
	"time"

	sdk "github.com/plutov/paypal/v4"

	"im2pay/payment"
)

// issueReasons maps the details[].issue of a 422 answer to a capture to our
// reasons. Funding failures only show up here: PayPal's approval page
// handles them with the payer and the merchant learns at capture time.
var issueReasons = map[string]payment.Reason{
	// The funding source was declined by the bank or processor. PayPal's
	// documented answer is to send the payer back to the approve link to pick
	// another funding source: the same order may still be paid.
	"INSTRUMENT_DECLINED":                  payment.ReasonDeclined,
	"REDIRECT_PAYER_FOR_ALTERNATE_FUNDING": payment.ReasonDeclined,
	"TRANSACTION_REFUSED":                  payment.ReasonDeclined,
	"CARD_EXPIRED":                         payment.ReasonDeclined,
	// "Payer cannot pay for this transaction": the Orders API's word for a
	// wallet that cannot fund the payment (no balance, no backup source).
	"PAYER_CANNOT_PAY":               payment.ReasonNoFunds,
	"PAYER_ACCOUNT_RESTRICTED":       payment.ReasonRestricted,
	"PAYER_ACCOUNT_LOCKED_OR_CLOSED": payment.ReasonRestricted,
	"TRANSACTION_LIMIT_EXCEEDED":     payment.ReasonOverLimit,
	// The payee's receiving limit: still "over the provider's limit" to the person.
	"TRANSACTION_RECEIVING_LIMIT_EXCEEDED": payment.ReasonOverLimit,
	// Too many failed attempts (the sandbox: three wrong PayPal passwords).
	"MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED": payment.ReasonWrongDetails,
}

// retryableIssues leave the order open: the person may go back to PayPal,
// approve again with another funding source, and we capture again. Their
// failures are not Final; the app offers "pay again".
var retryableIssues = map[string]bool{"INSTRUMENT_DECLINED": true, "REDIRECT_PAYER_FOR_ALTERNATE_FUNDING": true}

func captureFailure(outTradeNo, issue string) payment.Result {
	reason, ok := issueReasons[issue]
	if !ok {
		reason = payment.ReasonProviderError
	}
	return payment.Result{OutTradeNo: outTradeNo, Status: payment.StatusFailed, Reason: reason, Final: !retryableIssues[issue]}
}

// orderResult reads an order (from GET or a capture's representation). It
// fails closed: the purchase unit must carry our order number, and the
// configured merchant as payee.
func (p *Provider) orderResult(outTradeNo string, o *sdk.Order) (payment.Result, error) {
	if len(o.PurchaseUnits) != 1 {
		return payment.Result{}, fmt.Errorf("paypal: order %s has %d purchase units: %w", o.ID, len(o.PurchaseUnits), payment.ErrMalformed)
	}
	pu := o.PurchaseUnits[0]
	if pu.CustomID != outTradeNo || (pu.InvoiceID != "" && pu.InvoiceID != outTradeNo) {
		// A return's token can name any order, including someone else's cheaper one.
		return payment.Result{}, fmt.Errorf("paypal: order %s is for %q, not %q: %w", o.ID, pu.CustomID, outTradeNo, payment.ErrWrongMerchant)
	}
	if p.cfg.MerchantID != "" && (pu.Payee == nil || pu.Payee.MerchantID != p.cfg.MerchantID) {
		return payment.Result{}, fmt.Errorf("paypal: order %s pays another merchant: %w", o.ID, payment.ErrWrongMerchant)
	}
	r := payment.Result{OutTradeNo: outTradeNo, Status: payment.StatusPending}
	if pu.Amount != nil {
		amount, err := parseValue(pu.Amount.Value, pu.Amount.Currency)
		if err != nil {
			return payment.Result{}, fmt.Errorf("paypal: order %s amount %q: %w", o.ID, pu.Amount.Value, payment.ErrMalformed)
		}
		r.Amount, r.Currency = amount, pu.Amount.Currency
	}
	switch o.Status {
	case sdk.OrderStatusCreated, sdk.OrderStatusSaved, "PAYER_ACTION_REQUIRED":
		return r, nil // the person has not approved (yet)
	case sdk.OrderStatusApproved:
		return r, nil // approved, but no money moves until we capture: call Complete
	case sdk.OrderStatusVoided:
		r.Status, r.Final = payment.StatusClosed, true
		return r, nil
	case sdk.OrderStatusCompleted:
		return captureResult(r, o, pu)
	}
	return payment.Result{}, fmt.Errorf("paypal: order %s status %q: %w", o.ID, o.Status, payment.ErrMalformed)
}

// captureResult reads the capture of a COMPLETED order. COMPLETED is the
// order's state, not the money's: the capture inside may still be PENDING
// (e.g. held for review) or DECLINED.
func captureResult(r payment.Result, o *sdk.Order, pu sdk.PurchaseUnit) (payment.Result, error) {
	if pu.Payments == nil || len(pu.Payments.Captures) == 0 {
		return payment.Result{}, fmt.Errorf("paypal: completed order %s has no capture: %w", o.ID, payment.ErrMalformed)
	}
	c := pu.Payments.Captures[len(pu.Payments.Captures)-1]
	if c.CustomID != "" && c.CustomID != r.OutTradeNo {
		return payment.Result{}, fmt.Errorf("paypal: capture %s is for %q: %w", c.ID, c.CustomID, payment.ErrWrongMerchant)
	}
	if c.Amount == nil || !idRe.MatchString(c.ID) {
		return payment.Result{}, fmt.Errorf("paypal: capture of order %s lacks id or amount: %w", o.ID, payment.ErrMalformed)
	}
	amount, err := parseValue(c.Amount.Value, c.Amount.Currency)
	if err != nil {
		return payment.Result{}, fmt.Errorf("paypal: capture %s amount %q: %w", c.ID, c.Amount.Value, payment.ErrMalformed)
	}
	// The capture's own amount, in minor units of its own currency, is what
	// the wallet checks against the price the order stored.
	r.TradeNo, r.Amount, r.Currency = c.ID, amount, c.Amount.Currency
	return withCaptureStatus(r, c.Status, o.UpdateTime)
}

// withCaptureStatus maps a capture's status (Payments v2) to ours.
func withCaptureStatus(r payment.Result, status string, at *time.Time) (payment.Result, error) {
	switch status {
	case "COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED": // refunds do not undo the payment here
		r.Status, r.Final = payment.StatusPaid, true
		if at != nil {
			r.PaidAt = *at
		}
	case "PENDING": // funds held (review, eCheck, …): a COMPLETED or DENIED webhook follows
		// The buyer paid and PayPal holds it: the order reads 处理中.
		r.Status, r.Final = payment.StatusProcessing, false
	case "DECLINED", "FAILED":
		r.Status, r.Reason, r.Final = payment.StatusFailed, payment.ReasonDeclined, true
	default:
		return payment.Result{}, fmt.Errorf("paypal: capture %s status %q: %w", r.TradeNo, status, payment.ErrMalformed)
	}
	return r, nil
}
