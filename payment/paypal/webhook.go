package paypal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	sdk "github.com/plutov/paypal/v4"

	"im2pay/payment"
)

// The headers PayPal signs a webhook delivery with. The signature is
// SHA256withRSA over transmission_id|transmission_time|webhook_id|crc32(body)
// with the key of the certificate at PAYPAL-CERT-URL.
var webhookHeaders = []string{"PAYPAL-TRANSMISSION-ID", "PAYPAL-TRANSMISSION-TIME", "PAYPAL-TRANSMISSION-SIG",
	"PAYPAL-CERT-URL", "PAYPAL-AUTH-ALGO"}

// The capture events we act on; PayPal sends only those the webhook
// listener subscribed to, anything else is acknowledged and ignored.
const (
	eventCaptureCompleted = "PAYMENT.CAPTURE.COMPLETED"
	eventCapturePending   = "PAYMENT.CAPTURE.PENDING"
	eventCaptureDenied    = "PAYMENT.CAPTURE.DENIED"
	// A refund completed (ours or made in PayPal's portal) and a
	// reversal (chargeback): resource is a refund, see refundNotification.
	eventCaptureRefunded = "PAYMENT.CAPTURE.REFUNDED"
	eventCaptureReversed = "PAYMENT.CAPTURE.REVERSED"
)

type webhookEvent struct {
	ID           string `json:"id"` // WH-…, the same for every retry of one event
	EventType    string `json:"event_type"`
	ResourceType string `json:"resource_type"`
	Resource     struct {
		ID       string `json:"id"` // the capture id
		CustomID string `json:"custom_id"`
	} `json:"resource"`
}

// ParseNotification has PayPal verify the delivery (POST
// /v1/notifications/verify-webhook-signature with our webhook id; only
// verification_status SUCCESS passes), then reads the capture it names back
// from the API. The signature covers only a CRC32 of the body, which anyone
// holding one genuine delivery can match with a forged body, so the Result
// comes from GET /v2/payments/captures/{id}, never from the body.
func (p *Provider) ParseNotification(ctx context.Context, header payment.Header, body []byte) (payment.Notification, error) {
	if len(body) == 0 || !json.Valid(body) {
		return payment.Notification{}, fmt.Errorf("paypal: webhook body is not JSON: %w", payment.ErrMalformed)
	}
	for _, h := range webhookHeaders {
		if http.Header(header).Get(h) == "" {
			return payment.Notification{}, fmt.Errorf("paypal: webhook without %s: %w", h, payment.ErrBadSignature)
		}
	}
	if err := p.verifyWebhook(ctx, header, body); err != nil {
		return payment.Notification{}, err
	}
	var ev webhookEvent
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" || ev.EventType == "" {
		return payment.Notification{}, fmt.Errorf("paypal: webhook event: %w", payment.ErrMalformed)
	}
	n := payment.Notification{EventID: ev.ID}
	switch ev.EventType {
	case eventCaptureCompleted, eventCapturePending, eventCaptureDenied:
	case eventCaptureRefunded, eventCaptureReversed:
		return p.refundNotification(ctx, ev)
	default:
		return n, fmt.Errorf("paypal: webhook %s %s: %w", ev.ID, ev.EventType, payment.ErrIgnored)
	}
	if !idRe.MatchString(ev.Resource.ID) || !outTradeNoRe.MatchString(ev.Resource.CustomID) {
		return n, fmt.Errorf("paypal: webhook %s capture %q for %q: %w", ev.ID, ev.Resource.ID, ev.Resource.CustomID, payment.ErrMalformed)
	}
	r, err := p.capture(ctx, ev.Resource.ID, ev.Resource.CustomID)
	if err != nil {
		return n, err
	}
	n.Result = r
	return n, nil
}

// NamedOrder is the custom_id of the capture a webhook body names, unverified
// (payment.RemoteVerifier): every delivery costs a call to PayPal, so the
// caller rations them per order.
func (p *Provider) NamedOrder(body []byte) string {
	var ev webhookEvent
	if json.Unmarshal(body, &ev) != nil {
		return ""
	}
	return ev.Resource.CustomID
}

// verifyWebhook asks PayPal whether the delivery is genuine. A 4xx answer
// means PayPal found the headers unusable (not ours); any other failure is
// an error the caller turns into a retryable refusal.
func (p *Provider) verifyWebhook(ctx context.Context, header http.Header, body []byte) error {
	var res *sdk.VerifyWebhookResponse
	err := p.call(func(c *sdk.Client) error {
		// The SDK reads the event and the PAYPAL-* headers from a request;
		// it re-encodes the body compactly, which leaves PayPal's own
		// (compact) JSON byte-identical.
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header = header.Clone()
		res, err = c.VerifyWebhookSignature(ctx, req, p.cfg.WebhookID)
		return err
	})
	if _, status := apiIssue(err); status >= 400 && status < 500 && status != http.StatusUnauthorized {
		return fmt.Errorf("paypal: webhook verification refused (%v): %w", err, payment.ErrBadSignature)
	}
	if err != nil {
		return fmt.Errorf("paypal: verify webhook: %w", err)
	}
	if res == nil || res.VerificationStatus != "SUCCESS" {
		status := ""
		if res != nil {
			status = res.VerificationStatus
		}
		return fmt.Errorf("paypal: webhook verification_status %q: %w", status, payment.ErrBadSignature)
	}
	return nil
}

// capture reads one capture and checks it belongs to outTradeNo.
func (p *Provider) capture(ctx context.Context, id, outTradeNo string) (payment.Result, error) {
	var c *sdk.CaptureDetailsResponse
	err := p.call(func(cl *sdk.Client) error {
		var e error
		c, e = cl.CapturedDetail(ctx, id)
		return e
	})
	if _, status := apiIssue(err); status == http.StatusNotFound {
		return payment.Result{}, fmt.Errorf("paypal: capture %s: %w", id, payment.ErrNotFound)
	}
	if err != nil {
		return payment.Result{}, fmt.Errorf("paypal: get capture %s: %w", id, err)
	}
	if c.CustomID != outTradeNo || (c.InvoiceID != "" && c.InvoiceID != outTradeNo) || c.ID != id {
		return payment.Result{}, fmt.Errorf("paypal: capture %s is for %q, event says %q: %w", id, c.CustomID, outTradeNo, payment.ErrWrongMerchant)
	}
	if c.Amount == nil {
		return payment.Result{}, fmt.Errorf("paypal: capture %s has no amount: %w", id, payment.ErrMalformed)
	}
	amount, err := parseValue(c.Amount.Value, c.Amount.Currency)
	if err != nil {
		return payment.Result{}, fmt.Errorf("paypal: capture %s amount %q: %w", id, c.Amount.Value, payment.ErrMalformed)
	}
	r := payment.Result{OutTradeNo: outTradeNo, TradeNo: id, Amount: amount, Currency: c.Amount.Currency}
	at := c.UpdateTime
	if at == nil {
		at = c.CreateTime
	}
	return withCaptureStatus(r, c.Status, at)
}

// Ack answers PayPal: any 2xx stops the retries, anything else makes
// PayPal redeliver (up to 25 times over 3 days).
func (p *Provider) Ack(ok bool) payment.Ack {
	if ok {
		return payment.Ack{Status: http.StatusOK}
	}
	return payment.Ack{Status: http.StatusInternalServerError}
}
