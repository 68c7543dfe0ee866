package paypal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	sdk "github.com/plutov/paypal/v4"

	"im2pay/payment"
)

// PayPal-Request-Id values. PayPal keeps the response of a request id (per
// app) and returns it again for a retry, so deriving the ids from our order
// makes Start and Complete safe to repeat: a second create returns the same
// order, a second capture the same capture.
func createRequestID(outTradeNo string) string { return "im2pay-create-" + outTradeNo }
func captureRequestID(outTradeNo, orderID string) string {
	return "im2pay-capture-" + outTradeNo + "-" + orderID
}

// Start creates a CAPTURE order with one purchase unit carrying our order
// number as custom_id and invoice_id, and sends the person to its approve
// link. The order id is the ProviderRef every later call needs: PayPal has
// no lookup by our number.
func (p *Provider) Start(ctx context.Context, o payment.Order) (payment.Next, error) {
	// The order carries the price it was quoted (amount and currency as
	// stored): it may predate a change of the configured currency, and
	// PayPal is asked for exactly what the person was shown.
	if !outTradeNoRe.MatchString(o.OutTradeNo) || o.Amount <= 0 || !slices.Contains(Currencies, o.Currency) {
		return payment.Next{}, fmt.Errorf("paypal: bad order %q (%d %s): %w", o.OutTradeNo, o.Amount, o.Currency, payment.ErrMalformed)
	}
	ret, err := url.Parse(o.ReturnURL)
	if err != nil || (ret.Scheme != "https" && ret.Scheme != "http") || ret.Host == "" {
		return payment.Next{}, fmt.Errorf("paypal: return URL %q is not absolute: %w", o.ReturnURL, payment.ErrMalformed)
	}
	units := []sdk.PurchaseUnitRequest{{
		Amount:      &sdk.PurchaseUnitAmount{Currency: o.Currency, Value: value(o.Amount, o.Currency)},
		CustomID:    o.OutTradeNo,
		InvoiceID:   o.OutTradeNo, // PayPal can refuse a second payment with the same invoice_id
		Description: truncate(o.Subject, 127),
	}}
	appCtx := &sdk.ApplicationContext{
		BrandName:          truncate(p.cfg.BrandName, 127),
		ShippingPreference: sdk.ShippingPreferenceNoShipping, // a balance top-up ships nothing
		UserAction:         sdk.UserActionPayNow,             // the button says "Pay Now": we capture at once
		ReturnURL:          o.ReturnURL,
		CancelURL:          cancelURL(o.ReturnURL),
	}
	var order *sdk.Order
	err = p.call(func(c *sdk.Client) error {
		var e error
		order, e = c.CreateOrderWithPaypalRequestID(ctx, sdk.OrderIntentCapture, units, nil, appCtx, createRequestID(o.OutTradeNo))
		return e
	})
	if err != nil {
		return payment.Next{}, fmt.Errorf("paypal: create order: %w", err)
	}
	if !idRe.MatchString(order.ID) {
		return payment.Next{}, fmt.Errorf("paypal: create order returned id %q: %w", order.ID, payment.ErrMalformed)
	}
	approve := link(order.Links, "approve", "payer-action")
	if u, err := url.Parse(approve); err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return payment.Next{}, fmt.Errorf("paypal: order %s has no approve link: %w", order.ID, payment.ErrMalformed)
	}
	return payment.Next{RedirectURL: approve, ProviderRef: order.ID}, nil
}

// cancelURL marks the cancel return so ParseReturn can tell it apart: PayPal
// appends only ?token=<order id> to either URL.
func cancelURL(returnURL string) string {
	if strings.Contains(returnURL, "?") {
		return returnURL + "&cancel=1"
	}
	return returnURL + "?cancel=1"
}

// ParseReturn reads PayPal's redirect: return_url?token=<order id>&PayerID=…
// after approval, cancel_url?token=<order id> after "Cancel and return".
// Nothing in it is signed; it only names the order to Complete.
func (p *Provider) ParseReturn(_ context.Context, query url.Values, _ url.Values) (payment.Return, error) {
	token := query.Get("token")
	if !idRe.MatchString(token) {
		return payment.Return{}, fmt.Errorf("paypal: return token %q: %w", token, payment.ErrMalformed)
	}
	if id := query.Get("PayerID"); id != "" && !idRe.MatchString(id) {
		return payment.Return{}, fmt.Errorf("paypal: return PayerID %q: %w", id, payment.ErrMalformed)
	}
	return payment.Return{ProviderRef: token, Cancelled: query.Get("cancel") == "1"}, nil
}

// Complete captures an approved order. The capture carries a PayPal-Request-Id
// derived from the order, so a retry after a timeout gets the first
// capture's answer instead of capturing twice.
func (p *Provider) Complete(ctx context.Context, outTradeNo, ref string) (payment.Result, error) {
	if !idRe.MatchString(ref) || !outTradeNoRe.MatchString(outTradeNo) {
		return payment.Result{}, fmt.Errorf("paypal: complete %q/%q: %w", outTradeNo, ref, payment.ErrMalformed)
	}
	var order sdk.Order
	err := p.call(func(c *sdk.Client) error {
		// Not c.CaptureOrderWithPaypalRequestId: it flips the client's shared
		// returnRepresentation flag on every call, a data race with any
		// request in flight. The request is the same.
		req, err := c.NewRequest(ctx, http.MethodPost, c.APIBase+"/v2/checkout/orders/"+ref+"/capture", struct{}{})
		if err != nil {
			return err
		}
		req.Header.Set("PayPal-Request-Id", captureRequestID(outTradeNo, ref))
		req.Header.Set("Prefer", "return=representation")
		return c.SendWithAuth(req, &order)
	})
	if err == nil {
		return p.orderResult(outTradeNo, &order)
	}
	issue, status := apiIssue(err)
	switch {
	case status == http.StatusNotFound:
		return payment.Result{}, fmt.Errorf("paypal: capture %s: %w", ref, payment.ErrNotFound)
	case issue == "ORDER_ALREADY_CAPTURED":
		// Captured by an earlier call whose answer we lost (or whose request
		// id PayPal no longer keeps): the order says how it went.
		return p.Query(ctx, outTradeNo, ref)
	case issue == "ORDER_NOT_APPROVED":
		return payment.Result{OutTradeNo: outTradeNo, Status: payment.StatusPending}, nil
	case status == http.StatusUnprocessableEntity && issue != "":
		return captureFailure(outTradeNo, issue), nil
	}
	return payment.Result{}, fmt.Errorf("paypal: capture %s: %w", ref, err)
}

// Query reads the order. Reading never captures: an APPROVED order is
// pending until someone calls Complete (our reconciler does, for people who
// approved and never came back).
func (p *Provider) Query(ctx context.Context, outTradeNo, ref string) (payment.Result, error) {
	order, err := p.getOrder(ctx, outTradeNo, ref)
	if err != nil {
		return payment.Result{}, err
	}
	return p.orderResult(outTradeNo, order)
}

// Close cannot close anything: the Orders API has no call to void a CAPTURE
// order. An order nobody captures simply expires (3 hours unapproved, then
// GET answers 404), and we never capture an order we gave up on. So Close
// only checks that the order was not captured meanwhile.
func (p *Provider) Close(ctx context.Context, outTradeNo, ref string) error {
	order, err := p.getOrder(ctx, outTradeNo, ref)
	if errors.Is(err, payment.ErrNotFound) {
		return nil // expired
	}
	if err != nil {
		return err
	}
	if order.Status == sdk.OrderStatusCompleted {
		return fmt.Errorf("paypal: order %s: %w", ref, payment.ErrAlreadyPaid)
	}
	return nil
}

func (p *Provider) getOrder(ctx context.Context, outTradeNo, ref string) (*sdk.Order, error) {
	if !idRe.MatchString(ref) {
		return nil, fmt.Errorf("paypal: order ref %q: %w", ref, payment.ErrNotFound)
	}
	var order *sdk.Order
	err := p.call(func(c *sdk.Client) error {
		var e error
		order, e = c.GetOrder(ctx, ref)
		return e
	})
	if _, status := apiIssue(err); status == http.StatusNotFound {
		return nil, fmt.Errorf("paypal: order %s (%s): %w", ref, outTradeNo, payment.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("paypal: get order %s: %w", ref, err)
	}
	return order, nil
}

// apiIssue is the first details[].issue and the HTTP status of a PayPal
// error response ("", 0 for other errors).
func apiIssue(err error) (string, int) {
	var er *sdk.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return "", 0
	}
	for _, d := range er.Details {
		if d.Issue != "" {
			return d.Issue, er.Response.StatusCode
		}
	}
	return "", er.Response.StatusCode
}

func link(links []sdk.Link, rels ...string) string {
	for _, rel := range rels {
		for _, l := range links {
			if l.Rel == rel {
				return l.Href
			}
		}
	}
	return ""
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}
