package paypal

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	sdk "github.com/plutov/paypal/v4"

	"im2pay/payment"
)

// Refunds are POST /v2/payments/captures/{capture_id}/refund (Payments v2,
// PROVIDERS.md §4.4). PayPal-Request-Id is our RequestNo: Payments keeps
// its keys 45 days (§4.4, §4.8) and answers a retry with the first
// refund. The body also carries invoice_id = RequestNo, which PayPal
// refuses to repeat (DUPLICATE_INVOICE_ID), so even a retry after the key
// expired cannot refund twice, and custom_id = our order number.

var _ payment.Refunder = (*Provider)(nil)

type refundRequestBody struct {
	Amount      *sdk.Money `json:"amount,omitempty"`
	InvoiceID   string     `json:"invoice_id,omitempty"`
	CustomID    string     `json:"custom_id,omitempty"`
	NoteToPayer string     `json:"note_to_payer,omitempty"`
}

// refundResource is a Payments v2 refund.
type refundResource struct {
	ID            string `json:"id"`
	Status        string `json:"status"`
	StatusDetails *struct {
		Reason string `json:"reason"`
	} `json:"status_details"`
	Amount     *sdk.Money `json:"amount"`
	InvoiceID  string     `json:"invoice_id"`
	CustomID   string     `json:"custom_id"`
	CreateTime *time.Time `json:"create_time"`
	UpdateTime *time.Time `json:"update_time"`
	Links      []sdk.Link `json:"links"`
}

// refundRefusals are the 422 issues of a refund (§4.4) that refuse it for
// good: nothing was refunded.
var refundRefusals = map[string]payment.RefundFailure{
	"REFUND_AMOUNT_EXCEEDED":                 payment.RefundAlreadyRefunded,
	"CAPTURE_FULLY_REFUNDED":                 payment.RefundAlreadyRefunded,
	"REFUND_TIME_LIMIT_EXCEEDED":             payment.RefundWindowPassed,
	"REFUND_FAILED_INSUFFICIENT_FUNDS":       payment.RefundNoMerchantFunds,
	"TRANSACTION_DISPUTED":                   payment.RefundNotAllowed,
	"REFUND_NOT_PERMITTED_DUE_TO_CHARGEBACK": payment.RefundNotAllowed,
	"PENDING_CAPTURE":                        payment.RefundNotAllowed,
	"MAX_NUMBER_OF_REFUNDS_EXCEEDED":         payment.RefundNotAllowed,
	"PARTIAL_REFUND_NOT_ALLOWED":             payment.RefundNotAllowed,
	"CURRENCY_MISMATCH":                      payment.RefundNotAllowed,
	"REFUND_NOT_ALLOWED":                     payment.RefundNotAllowed,
}

// Refund asks PayPal to refund r.Amount of the capture r.TradeNo. The 201
// answer's status decides: COMPLETED succeeded, PENDING processing (a
// PAYMENT.CAPTURE.REFUNDED webhook or QueryRefund follows), FAILED or
// CANCELLED failed. A 422 issue of refundRefusals is a RefundRefusal;
// 409 PREVIOUS_REQUEST_IN_PROGRESS, 5xx and network errors are errors
// (outcome unknown). DUPLICATE_INVOICE_ID is an error too: a refund with
// this RequestNo exists, only its answer is no longer kept.
func (p *Provider) Refund(ctx context.Context, r payment.RefundRequest) (payment.RefundResult, error) {
	if err := checkRefund(r); err != nil {
		return payment.RefundResult{}, err
	}
	var rf refundResource
	err := p.call(func(c *sdk.Client) error {
		body := refundRequestBody{Amount: &sdk.Money{Currency: r.Currency, Value: value(r.Amount, r.Currency)},
			InvoiceID: r.RequestNo, CustomID: r.OutTradeNo, NoteToPayer: truncate(r.Reason, 255)}
		req, err := c.NewRequest(ctx, http.MethodPost, c.APIBase+"/v2/payments/captures/"+r.TradeNo+"/refund", body)
		if err != nil {
			return err
		}
		req.Header.Set("PayPal-Request-Id", r.RequestNo)
		req.Header.Set("Prefer", "return=representation")
		return c.SendWithAuth(req, &rf)
	})
	if err != nil {
		issue, status := apiIssue(err)
		if f, ok := refundRefusals[issue]; ok && status == http.StatusUnprocessableEntity {
			return payment.RefundResult{}, &payment.RefundRefusal{Failure: f, Code: issue}
		}
		if status == http.StatusNotFound {
			// No such capture: nothing can be refunded, now or later.
			return payment.RefundResult{}, &payment.RefundRefusal{Failure: payment.RefundNotAllowed, Code: "RESOURCE_NOT_FOUND"}
		}
		return payment.RefundResult{}, fmt.Errorf("paypal: refund %s of capture %s: %w", r.RequestNo, r.TradeNo, err)
	}
	res, err := refundResult(&rf, r.TradeNo)
	if err != nil {
		return payment.RefundResult{}, err
	}
	return ours(res, &rf, r)
}

// QueryRefund finds the refund again. We know only our RequestNo, and
// PayPal has no lookup by it, so the query replays the POST with the same
// PayPal-Request-Id (and body): PayPal answers with the refund it made
// then, without refunding again, and then GET /v2/payments/refunds/{id}
// reads its current status (the replayed answer is the first one, which
// may say PENDING long after). A refund PayPal never received is made by
// the replay, which is what its caller wanted: so for PayPal QueryRefund
// never says ErrRefundNotFound; a refusal comes back as *RefundRefusal.
func (p *Provider) QueryRefund(ctx context.Context, r payment.RefundRequest) (payment.RefundResult, error) {
	first, err := p.Refund(ctx, r)
	if err != nil {
		return payment.RefundResult{}, err
	}
	rf, err := p.getRefund(ctx, first.RefundID)
	if err != nil {
		return payment.RefundResult{}, err
	}
	res, err := refundResult(rf, r.TradeNo)
	if err != nil {
		return payment.RefundResult{}, err
	}
	return ours(res, rf, r)
}

// ours checks that a refund PayPal returned is the one r asked for.
func ours(res payment.RefundResult, rf *refundResource, r payment.RefundRequest) (payment.RefundResult, error) {
	if (rf.InvoiceID != "" && rf.InvoiceID != r.RequestNo) || (rf.CustomID != "" && rf.CustomID != r.OutTradeNo) {
		return payment.RefundResult{}, fmt.Errorf("paypal: refund %s is %q of %q, asked for %s of %s: %w",
			rf.ID, rf.InvoiceID, rf.CustomID, r.RequestNo, r.OutTradeNo, payment.ErrWrongMerchant)
	}
	if res.Currency != r.Currency {
		return payment.RefundResult{}, fmt.Errorf("paypal: refund %s in %s, asked in %s: %w", rf.ID, res.Currency, r.Currency, payment.ErrMalformed)
	}
	res.OutTradeNo, res.RequestNo = r.OutTradeNo, r.RequestNo
	return res, nil
}

func checkRefund(r payment.RefundRequest) error {
	if !outTradeNoRe.MatchString(r.OutTradeNo) || !outTradeNoRe.MatchString(r.RequestNo) || !idRe.MatchString(r.TradeNo) ||
		r.Amount <= 0 || !slices.Contains(Currencies, r.Currency) {
		return fmt.Errorf("paypal: refund %q of %q (capture %q, %d %s): %w", r.RequestNo, r.OutTradeNo, r.TradeNo,
			r.Amount, r.Currency, payment.ErrMalformed)
	}
	return nil
}

func (p *Provider) getRefund(ctx context.Context, id string) (*refundResource, error) {
	if !idRe.MatchString(id) {
		return nil, fmt.Errorf("paypal: refund id %q: %w", id, payment.ErrMalformed)
	}
	var rf refundResource
	err := p.call(func(c *sdk.Client) error {
		req, err := c.NewRequest(ctx, http.MethodGet, c.APIBase+"/v2/payments/refunds/"+id, nil)
		if err != nil {
			return err
		}
		return c.SendWithAuth(req, &rf)
	})
	if _, status := apiIssue(err); status == http.StatusNotFound {
		return nil, fmt.Errorf("paypal: refund %s: %w", id, payment.ErrRefundNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("paypal: get refund %s: %w", id, err)
	}
	if rf.ID != id {
		return nil, fmt.Errorf("paypal: asked for refund %s, got %q: %w", id, rf.ID, payment.ErrMalformed)
	}
	return &rf, nil
}

// refundResult reads a refund of the capture captureID ("" = any; the
// capture is named by the refund's "up" link).
func refundResult(rf *refundResource, captureID string) (payment.RefundResult, error) {
	up := upCapture(rf.Links)
	if !idRe.MatchString(rf.ID) || rf.Amount == nil || (captureID != "" && up != captureID) {
		return payment.RefundResult{}, fmt.Errorf("paypal: refund %q (of capture %q, want %q) lacks id, amount or capture: %w",
			rf.ID, up, captureID, payment.ErrMalformed)
	}
	amount, err := parseValue(rf.Amount.Value, rf.Amount.Currency)
	if err != nil || amount <= 0 {
		return payment.RefundResult{}, fmt.Errorf("paypal: refund %s amount %q: %w", rf.ID, rf.Amount.Value, payment.ErrMalformed)
	}
	res := payment.RefundResult{RefundID: rf.ID, Amount: amount, Currency: rf.Amount.Currency, Detail: rf.Status}
	if rf.StatusDetails != nil && rf.StatusDetails.Reason != "" {
		res.Detail += " " + rf.StatusDetails.Reason
	}
	switch rf.Status {
	case "COMPLETED":
		res.Status = payment.RefundSucceeded
		if at := rf.UpdateTime; at != nil {
			res.At = *at
		} else if rf.CreateTime != nil {
			res.At = *rf.CreateTime
		}
	case "PENDING":
		res.Status = payment.RefundProcessing
	case "FAILED", "CANCELLED":
		// PayPal gives no reason beyond the status (§4.4).
		res.Status, res.Failure = payment.RefundFailed, payment.RefundNotAllowed
	default:
		return payment.RefundResult{}, fmt.Errorf("paypal: refund %s status %q: %w", rf.ID, rf.Status, payment.ErrMalformed)
	}
	return res, nil
}

// upCapture is the capture id in a refund's rel "up" link
// (…/v2/payments/captures/{id}), or "".
func upCapture(links []sdk.Link) string {
	href := link(links, "up")
	i := strings.LastIndex(href, "/v2/payments/captures/")
	if i < 0 {
		return ""
	}
	id := href[i+len("/v2/payments/captures/"):]
	if !idRe.MatchString(id) {
		return ""
	}
	return id
}

// refundNotification reads PAYMENT.CAPTURE.REFUNDED or .REVERSED. The
// resource shape of these events is unverified (§4.4): we take it to be a
// Payments v2 refund whose "up" link names the capture, as GET
// /v2/payments/refunds/{id} returns it, because that is what a refund is in
// the Payments API and because the captures' own webhooks carry the
// capture resource. Nothing in the body is trusted beyond the refund id:
// the refund is read back from PayPal, the capture from its "up" link, and
// the order is the capture's custom_id. A refund carrying our invoice_id
// (= RequestNo) is ours; any other (PayPal's portal) is External, named by
// PayPal's refund id; REVERSED (PayPal took the money back for the payer,
// a chargeback) is always External and Chargeback.
func (p *Provider) refundNotification(ctx context.Context, ev webhookEvent) (payment.Notification, error) {
	n := payment.Notification{EventID: ev.ID}
	if !idRe.MatchString(ev.Resource.ID) {
		return n, fmt.Errorf("paypal: webhook %s refund %q: %w", ev.ID, ev.Resource.ID, payment.ErrMalformed)
	}
	rf, err := p.getRefund(ctx, ev.Resource.ID)
	if err != nil {
		return n, err
	}
	res, err := refundResult(rf, "")
	if err != nil {
		return n, err
	}
	captureID := upCapture(rf.Links)
	var c *sdk.CaptureDetailsResponse
	err = p.call(func(cl *sdk.Client) error {
		var e error
		c, e = cl.CapturedDetail(ctx, captureID)
		return e
	})
	if err != nil {
		return n, fmt.Errorf("paypal: capture %s of refund %s: %w", captureID, rf.ID, err)
	}
	if c.ID != captureID || !outTradeNoRe.MatchString(c.CustomID) ||
		(ev.Resource.CustomID != "" && ev.Resource.CustomID != c.CustomID) ||
		(rf.CustomID != "" && rf.CustomID != c.CustomID) {
		return n, fmt.Errorf("paypal: refund %s of capture %s (%q), event says %q: %w", rf.ID, captureID, c.CustomID,
			ev.Resource.CustomID, payment.ErrWrongMerchant)
	}
	res.OutTradeNo, res.RequestNo = c.CustomID, rf.ID
	res.External = true
	if ev.EventType == eventCaptureReversed {
		res.Chargeback = true
	} else if outTradeNoRe.MatchString(rf.InvoiceID) && rf.InvoiceID != c.InvoiceID && rf.InvoiceID != c.CustomID {
		res.RequestNo, res.External = rf.InvoiceID, false
	}
	n.Result = payment.Result{OutTradeNo: c.CustomID, TradeNo: captureID}
	n.Refund = &res
	return n, nil
}
