package payment

import (
	"context"
	"errors"
	"time"
)

// Biller is a provider whose statement of a day's money can be fetched for
// reconciliation (对账): Alipay's 业务明细 (a zipped GBK CSV), WeChat's
// trade bill (backtick-prefixed CSV behind a SHA-1), UnionPay's settlement
// files (file transfer, txnType 76), PayPal's Transaction Search.
type Biller interface {
	// Bill fetches and parses the provider's bill of one day (the
	// provider's own day: Beijing time for the three Chinese providers,
	// the window PayPal is asked for). ErrBillNotReady means it is not
	// available yet (asked too early); ErrNoBill that the provider has
	// none for that day (no activity).
	Bill(ctx context.Context, day time.Time) (Bill, error)
}

// Bill is one provider's statement of one day, as the provider states it.
type Bill struct {
	Method Method
	Day    time.Time // midnight of the day, in the provider's zone
	Lines  []BillLine
	// Raw is the file as downloaded (the zip, the CSV …) for the report's
	// download and for forensics; RawName is its name.
	Raw     []byte
	RawName string
	// Totals are the provider's own summary figures where the bill has
	// them (count and sums), checked against the lines by the parser.
	Count  int
	Gross  int64 // sum of payment amounts, minor units
	Refund int64 // sum of refund amounts (positive), minor units
	Fees   int64 // sum of fees (positive is charged to us), minor units
}

// BillLineKind says what a bill line records.
type BillLineKind string

// Bill line kinds.
const (
	BillPayment BillLineKind = "payment"
	BillRefund  BillLineKind = "refund"
	// BillReversal is money a payer's bank took back (PayPal's chargeback).
	BillReversal BillLineKind = "reversal"
)

// BillLine is one movement on a bill.
type BillLine struct {
	Kind       BillLineKind
	OutTradeNo string // our order number, as the bill shows it ("" when the bill has none)
	TradeNo    string // the provider's id of the payment (trade_no, transaction_id, queryId, capture id)
	// RequestNo and RefundID name a refund (our request number, the
	// provider's refund id) on refund and reversal lines.
	RequestNo string
	RefundID  string
	Amount    int64  // the payment or refund amount, positive, minor units of Currency
	Fee       int64  // the provider's fee on this line: positive charged, negative returned
	Currency  string // ISO 4217, as the bill states it
	At        time.Time
}

// Errors of Bill.
var (
	ErrBillNotReady = errors.New("payment: the bill is not ready yet")
	ErrNoBill       = errors.New("payment: no bill for that day")
)
