package paypalsandbox

import (
	"encoding/json"
	"net/http"
	"time"

	"im2pay/payment"
	"im2pay/payment/paypal"
	"im2pay/payment/sandbox/sim"
)

// MaxAmount is the sandbox's single-payment limit in minor units of the
// order's currency: 10,000.00 of a two-decimal currency. PayPal caps one
// payment (USD 10,000 for many accounts, up to USD 60,000 for verified
// ones); the sandbox applies the lower figure's count of minor units to
// every currency rather than keep exchange rates of its own. A capture
// over it fails with TRANSACTION_LIMIT_EXCEEDED, whatever the outcome.
const MaxAmount int64 = 1_000_000

// captureIssues is how refused outcomes reach the merchant: as the 422
// issue of the capture call, PayPal's only channel for funding failures.
//
//	declined           → INSTRUMENT_DECLINED (the bank or processor refused; the payer may pick another source)
//	insufficient_funds → PAYER_CANNOT_PAY (no balance or backup source can fund it)
//	restricted         → PAYER_ACCOUNT_RESTRICTED
//	over_limit         → TRANSACTION_LIMIT_EXCEEDED
//	wrong_password ×3  → MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED (the order is VOIDED)
//
// cancel never reaches capture: the payer goes to cancel_url and the order
// stays CREATED until it expires (capture would say ORDER_NOT_APPROVED).
var captureIssues = map[sim.Outcome]string{
	sim.Declined:          "INSTRUMENT_DECLINED",
	sim.InsufficientFunds: "PAYER_CANNOT_PAY",
	sim.Restricted:        "PAYER_ACCOUNT_RESTRICTED",
	sim.OverLimit:         "TRANSACTION_LIMIT_EXCEEDED",
}

var issueText = map[string]string{
	"INSTRUMENT_DECLINED":                     "The instrument presented was either declined by the processor or bank, or it can't be used for this payment.",
	"PAYER_CANNOT_PAY":                        "Payer cannot pay for this transaction. Please contact the payer to find other ways to pay for this transaction.",
	"PAYER_ACCOUNT_RESTRICTED":                "PAYER_ACCOUNT_RESTRICTED",
	"TRANSACTION_LIMIT_EXCEEDED":              "Total payment amount exceeded transaction limit.",
	"MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED": "You have exceeded the maximum number of payment attempts.",
	"ORDER_NOT_APPROVED":                      "Payer has not yet approved the Order for payment. Please redirect the payer to the 'rel':'approve' url returned as part of the HATEOAS links within the Create Order call or provide a valid payment_source in the request.",
	"ORDER_ALREADY_CAPTURED":                  "Order already captured. If 'intent=CAPTURE' only one capture per order is allowed.",
}

// captureOrder is POST /v2/checkout/orders/{id}/capture. This is where
// money moves, and where the outcome chosen at approval plays out.
func (s *Sandbox) captureOrder(w http.ResponseWriter, r *http.Request) {
	id, reqID := r.PathValue("id"), r.Header.Get("PayPal-Request-Id")
	s.mu.Lock()
	if rep, ok := s.replies[reqID]; ok && reqID != "" && rep.orderID == id {
		s.mu.Unlock()
		writeRaw(w, http.StatusCreated, rep.body)
		return
	}
	o := s.lookup(id)
	if o == nil {
		s.mu.Unlock()
		notFound(w, id)
		return
	}
	issue := captureRefusal(o)
	if issue != "" {
		o.retryable = issue == "INSTRUMENT_DECLINED"
		s.mu.Unlock()
		s.log.Info("paypal sandbox: capture refused", "order", id, "issue", issue)
		apiError(w, http.StatusUnprocessableEntity, detail{Issue: issue, Description: issueText[issue]})
		return
	}
	now := s.clock()
	c := &capture{id: randomID(17), status: "COMPLETED", created: now, updated: now}
	if o.pendingReason != "" {
		c.status, c.reason = "PENDING", o.pendingReason
	}
	o.capture, o.status, o.updated, o.retryable = c, statusCompleted, now, false
	s.captures[c.id] = o.id
	body, _ := json.Marshal(s.orderJSON(o))
	if reqID != "" {
		s.replies[reqID] = reply{orderID: o.id, body: body}
	}
	ev := s.captureEvent(o)
	mode, early := sim.PlanFor(o.outcome).Notify, o.outcome == sim.NotifyBeforeReturn
	s.log.Info("paypal sandbox: captured", "order", id, "capture", c.id, "status", c.status)
	s.mu.Unlock()
	if early {
		// The webhook reaches the merchant before its own capture call
		// returns: the nearest PayPal gets to "notified before the return".
		if !s.n.Attempt(s.delivery(ev, 0, sim.PayPalSchedule)) {
			s.n.Deliver(s.delivery(ev, sim.PayPalSchedule[0], sim.PayPalSchedule[1:]))
		}
	} else {
		s.notify(ev, mode)
	}
	writeRaw(w, http.StatusCreated, body)
}

// captureRefusal is the 422 issue a capture of o gets now, or "".
func captureRefusal(o *order) string {
	switch {
	case o.status == statusCompleted:
		return "ORDER_ALREADY_CAPTURED"
	case o.status == statusVoided:
		return "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED"
	case o.status != statusApproved:
		return "ORDER_NOT_APPROVED"
	case o.amount > MaxAmount:
		return "TRANSACTION_LIMIT_EXCEEDED"
	}
	return o.issue
}

// getCapture is GET /v2/payments/captures/{id} (Payments API v2).
func (s *Sandbox) getCapture(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var body map[string]any
	if o := s.orders[s.captures[r.PathValue("id")]]; o != nil && o.capture != nil {
		body = s.captureJSON(o, true)
	}
	s.mu.Unlock()
	if body == nil {
		apiError(w, http.StatusNotFound, detail{Field: "capture_id", Value: r.PathValue("id"), Location: "path",
			Issue: "INVALID_RESOURCE_ID", Description: "Specified resource ID does not exist."})
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// captureJSON is a capture as the Payments API shows it; full adds what
// the capture resource carries outside an order (webhooks, GET capture).
// Callers hold s.mu.
func (s *Sandbox) captureJSON(o *order, full bool) map[string]any {
	c := o.capture
	self := s.apiBase() + "/v2/payments/captures/" + c.id
	body := map[string]any{
		"id":            c.id,
		"status":        c.status,
		"amount":        money{o.currency, o.value},
		"final_capture": true,
		"seller_protection": map[string]any{"status": "ELIGIBLE",
			"dispute_categories": []string{"ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"}},
		"custom_id":   o.customID,
		"invoice_id":  o.invoiceID,
		"create_time": stamp(c.created),
		"update_time": stamp(c.updated),
		"links": []link{{self, "self", "GET"}, {self + "/refund", "refund", "POST"},
			{s.apiBase() + "/v2/checkout/orders/" + o.id, "up", "GET"}},
	}
	if c.reason != "" {
		body["status_details"] = map[string]string{"reason": c.reason}
	}
	if c.status != "PENDING" {
		body["seller_receivable_breakdown"] = receivable(o)
	}
	if full {
		body["supplementary_data"] = map[string]any{"related_ids": map[string]string{"order_id": o.id}}
		body["payee"] = map[string]string{"merchant_id": s.app.MerchantID, "email_address": merchantEmail}
	}
	return body
}

// captureEvent is the webhook event for o's capture in its current state.
// Callers hold s.mu.
func (s *Sandbox) captureEvent(o *order) event {
	typ := map[string]string{"COMPLETED": "PAYMENT.CAPTURE.COMPLETED", "PENDING": "PAYMENT.CAPTURE.PENDING",
		"DECLINED": "PAYMENT.CAPTURE.DENIED"}[o.capture.status]
	id := "WH-" + randomID(17) + "-" + randomID(17)
	ev := map[string]any{"id": id, "event_version": "1.0", "create_time": stamp(time.Now()), "resource_type": "capture",
		"resource_version": "2.0", "event_type": typ, "summary": "Payment " + o.capture.status + " for " + o.value + " " + o.currency,
		"resource": s.captureJSON(o, true),
		"links": []link{{s.apiBase() + "/v1/notifications/webhooks-events/" + id, "self", "GET"},
			{s.apiBase() + "/v1/notifications/webhooks-events/" + id + "/resend", "resend", "POST"}}}
	// json.Marshal's compact, HTML-escaped form is what the SDK re-sends to
	// verify-webhook-signature, so the CRC32 matches byte for byte.
	b, _ := json.Marshal(ev)
	return event{id: id, body: b}
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// feeBasisPoints is the sandbox's PayPal fee: 4% of the capture, no fixed
// part. PayPal's real fees depend on the merchant's country, volume and
// contract and appear in no API document; this round figure only gives
// reconciliation a fee and a net to match.
const feeBasisPoints = 400

// receivable is a capture's seller_receivable_breakdown (Orders v2 and
// Payments v2 "capture" definitions; PPS payments_payment_v2.json):
// gross_amount and paypal_fee in the capture's currency, net_amount =
// gross minus fee. It is "not available for transactions that are in
// pending state". The sandbox account holds a balance in every currency it
// takes, so receivable_amount and exchange_rate, "returned only when the
// currency of the captured payment is different from the currency of the
// PayPal account where the payee wants to credit the funds", are omitted.
func receivable(o *order) map[string]any {
	d := paypal.Decimals(o.currency)
	fee := (o.amount*feeBasisPoints + 5_000) / 10_000 // half up, in the currency's minor units
	return map[string]any{
		"gross_amount": money{o.currency, payment.FormatMinor(o.amount, d)},
		"paypal_fee":   money{o.currency, payment.FormatMinor(fee, d)},
		"net_amount":   money{o.currency, payment.FormatMinor(o.amount-fee, d)},
	}
}
