package paypal

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	sdk "github.com/plutov/paypal/v4"

	"im2pay/payment"
)

// Bills are Transaction Search, GET /v1/reporting/transactions
// (PROVIDERS.md §4.5, PayPal's reporting v1.9 OpenAPI file): a window of at
// most 31 days, paged (page_size ≤ 500, total_pages), transactions
// appearing up to 3 hours late, and ids that may appear twice.
//
// How lines are read, and what is unverified:
//   - T00xx are payments (T0006 = PayPal Checkout APIs, §4.5); the capture
//     id is the transaction_id (§4.5: unverified), our order number the
//     custom_field (we send custom_id = invoice_id = order number).
//   - T1107 is a refund (third-party code, §4.5); its paypal_reference_id
//     names the capture, invoice_id is our refund request number (we send
//     invoice_id = RequestNo), custom_field our order number; a refund made
//     on paypal.com has no invoice_id.
//   - T1106 (payment reversal) and T1201 (chargeback) are reversals; both
//     codes are unverified (§4.5) and PayPal's code list is the authority.
//   - Other codes (transfers, holds, withdrawals …) are not payments of
//     ours and are skipped; so are statuses D (denied) and P (pending):
//     no money moved. S and V (since refunded or reversed) count.
//   - transaction_amount is negative on refunds and reversals and fee_amount
//     negative when PayPal charges it (PayPal's published samples; our
//     sources do not state it): a sign the other way fails the bill.
//   - A transaction listed twice (same id and code) counts once.

var _ payment.Biller = (*Provider)(nil)

const (
	// MaxSearchWindow is Transaction Search's widest window (§4.5).
	MaxSearchWindow = 31 * 24 * time.Hour
	// ReportLag is how late a transaction may appear (§4.5, §4.8).
	ReportLag = 3 * time.Hour
)

// SetClock replaces the clock that decides whether a day is complete: the
// app's one clock.
func (p *Provider) SetClock(now func() time.Time) { p.now = now }

// Bill is Transaction Search over the day containing day, in day's zone
// (the caller's choice: PayPal has no day of its own), from midnight to
// 23:59:59. The day is complete only ReportLag after its end, and only
// when PayPal says its data was refreshed past the window:
// ErrBillNotReady otherwise. A day without transactions is ErrNoBill.
func (p *Provider) Bill(ctx context.Context, day time.Time) (payment.Bill, error) {
	start := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, day.Location())
	end := start.AddDate(0, 0, 1).Add(-time.Second)
	if due := end.Add(time.Second + ReportLag); p.now().Before(due) {
		return payment.Bill{}, fmt.Errorf("paypal: bill of %s is complete at %s: %w", start.Format(time.DateOnly),
			due.Format(time.RFC3339), payment.ErrBillNotReady)
	}
	lines, raw, err := p.transactions(ctx, start, end, true)
	if err != nil {
		return payment.Bill{}, err
	}
	if len(lines) == 0 {
		return payment.Bill{}, fmt.Errorf("paypal: no transactions on %s: %w", start.Format(time.DateOnly), payment.ErrNoBill)
	}
	b := payment.Bill{Method: payment.PayPal, Day: start, Lines: lines, Raw: raw,
		RawName: "paypal-transactions-" + start.Format("20060102") + ".json"}
	for _, l := range lines {
		b.Count++
		b.Fees += l.Fee
		if l.Kind == payment.BillPayment {
			b.Gross += l.Amount
		} else {
			b.Refund += l.Amount
		}
	}
	return b, nil
}

// Transactions is Transaction Search from start to end (both included),
// all pages, as bill lines. A window over 31 days, or one that ends
// before it starts, is refused before asking.
func (p *Provider) Transactions(ctx context.Context, start, end time.Time) ([]payment.BillLine, error) {
	lines, _, err := p.transactions(ctx, start, end, false)
	return lines, err
}

type searchPage struct {
	Details []struct {
		Info txnInfo `json:"transaction_info"`
	} `json:"transaction_details"`
	LastRefreshed string `json:"last_refreshed_datetime"`
	Page          int    `json:"page"`
	TotalItems    int    `json:"total_items"`
	TotalPages    int    `json:"total_pages"`
}

type txnInfo struct {
	TransactionID     string     `json:"transaction_id"`
	ReferenceID       string     `json:"paypal_reference_id"`
	EventCode         string     `json:"transaction_event_code"`
	InitiationDate    string     `json:"transaction_initiation_date"`
	UpdatedDate       string     `json:"transaction_updated_date"`
	Amount            *sdk.Money `json:"transaction_amount"`
	Fee               *sdk.Money `json:"fee_amount"`
	TransactionStatus string     `json:"transaction_status"`
	InvoiceID         string     `json:"invoice_id"`
	CustomField       string     `json:"custom_field"`
}

// transactions fetches every page; complete asks PayPal's
// last_refreshed_datetime to be past end (else ErrBillNotReady). raw is
// the pages' JSON, one per line.
func (p *Provider) transactions(ctx context.Context, start, end time.Time, complete bool) ([]payment.BillLine, []byte, error) {
	if end.Before(start) || end.Sub(start) > MaxSearchWindow {
		return nil, nil, fmt.Errorf("paypal: transaction search %s..%s: the window is at most 31 days (§4.5): %w",
			start.Format(time.RFC3339), end.Format(time.RFC3339), payment.ErrMalformed)
	}
	size := p.cfg.ReportPageSize
	if size == 0 {
		size = 500
	}
	var (
		lines []payment.BillLine
		raw   []byte
		seen  = map[string]int{} // id + code → index in lines
	)
	for page, pages := 1, 1; page <= pages; page++ {
		q := url.Values{"start_date": {start.UTC().Format(time.RFC3339)}, "end_date": {end.UTC().Format(time.RFC3339)},
			"fields": {"all"}, "page_size": {strconv.Itoa(size)}, "page": {strconv.Itoa(page)}}
		var body json.RawMessage
		err := p.call(func(c *sdk.Client) error {
			req, err := c.NewRequest(ctx, http.MethodGet, c.APIBase+"/v1/reporting/transactions?"+q.Encode(), nil)
			if err != nil {
				return err
			}
			return c.SendWithAuth(req, &body)
		})
		if err != nil {
			return nil, nil, fmt.Errorf("paypal: transaction search page %d: %w", page, err)
		}
		var sp searchPage
		if err := json.Unmarshal(body, &sp); err != nil {
			return nil, nil, fmt.Errorf("paypal: transaction search page %d: %v: %w", page, err, payment.ErrMalformed)
		}
		if sp.Page != page || sp.TotalPages < 0 || sp.TotalPages > 100_000 {
			return nil, nil, fmt.Errorf("paypal: asked for page %d, got page %d of %d: %w", page, sp.Page, sp.TotalPages, payment.ErrMalformed)
		}
		if complete {
			refreshed, err := parseReportTime(sp.LastRefreshed)
			if err != nil || refreshed.Before(end) {
				return nil, nil, fmt.Errorf("paypal: data refreshed to %q, not past %s: %w", sp.LastRefreshed,
					end.Format(time.RFC3339), payment.ErrBillNotReady)
			}
		}
		pages = sp.TotalPages
		raw = append(append(raw, body...), '\n')
		for _, d := range sp.Details {
			l, ok, err := billLine(d.Info)
			if err != nil {
				return nil, nil, fmt.Errorf("paypal: transaction %q (%s): %w", d.Info.TransactionID, d.Info.EventCode, err)
			}
			if !ok {
				continue
			}
			key := d.Info.TransactionID + "|" + d.Info.EventCode
			if i, dup := seen[key]; dup {
				// Listed twice (§4.5): the same movement, counted once.
				if lines[i] != l {
					return nil, nil, fmt.Errorf("paypal: transaction %s listed twice, differently: %w", key, payment.ErrMalformed)
				}
				continue
			}
			seen[key] = len(lines)
			lines = append(lines, l)
		}
	}
	return lines, raw, nil
}

// billLine reads one transaction_info; ok false skips it.
func billLine(t txnInfo) (payment.BillLine, bool, error) {
	var kind payment.BillLineKind
	switch code := t.EventCode; {
	case strings.HasPrefix(code, "T00"):
		kind = payment.BillPayment
	case code == "T1107":
		kind = payment.BillRefund
	case code == "T1106" || code == "T1201":
		kind = payment.BillReversal
	default:
		return payment.BillLine{}, false, nil
	}
	switch t.TransactionStatus {
	case "S", "V":
	case "D", "P":
		return payment.BillLine{}, false, nil
	default:
		return payment.BillLine{}, false, fmt.Errorf("transaction_status %q: %w", t.TransactionStatus, payment.ErrMalformed)
	}
	if t.Amount == nil || t.TransactionID == "" {
		return payment.BillLine{}, false, fmt.Errorf("no transaction_amount or id: %w", payment.ErrMalformed)
	}
	amount, err := parseSigned(t.Amount.Value, t.Amount.Currency)
	if err != nil {
		return payment.BillLine{}, false, err
	}
	var fee int64
	if t.Fee != nil && t.Fee.Value != "" {
		if t.Fee.Currency != t.Amount.Currency {
			return payment.BillLine{}, false, fmt.Errorf("fee in %s, amount in %s: %w", t.Fee.Currency, t.Amount.Currency, payment.ErrMalformed)
		}
		f, err := parseSigned(t.Fee.Value, t.Fee.Currency)
		if err != nil {
			return payment.BillLine{}, false, err
		}
		fee = -f // PayPal reports a charged fee as negative; ours is positive
	}
	at, err := parseReportTime(t.InitiationDate)
	if err != nil {
		return payment.BillLine{}, false, fmt.Errorf("transaction_initiation_date %q: %w", t.InitiationDate, payment.ErrMalformed)
	}
	l := payment.BillLine{Kind: kind, OutTradeNo: t.CustomField, Fee: fee, Currency: t.Amount.Currency, At: at}
	if !outTradeNoRe.MatchString(l.OutTradeNo) {
		l.OutTradeNo = "" // not one of our order numbers (a payment made outside our app)
	}
	if kind == payment.BillPayment {
		if amount <= 0 {
			return payment.BillLine{}, false, fmt.Errorf("payment of %s: %w", t.Amount.Value, payment.ErrMalformed)
		}
		l.TradeNo, l.Amount = t.TransactionID, amount
		return l, true, nil
	}
	if amount >= 0 || t.ReferenceID == "" {
		return payment.BillLine{}, false, fmt.Errorf("refund of %s naming %q: %w", t.Amount.Value, t.ReferenceID, payment.ErrMalformed)
	}
	l.TradeNo, l.RefundID, l.Amount = t.ReferenceID, t.TransactionID, -amount
	if kind == payment.BillRefund && outTradeNoRe.MatchString(t.InvoiceID) {
		l.RequestNo = t.InvoiceID
	}
	return l, true, nil
}

func parseSigned(v, currency string) (int64, error) {
	neg := strings.HasPrefix(v, "-")
	n, err := parseValue(strings.TrimPrefix(v, "-"), currency)
	if err != nil {
		return 0, fmt.Errorf("amount %q %s: %w", v, currency, payment.ErrMalformed)
	}
	if neg {
		n = -n
	}
	return n, nil
}

// parseReportTime reads RFC 3339 and the +0000 form PayPal's reporting
// samples show.
func parseReportTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02T15:04:05-0700", s)
}
