package paypalsandbox

import (
	"net/http"
	"sort"
	"strconv"
	"time"

	"im2pay/payment"
	"im2pay/payment/paypal"
)

// Transaction Search, GET /v1/reporting/transactions (PROVIDERS.md §4.5,
// PayPal's reporting v1.9 OpenAPI file): start_date and end_date (RFC 3339,
// at most 31 days apart) are required; page_size 1–500 (default 100), page
// ≥ 1; fields, balance_affecting_records_only and transaction_status are
// read; the answer is transaction_details[] with transaction_info, and
// page, total_items, total_pages, last_refreshed_datetime. A transaction
// appears only ReportLag after it happened ("up to 3 h", §4.5), on the
// sandbox's clock. Everything comes from the sandbox's own captures,
// refunds and chargebacks.
//
// Where the public material is silent the sandbox chooses, and says so:
//   - the lag is always the documented maximum, so that asking early shows;
//   - a transaction is in a window by transaction_initiation_date, both
//     ends included;
//   - the 400 for a window over 31 days or a malformed parameter is
//     INVALID_REQUEST with issue INVALID_PARAMETER_VALUE (PayPal's exact
//     issue is not in our sources);
//   - event codes: T0006 for captures (§4.5), T1107 for refunds (third-party
//     code, §4.5), T1106 for chargebacks (PAYMENT.CAPTURE.REVERSED; §4.5:
//     unverified);
//   - signs: transaction_amount is negative on refunds and reversals,
//     fee_amount negative when PayPal charges it (PayPal's own samples show
//     it so; our sources do not state it); refunds carry no fee (the sandbox
//     keeps its fee on refunds, as its refunds' seller_payable_breakdown says);
//   - transaction_status: S, V once the capture is fully refunded or
//     reversed, P while pending, D declined (§4.5's letters);
//   - the capture id is the transaction_id (§4.5: unverified), and a
//     refund's paypal_reference_id is its capture's id (type TXN).

// ReportLag is how long after it happened a transaction is found.
const ReportLag = 3 * time.Hour

// MaxSearchWindow is the widest start_date..end_date (§4.5).
const MaxSearchWindow = 31 * 24 * time.Hour

// BillEdit falsifies one transaction in Transaction Search, to plant a
// difference for reconciliation tests.
type BillEdit struct {
	Omit      bool  // the transaction is not reported
	Amount    int64 // when not zero, the reported amount (minor units, positive)
	Duplicate bool  // reported twice (ids are not unique in reporting, §4.5)
}

// SetBillEdit falsifies what Transaction Search says of ref: an order
// number (its capture) or a refund or chargeback id.
func (s *Sandbox) SetBillEdit(ref string, e BillEdit) {
	s.mu.Lock()
	s.edits[ref] = e
	s.mu.Unlock()
}

// SetClock replaces the clock of captures, refunds and Transaction Search.
// Set it before the sandbox serves.
func (s *Sandbox) SetClock(now func() time.Time) {
	s.mu.Lock()
	s.clock = now
	s.mu.Unlock()
}

type reportItem struct {
	at   time.Time
	id   string
	info map[string]any
}

func badSearch(w http.ResponseWriter, field, value, desc string) {
	apiError(w, http.StatusBadRequest, detail{Field: field, Value: value, Location: "query",
		Issue: "INVALID_PARAMETER_VALUE", Description: desc})
}

// searchTransactions is GET /v1/reporting/transactions.
func (s *Sandbox) searchTransactions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	start, err1 := time.Parse(time.RFC3339, q.Get("start_date"))
	end, err2 := time.Parse(time.RFC3339, q.Get("end_date"))
	switch {
	case err1 != nil:
		badSearch(w, "start_date", q.Get("start_date"), "start_date is required, RFC 3339 with seconds.")
		return
	case err2 != nil:
		badSearch(w, "end_date", q.Get("end_date"), "end_date is required, RFC 3339 with seconds.")
		return
	case end.Before(start):
		badSearch(w, "end_date", q.Get("end_date"), "end_date is before start_date.")
		return
	case end.Sub(start) > MaxSearchWindow:
		badSearch(w, "end_date", q.Get("end_date"), "Date range is greater than 31 days")
		return
	}
	size, page := 100, 1
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			badSearch(w, "page_size", v, "page_size is 1 to 500.")
			return
		}
		size = n
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			badSearch(w, "page", v, "page is 1 or more.")
			return
		}
		page = n
	}
	s.mu.Lock()
	now := s.clock()
	items := s.reportLocked(now.Add(-ReportLag), start, end)
	s.mu.Unlock()
	sort.SliceStable(items, func(i, j int) bool {
		if !items[i].at.Equal(items[j].at) {
			return items[i].at.Before(items[j].at)
		}
		return items[i].id < items[j].id
	})
	total := len(items)
	pages := (total + size - 1) / size
	from := min((page-1)*size, total)
	to := min(from+size, total)
	details := make([]map[string]any, 0, to-from)
	for _, it := range items[from:to] {
		d := map[string]any{"transaction_info": it.info}
		if q.Get("fields") == "all" {
			d["payer_info"] = map[string]any{"account_id": buyerPayerID, "email_address": "buyer@example.com"}
		}
		details = append(details, d)
	}
	self := s.apiBase() + "/v1/reporting/transactions?" + q.Encode()
	writeJSON(w, http.StatusOK, map[string]any{
		"transaction_details": details, "account_number": s.app.MerchantID,
		"start_date": stamp(start), "end_date": stamp(end), "last_refreshed_datetime": stamp(now.Add(-ReportLag)),
		"page": page, "total_items": total, "total_pages": pages,
		"links": []link{{self, "self", "GET"}},
	})
}

// reportLocked is what is visible at refreshed between start and end.
func (s *Sandbox) reportLocked(refreshed, start, end time.Time) []reportItem {
	in := func(t time.Time) bool { return !t.After(refreshed) && !t.Before(start) && !t.After(end) }
	var items []reportItem
	add := func(ref string, it reportItem, value, sign, currency string) {
		e := s.edits[ref]
		if e.Omit {
			return
		}
		if e.Amount != 0 {
			value = payment.FormatMinor(e.Amount, paypal.Decimals(currency))
		}
		it.info["transaction_amount"] = money{currency, sign + value}
		items = append(items, it)
		if e.Duplicate {
			items = append(items, it)
		}
	}
	for _, o := range s.orders {
		c := o.capture
		if c == nil || !in(c.created) {
			continue
		}
		status := map[string]string{"COMPLETED": "S", "PARTIALLY_REFUNDED": "S", "REFUNDED": "V",
			"PENDING": "P", "DECLINED": "D", "FAILED": "D"}[c.status]
		d := paypal.Decimals(o.currency)
		fee := (o.amount*feeBasisPoints + 5_000) / 10_000
		info := map[string]any{
			"paypal_account_id": buyerPayerID, "transaction_id": c.id, "transaction_event_code": "T0006",
			"transaction_initiation_date": stamp(c.created), "transaction_updated_date": stamp(c.updated),
			"transaction_status": status, "invoice_id": o.invoiceID, "custom_field": o.customID,
			"protection_eligibility": "01",
		}
		if status == "S" || status == "V" {
			info["fee_amount"] = money{o.currency, "-" + payment.FormatMinor(fee, d)}
		}
		add(o.customID, reportItem{at: c.created, id: c.id, info: info}, o.value, "", o.currency)
	}
	for _, rf := range s.refunds {
		if !in(rf.created) || rf.status == "FAILED" || rf.status == "CANCELLED" {
			continue
		}
		code := "T1107"
		if rf.reversal {
			code = "T1106"
		}
		status := "S"
		if rf.status == "PENDING" {
			status = "P"
		}
		info := map[string]any{
			"paypal_account_id": buyerPayerID, "transaction_id": rf.id, "paypal_reference_id": rf.captureID,
			"paypal_reference_id_type": "TXN", "transaction_event_code": code,
			"transaction_initiation_date": stamp(rf.created), "transaction_updated_date": stamp(rf.updated),
			"transaction_status": status, "custom_field": rf.customID,
			"fee_amount": money{rf.currency, payment.FormatMinor(0, paypal.Decimals(rf.currency))},
		}
		if rf.invoiceID != "" {
			info["invoice_id"] = rf.invoiceID
		}
		add(rf.id, reportItem{at: rf.created, id: rf.id, info: info}, rf.value, "-", rf.currency)
	}
	return items
}
