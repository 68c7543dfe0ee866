package paypalsandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"im2pay/payment"
	"im2pay/payment/paypal"
	"im2pay/payment/sandbox/sim"
)

// Refunds of captures (Payments v2, PROVIDERS.md §4.4):
// POST /v2/payments/captures/{id}/refund with an optional amount (the
// capture's currency; none refunds the rest), invoice_id, custom_id,
// note_to_payer, and PayPal-Request-Id, whose answer is kept 45 days and
// returned again for a retry (§4.4, §4.8). The 201 answer is the refund,
// COMPLETED at once unless a switch holds it PENDING; a COMPLETED refund
// sends PAYMENT.CAPTURE.REFUNDED. GET /v2/payments/refunds/{id} reads it.
//
// Where the public material is silent the sandbox chooses, and says so:
//   - the refund window: RefundWindow (the length is unverified, §4.4);
//   - the shape of PAYMENT.CAPTURE.REFUNDED / .REVERSED: the refund
//     resource, with links self and up (the capture) (unverified, §4.4);
//   - a refund that FAILS after PENDING sends no webhook
//     (PAYMENT.REFUND.FAILED is unverified, §4.1): only GET tells it;
//   - a chargeback is a COMPLETED refund-shaped resource of the capture
//     sent as PAYMENT.CAPTURE.REVERSED, the capture then REFUNDED or
//     PARTIALLY_REFUNDED with status_details.reason CHARGEBACK (§4.1 lists
//     the reason).

// RefundWindow is how long after the capture a refund is accepted: 180
// days, PayPal's commonly quoted figure; unverified (§4.4 "the refund
// window's length is (unverified)"). Later: 422 REFUND_TIME_LIMIT_EXCEEDED.
const RefundWindow = 180 * 24 * time.Hour

// IdempotencyWindow is how long a refund's PayPal-Request-Id is kept (§4.4).
const IdempotencyWindow = 45 * 24 * time.Hour

// RefundSwitch is how the next refund of one order (custom_id) goes; the
// zero value completes at once. Each switch serves one refund.
type RefundSwitch struct {
	// Issue refuses the request with this 422 issue, e.g.
	// REFUND_FAILED_INSUFFICIENT_FUNDS or TRANSACTION_DISPUTED.
	Issue string
	// Pending answers PENDING (status_details.reason ECHECK) until
	// FinishRefund.
	Pending bool
	// LoseAnswer makes the refund, then drops the connection unanswered.
	LoseAnswer bool
}

type refundRec struct {
	id, captureID, orderID string
	amount                 int64
	currency, value        string
	invoiceID, customID    string
	note, status, reason   string
	created, updated       time.Time
	reversal               bool // a chargeback (PAYMENT.CAPTURE.REVERSED), not a refund
}

// refundReply is the first answer to a PayPal-Request-Id, returned as it
// was for every retry (a refund since completed still replays PENDING).
type refundReply struct {
	refundID, captureID string
	at                  time.Time
	body                []byte
}

type refundBody struct {
	Amount      *money `json:"amount"`
	InvoiceID   string `json:"invoice_id"`
	CustomID    string `json:"custom_id"`
	NoteToPayer string `json:"note_to_payer"`
}

var refundIssueText = map[string]string{
	"REFUND_AMOUNT_EXCEEDED":           "The refund amount must be less than or equal to the capture amount that has not yet been refunded.",
	"CAPTURE_FULLY_REFUNDED":           "The capture has already been fully refunded.",
	"REFUND_TIME_LIMIT_EXCEEDED":       "You are over the time limit to perform a refund on this capture.",
	"REFUND_FAILED_INSUFFICIENT_FUNDS": "Capture could not be refunded due to insufficient funds.",
	"TRANSACTION_DISPUTED":             "Partial refunds cannot be offered at this time because there is an open case on this transaction.",
	"PENDING_CAPTURE":                  "Cannot initiate a refund as the capture is pending.",
	"CURRENCY_MISMATCH":                "Refund must be in the same currency as the capture.",
	"DUPLICATE_INVOICE_ID":             "Requested invoice number has been previously submitted.",
}

func refundIssue(w http.ResponseWriter, issue string) {
	apiError(w, http.StatusUnprocessableEntity, detail{Issue: issue, Description: refundIssueText[issue]})
}

// refundCapture is POST /v2/payments/captures/{id}/refund.
func (s *Sandbox) refundCapture(w http.ResponseWriter, r *http.Request) {
	capID, reqID := r.PathValue("id"), r.Header.Get("PayPal-Request-Id")
	var b refundBody
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&b); err != nil {
			apiError(w, http.StatusBadRequest, detail{Issue: "MALFORMED_REQUEST_JSON", Location: "body",
				Description: "The request JSON is not well formed."})
			return
		}
	}
	s.mu.Lock()
	if rep, ok := s.refundReplies[reqID]; ok && reqID != "" && time.Since(rep.at) < IdempotencyWindow && rep.captureID == capID {
		s.mu.Unlock()
		writeRaw(w, http.StatusCreated, rep.body)
		return
	}
	o := s.orders[s.captures[capID]]
	if o == nil || o.capture == nil {
		s.mu.Unlock()
		apiError(w, http.StatusNotFound, detail{Field: "capture_id", Value: capID, Location: "path",
			Issue: "INVALID_RESOURCE_ID", Description: "Specified resource ID does not exist."})
		return
	}
	rf, sw, issue := s.newRefundLocked(o, b)
	if issue != "" {
		s.mu.Unlock()
		s.log.Info("paypal sandbox: refund refused", "capture", capID, "issue", issue)
		refundIssue(w, issue)
		return
	}
	body, _ := json.Marshal(s.refundJSON(rf))
	if reqID != "" {
		s.refundReplies[reqID] = refundReply{refundID: rf.id, captureID: capID, at: time.Now(), body: body}
	}
	var ev *event
	if rf.status == "COMPLETED" {
		e := s.refundEvent(rf, "PAYMENT.CAPTURE.REFUNDED")
		ev = &e
	}
	s.mu.Unlock()
	s.log.Info("paypal sandbox: refund", "capture", capID, "refund", rf.id, "status", rf.status)
	if ev != nil {
		s.notify(*ev, sim.NotifyNow)
	}
	if sw.LoseAnswer {
		loseAnswer(w)
		return
	}
	writeRaw(w, http.StatusCreated, body)
}

// newRefundLocked validates a refund of o's capture and records it.
func (s *Sandbox) newRefundLocked(o *order, b refundBody) (*refundRec, RefundSwitch, string) {
	c := o.capture
	if c.status == "PENDING" || c.status == "DECLINED" || c.status == "FAILED" {
		return nil, RefundSwitch{}, "PENDING_CAPTURE"
	}
	if s.clock().Sub(c.created) > RefundWindow {
		return nil, RefundSwitch{}, "REFUND_TIME_LIMIT_EXCEEDED"
	}
	if b.InvoiceID != "" {
		for _, x := range s.refunds {
			if x.invoiceID == b.InvoiceID {
				return nil, RefundSwitch{}, "DUPLICATE_INVOICE_ID"
			}
		}
	}
	left := o.amount - s.refundedLocked(c.id)
	amount := left
	if b.Amount != nil {
		if b.Amount.CurrencyCode != o.currency {
			return nil, RefundSwitch{}, "CURRENCY_MISMATCH"
		}
		v, err := payment.ParseMinor(b.Amount.Value, paypal.Decimals(o.currency))
		if err != nil || v <= 0 {
			return nil, RefundSwitch{}, "INVALID_PARAMETER_VALUE"
		}
		amount = v
	}
	sw := s.takeSwitchLocked(o.customID)
	switch {
	case sw.Issue != "":
		return nil, sw, sw.Issue
	case left <= 0:
		return nil, sw, "CAPTURE_FULLY_REFUNDED"
	case amount > left:
		return nil, sw, "REFUND_AMOUNT_EXCEEDED"
	}
	now := s.clock()
	rf := &refundRec{id: randomID(17), captureID: c.id, orderID: o.id, amount: amount, currency: o.currency,
		value: payment.FormatMinor(amount, paypal.Decimals(o.currency)), invoiceID: b.InvoiceID,
		customID: b.CustomID, note: b.NoteToPayer, status: "COMPLETED", created: now, updated: now}
	if rf.customID == "" {
		rf.customID = o.customID // the refund names the capture's order either way (a sandbox choice)
	}
	if sw.Pending {
		rf.status, rf.reason = "PENDING", "ECHECK"
	}
	s.refunds[rf.id] = rf
	s.updateCaptureLocked(o, "")
	return rf, sw, ""
}

// refundedLocked is what the capture's refunds that did not fail hold.
func (s *Sandbox) refundedLocked(captureID string) int64 {
	var sum int64
	for _, rf := range s.refunds {
		if rf.captureID == captureID && rf.status != "FAILED" && rf.status != "CANCELLED" {
			sum += rf.amount
		}
	}
	return sum
}

// updateCaptureLocked sets the capture's status from its refunds.
func (s *Sandbox) updateCaptureLocked(o *order, reason string) {
	c := o.capture
	switch done := s.refundedLocked(c.id); {
	case done >= o.amount:
		c.status = "REFUNDED"
	case done > 0:
		c.status = "PARTIALLY_REFUNDED"
	default:
		c.status = "COMPLETED"
	}
	if reason != "" {
		c.reason = reason
	}
	c.updated = s.clock()
}

func (s *Sandbox) takeSwitchLocked(customID string) RefundSwitch {
	sw := s.switches[customID]
	delete(s.switches, customID)
	if sw == nil {
		return RefundSwitch{}
	}
	return *sw
}

// refundJSON is a refund as Payments v2 shows it. Callers hold s.mu.
func (s *Sandbox) refundJSON(rf *refundRec) map[string]any {
	self := s.apiBase() + "/v2/payments/refunds/" + rf.id
	body := map[string]any{
		"id": rf.id, "status": rf.status, "amount": money{rf.currency, rf.value},
		"create_time": stamp(rf.created), "update_time": stamp(rf.updated),
		"links": []link{{self, "self", "GET"}, {s.apiBase() + "/v2/payments/captures/" + rf.captureID, "up", "GET"}},
	}
	if rf.invoiceID != "" {
		body["invoice_id"] = rf.invoiceID
	}
	if rf.customID != "" {
		body["custom_id"] = rf.customID
	}
	if rf.note != "" {
		body["note_to_payer"] = rf.note
	}
	if rf.reason != "" {
		body["status_details"] = map[string]string{"reason": rf.reason}
	}
	if rf.status == "COMPLETED" {
		fee := int64(0) // the sandbox keeps its fee on refunds (PayPal's fee refund policy is not documented here)
		d := paypal.Decimals(rf.currency)
		body["seller_payable_breakdown"] = map[string]any{
			"gross_amount": money{rf.currency, rf.value}, "paypal_fee": money{rf.currency, payment.FormatMinor(fee, d)},
			"net_amount": money{rf.currency, rf.value}, "total_refunded_amount": money{rf.currency, rf.value}}
	}
	return body
}

// refundEvent is a webhook of typ whose resource is the refund.
func (s *Sandbox) refundEvent(rf *refundRec, typ string) event {
	id := "WH-" + randomID(17) + "-" + randomID(17)
	ev := map[string]any{"id": id, "event_version": "1.0", "create_time": stamp(time.Now()), "resource_type": "refund",
		"resource_version": "2.0", "event_type": typ, "summary": "A " + rf.value + " " + rf.currency + " capture payment was refunded",
		"resource": s.refundJSON(rf),
		"links": []link{{s.apiBase() + "/v1/notifications/webhooks-events/" + id, "self", "GET"},
			{s.apiBase() + "/v1/notifications/webhooks-events/" + id + "/resend", "resend", "POST"}}}
	b, _ := json.Marshal(ev)
	return event{id: id, body: b}
}

// getRefund is GET /v2/payments/refunds/{id}.
func (s *Sandbox) getRefund(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var body map[string]any
	if rf := s.refunds[r.PathValue("id")]; rf != nil {
		body = s.refundJSON(rf)
	}
	s.mu.Unlock()
	if body == nil {
		apiError(w, http.StatusNotFound, detail{Field: "refund_id", Value: r.PathValue("id"), Location: "path",
			Issue: "INVALID_RESOURCE_ID", Description: "Specified resource ID does not exist."})
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// loseAnswer closes the connection without an HTTP answer, as a network
// failure after PayPal processed the request would.
func loseAnswer(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	w.WriteHeader(http.StatusBadGateway)
}

// SetRefundSwitch sets how the next refund of our order outTradeNo goes.
func (s *Sandbox) SetRefundSwitch(outTradeNo string, sw RefundSwitch) {
	s.mu.Lock()
	s.switches[outTradeNo] = &sw
	s.mu.Unlock()
}

// FinishRefund ends a PENDING refund: COMPLETED with a
// PAYMENT.CAPTURE.REFUNDED webhook, or FAILED with none (see above).
func (s *Sandbox) FinishRefund(refundID string, ok bool) error {
	s.mu.Lock()
	rf := s.refunds[refundID]
	if rf == nil || rf.status != "PENDING" {
		s.mu.Unlock()
		return fmt.Errorf("paypal sandbox: no pending refund %s", refundID)
	}
	rf.status, rf.reason, rf.updated = "FAILED", "", s.clock()
	if ok {
		rf.status = "COMPLETED"
	}
	s.updateCaptureLocked(s.orders[rf.orderID], "")
	ev := s.refundEvent(rf, "PAYMENT.CAPTURE.REFUNDED")
	s.mu.Unlock()
	if ok {
		s.notify(ev, sim.NotifyNow)
	}
	return nil
}

// Backdate makes outTradeNo's capture look made d earlier (the refund window).
func (s *Sandbox) Backdate(outTradeNo string, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[s.byTrade[outTradeNo]]
	if o == nil || o.capture == nil {
		return fmt.Errorf("paypal sandbox: no capture for %s", outTradeNo)
	}
	o.capture.created = o.capture.created.Add(-d)
	return nil
}

// PortalRefund is a refund the merchant makes on paypal.com, outside our
// app: COMPLETED at once, no invoice_id of ours, known to us only by its
// PAYMENT.CAPTURE.REFUNDED webhook. It returns the refund id.
func (s *Sandbox) PortalRefund(outTradeNo string, amount int64) (string, error) {
	return s.outsideRefund(outTradeNo, amount, "PAYMENT.CAPTURE.REFUNDED", "")
}

// Chargeback is the payer's bank (or PayPal) taking amount back: a
// PAYMENT.CAPTURE.REVERSED webhook. It returns the reversal's id.
func (s *Sandbox) Chargeback(outTradeNo string, amount int64) (string, error) {
	return s.outsideRefund(outTradeNo, amount, "PAYMENT.CAPTURE.REVERSED", "CHARGEBACK")
}

func (s *Sandbox) outsideRefund(outTradeNo string, amount int64, typ, reason string) (string, error) {
	s.mu.Lock()
	o := s.orders[s.byTrade[outTradeNo]]
	if o == nil || o.capture == nil || amount <= 0 || amount > o.amount-s.refundedLocked(o.capture.id) {
		s.mu.Unlock()
		return "", fmt.Errorf("paypal sandbox: cannot refund %d of %s", amount, outTradeNo)
	}
	now := s.clock()
	rf := &refundRec{id: randomID(17), captureID: o.capture.id, orderID: o.id, amount: amount, currency: o.currency,
		value: payment.FormatMinor(amount, paypal.Decimals(o.currency)), customID: o.customID,
		status: "COMPLETED", created: now, updated: now, reversal: typ == "PAYMENT.CAPTURE.REVERSED"}
	s.refunds[rf.id] = rf
	s.updateCaptureLocked(o, reason)
	ev := s.refundEvent(rf, typ)
	s.mu.Unlock()
	s.notify(ev, sim.NotifyNow)
	return rf.id, nil
}
