// Package payment is the contract between the wallet and the payment
// providers. Each provider lives in its own package, speaks exactly one
// provider's protocol, and returns these domain values; none of them touches
// the ledger.
package payment

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Method names a payment method; it is stored on orders.
type Method string

// The payment methods.
const (
	Alipay Method = "alipay"
	WeChat Method = "wechat"
	Card   Method = "card"
	PayPal Method = "paypal"
)

// Methods lists every method in the order the recharge page shows them.
var Methods = []Method{Alipay, WeChat, Card, PayPal}

// Device is where the person pays; it picks the flow (page vs wap pay,
// Native QR vs H5).
type Device string

// Devices.
const (
	Desktop Device = "desktop"
	Phone   Device = "phone"
)

// Order is what a provider needs to start collecting a payment.
type Order struct {
	OutTradeNo string // our order number, unique, [0-9A-Za-z]{16,32}
	// Amount and Currency are what the provider collects: the order's
	// stored price, in minor units of Currency (fen for CNY; cents for a
	// PayPal order quoted in USD, see Converter), > 0.
	Amount    int64
	Currency  string
	Subject   string // shown on the cashier page, e.g. "IM2.0 Pay 余额充值 ¥68.00"
	Device    Device
	ClientIP  string
	ReturnURL string // where the provider sends the person back
	NotifyURL string // where the provider posts asynchronous notifications
	ExpiresAt time.Time
}

// Next is where the person goes after confirming: exactly one field is set.
type Next struct {
	RedirectURL string    // a GET redirect (Alipay page/wap pay, PayPal approve, WeChat h5_url)
	Form        *FormPost // a form the browser must POST (UnionPay front transaction)
	QRCode      string    // content of a QR code to show on our own page (WeChat Native code_url)
	// ProviderRef is the provider's own id for the payment when it assigns
	// one at creation (PayPal's order id); stored on our order.
	ProviderRef string
}

// FormPost is an HTML form the browser submits to the provider.
type FormPost struct {
	Action string
	Fields []Field // in order
}

// Field is one form field.
type Field struct{ Name, Value string }

// Status is what the provider says about a payment.
type Status string

// Statuses.
const (
	StatusPending Status = "pending" // created, not paid yet (or unknown to the provider yet)
	StatusPaid    Status = "paid"
	// StatusProcessing: the provider took the payment but has not
	// confirmed it yet (a PENDING PayPal capture): not credited, not lost.
	StatusProcessing Status = "processing"
	StatusFailed     Status = "failed" // the provider refused the payment; Reason says why
	StatusClosed     Status = "closed" // closed or expired without payment
)

// Reason is why a payment failed, in our terms.
type Reason string

// Failure reasons; the result page has a message and an action for each.
const (
	ReasonNone          Reason = ""
	ReasonWrongDetails  Reason = "wrong_details"      // wrong password, card number, expiry or CVN
	ReasonDeclined      Reason = "declined"           // the card issuer declined
	ReasonNoFunds       Reason = "insufficient_funds" // not enough money at the provider
	ReasonRestricted    Reason = "restricted"         // the payment account is restricted
	ReasonOverLimit     Reason = "over_limit"         // over the provider's own limit
	ReasonCancelled     Reason = "cancelled"          // the person cancelled at the provider
	ReasonProviderError Reason = "provider_error"     // the provider failed or is unreachable
)

// Result is a verified answer from the provider about one payment.
type Result struct {
	OutTradeNo string
	TradeNo    string // the provider's transaction id (for paid payments)
	Status     Status
	Amount     int64  // minor units of Currency (fen for CNY), as the provider reports it
	Currency   string // as the provider reports it
	Reason     Reason // for StatusFailed
	PaidAt     time.Time
	// Final is false for answers that may still change (a TRADE_SUCCESS
	// that a TRADE_FINISHED will follow, a PENDING capture).
	Final bool
}

// Notification is a verified asynchronous notification.
type Notification struct {
	Result
	// EventID identifies this delivery where the protocol has one (WeChat's
	// notification id, PayPal's event id), for the event log.
	EventID string
	// Refund, when set, makes this a notification about a refund of the
	// payment (ours, or one made outside the app), never a new payment.
	Refund *RefundResult
}

// Return is what the person brought back from the provider, verified.
type Return struct {
	OutTradeNo string
	// ProviderRef is set when the return names the provider's id (PayPal's token).
	ProviderRef string
	// Cancelled is true when the person cancelled at the provider.
	Cancelled bool
}

// Header is a notification's HTTP request header as received, keys in
// canonical form; an http.Header is one. It is a plain map so that the
// wallet, which passes it on, needs no HTTP server types.
type Header = map[string][]string

// Ack is the answer a provider documents for a notification, written as it
// is by the HTTP handler: the provider reads the status code and, for some,
// the exact body.
type Ack struct {
	Status      int    // HTTP status code
	ContentType string // "" sends no Content-Type
	Body        []byte // nil sends no body
}

// Provider speaks one provider's protocol.
type Provider interface {
	Method() Method
	// Start asks the provider to collect o and says where the person goes.
	// Calling it again for the same order must be safe.
	Start(ctx context.Context, o Order) (Next, error)
	// ParseNotification verifies an asynchronous notification (signature,
	// merchant, app) and decodes it. body is the raw request body.
	ParseNotification(ctx context.Context, header Header, body []byte) (Notification, error)
	// Ack is exactly the answer the provider expects: ok after our commit,
	// or a refusal that makes it retry. The caller sends it.
	Ack(ok bool) Ack
	// ParseReturn verifies what the person brought back. It never proves a
	// payment: the caller must still query or wait for a notification.
	ParseReturn(ctx context.Context, query url.Values, form url.Values) (Return, error)
	// Complete finishes a payment that needs a server call after the return
	// (PayPal capture); other providers just query. ref is the provider ref.
	Complete(ctx context.Context, outTradeNo, ref string) (Result, error)
	// Query asks the provider about a payment.
	Query(ctx context.Context, outTradeNo, ref string) (Result, error)
	// Close stops the provider from accepting payment for an order. If it was
	// paid meanwhile, Close returns ErrAlreadyPaid.
	Close(ctx context.Context, outTradeNo, ref string) error
}

// RemoteVerifier is a provider whose ParseNotification calls the provider
// itself (PayPal verifies a webhook through its API). NamedOrder reads,
// without verifying anything, which of our orders a notification claims to
// be about, so that the caller can ration those calls per order: anyone may
// post to a notify URL.
type RemoteVerifier interface {
	NamedOrder(body []byte) string
}

// Errors providers return.
var (
	// ErrBadSignature means the message failed verification: refuse it.
	ErrBadSignature = errors.New("payment: signature verification failed")
	// ErrWrongMerchant means a valid message addressed to another merchant or app.
	ErrWrongMerchant = errors.New("payment: message for another merchant")
	// ErrMalformed means the message could not be decoded.
	ErrMalformed = errors.New("payment: malformed message")
	// ErrStale means a signed timestamp is too old or too far in the future.
	ErrStale = errors.New("payment: stale timestamp")
	// ErrIgnored means a genuine message that says nothing about payment
	// state (a probe, an event type we do not handle): acknowledge it.
	ErrIgnored = errors.New("payment: message carries no payment state")
	// ErrAlreadyPaid means a close found the payment already made.
	ErrAlreadyPaid = errors.New("payment: already paid")
	// ErrNotFound means the provider does not know the order.
	ErrNotFound = errors.New("payment: order unknown to the provider")
)

// FenToYuan formats fen as a decimal yuan string ("68.00"), as the
// providers that use decimal amounts expect.
func FenToYuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// YuanToFen parses a provider's decimal amount ("68", "68.5", "68.00")
// exactly, without floats. Anything else is ErrMalformed.
func YuanToFen(s string) (int64, error) {
	whole, frac, hasDot := cutDot(s)
	if whole == "" || len(whole) > 12 || (hasDot && (len(frac) == 0 || len(frac) > 2)) {
		return 0, ErrMalformed
	}
	var n int64
	for _, c := range whole + frac {
		if c < '0' || c > '9' {
			return 0, ErrMalformed
		}
	}
	for _, c := range whole {
		n = n*10 + int64(c-'0')
	}
	for i := range 2 {
		n *= 10
		if i < len(frac) {
			n += int64(frac[i] - '0')
		}
	}
	return n, nil
}

func cutDot(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
