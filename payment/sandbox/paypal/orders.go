package paypalsandbox

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"time"
	"unicode/utf8"

	"im2pay/payment"
	"im2pay/payment/paypal"
	"im2pay/payment/sandbox/sim"
)

// Order statuses of the Orders API v2.
const (
	statusCreated   = "CREATED"
	statusApproved  = "APPROVED"
	statusVoided    = "VOIDED"
	statusCompleted = "COMPLETED"
)

// approvalWindow is how long PayPal keeps an order nobody approved; after
// that GET answers 404.
const approvalWindow = 3 * time.Hour

// order is one checkout order and what happened to it.
type order struct {
	id, customID, invoiceID, description string
	amount                               int64 // minor units of currency
	value, currency                      string
	returnURL, cancelURL, brand          string
	status                               string
	payerID                              string
	outcome                              sim.Outcome
	wrongTries                           int
	issue                                string // the 422 issue the next capture gets ("" = it completes)
	retryable                            bool   // the last capture was declined: the payer may approve again
	pendingReason                        string // tests: the capture is held (status_details.reason)
	capture                              *capture
	created, updated                     time.Time
}

type capture struct {
	id, status, reason string
	created, updated   time.Time
}

type link struct {
	Href   string `json:"href"`
	Rel    string `json:"rel"`
	Method string `json:"method"`
}

type money struct {
	CurrencyCode string `json:"currency_code"`
	Value        string `json:"value"`
}

type createRequest struct {
	Intent        string `json:"intent"`
	PurchaseUnits []struct {
		Amount      *money `json:"amount"`
		CustomID    string `json:"custom_id"`
		InvoiceID   string `json:"invoice_id"`
		Description string `json:"description"`
	} `json:"purchase_units"`
	ApplicationContext *experience `json:"application_context"`
	PaymentSource      *struct {
		PayPal *struct {
			ExperienceContext *experience `json:"experience_context"`
		} `json:"paypal"`
	} `json:"payment_source"`
}

// experience is application_context (the SDK's) or the newer
// payment_source.paypal.experience_context: the same fields for us.
type experience struct {
	BrandName string `json:"brand_name"`
	ReturnURL string `json:"return_url"`
	CancelURL string `json:"cancel_url"`
}

// createOrder is POST /v2/checkout/orders. A PayPal-Request-Id seen before
// gets the answer the first request got (same order, same links), even if
// the order moved on since.
func (s *Sandbox) createOrder(w http.ResponseWriter, r *http.Request) {
	reqID := r.Header.Get("PayPal-Request-Id")
	if body, ok := s.createReply(reqID); ok {
		writeRaw(w, http.StatusCreated, body)
		return
	}
	var req createRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, detail{Issue: "MALFORMED_REQUEST_JSON", Location: "body",
			Description: "The request JSON is not well formed."})
		return
	}
	o, status, d := newOrder(&req, s.app.inCountryCurrency())
	if d != nil {
		apiError(w, status, *d)
		return
	}
	s.mu.Lock()
	if rep, ok := s.byRequest[reqID]; ok && reqID != "" { // a concurrent twin won
		s.mu.Unlock()
		writeRaw(w, http.StatusCreated, rep.body)
		return
	}
	o.id = randomID(17)
	full := s.orderJSON(o)
	var body []byte
	if r.Header.Get("Prefer") == "return=representation" {
		body, _ = json.Marshal(full)
	} else { // PayPal's default, return=minimal
		body, _ = json.Marshal(map[string]any{"id": o.id, "status": o.status, "links": full["links"]})
	}
	s.orders[o.id] = o
	s.byTrade[o.customID] = o.id
	if reqID != "" {
		s.byRequest[reqID] = reply{orderID: o.id, body: body}
	}
	s.log.Info("paypal sandbox: order created", "id", o.id, "custom_id", o.customID, "amount", o.value)
	s.mu.Unlock()
	writeRaw(w, http.StatusCreated, body)
}

func (s *Sandbox) createReply(reqID string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rep, ok := s.byRequest[reqID]
	return rep.body, ok && reqID != ""
}

// newOrder validates a create request the way the Orders API does, for the
// fields this sandbox supports (one purchase unit, intent CAPTURE), taking
// the currencies PayPal lists; inCountry is the one in-country currency the
// merchant account may take ("" for an account outside China, Brazil and
// Malaysia).
func newOrder(req *createRequest, inCountry string) (*order, int, *detail) {
	bad := func(status int, field, issue, desc string) (*order, int, *detail) {
		return nil, status, &detail{Field: field, Location: "body", Issue: issue, Description: desc}
	}
	if req.Intent != "CAPTURE" {
		return bad(400, "/intent", "INVALID_PARAMETER_VALUE", "The sandbox supports intent CAPTURE only.")
	}
	if len(req.PurchaseUnits) != 1 {
		return bad(400, "/purchase_units", "INVALID_ARRAY_MAX_ITEMS", "The sandbox takes exactly one purchase unit.")
	}
	pu := req.PurchaseUnits[0]
	if pu.Amount == nil {
		return bad(400, "/purchase_units/0/amount", "MISSING_REQUIRED_PARAMETER", "A required field is missing.")
	}
	cur := pu.Amount.CurrencyCode
	if !slices.Contains(paypal.Currencies, cur) || (slices.Contains(paypal.InCountryCurrencies, cur) && cur != inCountry) {
		// PayPal's Orders v2 troubleshooting (developer.paypal.com/api/errors/overview/)
		// answers CURRENCY_NOT_SUPPORTED with "use a PayPal-supported currency;
		// make sure the receiving PayPal account accepts the currency"; its
		// currency codes page takes CNY, BRL and MYR only for in-country
		// accounts. Which issue a CNY order for an account outside China
		// gets is not documented: this is the nearest one.
		return bad(422, "/purchase_units/0/amount/currency_code", "CURRENCY_NOT_SUPPORTED", "Currency code is unsupported.")
	}
	minor, err := payment.ParseMinor(pu.Amount.Value, paypal.Decimals(cur))
	if err != nil && paypal.Decimals(cur) == 0 {
		if _, derr := payment.ParseMinor(pu.Amount.Value, 2); derr == nil {
			// HUF, JPY and TWD are zero-digit currencies: "If you pass a
			// decimal amount, an error occurs" (currency codes page); the
			// troubleshooting page names it DECIMALS_NOT_SUPPORTED.
			return bad(422, "/purchase_units/0/amount/value", "DECIMALS_NOT_SUPPORTED",
				"Currency does not support decimals. Please refer to https://developer.paypal.com/docs/api/reference/currency-codes/ for more information.")
		}
	}
	if err != nil {
		return bad(400, "/purchase_units/0/amount/value", "INVALID_PARAMETER_SYNTAX", "The value of a field does not conform to the expected format.")
	}
	if minor <= 0 {
		return bad(422, "/purchase_units/0/amount/value", "CANNOT_BE_ZERO_OR_NEGATIVE", "Must be greater than zero.")
	}
	if len(pu.CustomID) > 127 || len(pu.InvoiceID) > 127 || utf8.RuneCountInString(pu.Description) > 127 {
		return bad(400, "/purchase_units/0", "INVALID_STRING_MAX_LENGTH", "The value of a field is too long.")
	}
	exp := req.ApplicationContext
	if req.PaymentSource != nil && req.PaymentSource.PayPal != nil && req.PaymentSource.PayPal.ExperienceContext != nil {
		exp = req.PaymentSource.PayPal.ExperienceContext
	}
	if exp == nil || !absoluteURL(exp.ReturnURL) || !absoluteURL(exp.CancelURL) {
		// Needed for the redirect flow: PayPal has nowhere to send the payer back.
		return bad(422, "/application_context/return_url", "RETURN_URL_REQUIRED", "The return url and cancel url are required.")
	}
	now := time.Now()
	return &order{customID: pu.CustomID, invoiceID: pu.InvoiceID, description: pu.Description, amount: minor,
		value: payment.FormatMinor(minor, paypal.Decimals(cur)), currency: cur, returnURL: exp.ReturnURL, cancelURL: exp.CancelURL,
		brand: exp.BrandName, status: statusCreated, created: now, updated: now}, 0, nil
}

func absoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// getOrder is GET /v2/checkout/orders/{id}.
func (s *Sandbox) getOrder(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	o := s.lookup(r.PathValue("id"))
	var body any
	if o != nil {
		body = s.orderJSON(o)
	}
	s.mu.Unlock()
	if o == nil {
		notFound(w, r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func notFound(w http.ResponseWriter, id string) {
	apiError(w, http.StatusNotFound, detail{Field: "order_id", Value: id, Location: "path", Issue: "INVALID_RESOURCE_ID",
		Description: "Specified resource ID does not exist. Please check the resource ID and try again."})
}

// lookup finds an order, dropping it once its approval window has passed
// without approval. Callers hold s.mu.
func (s *Sandbox) lookup(id string) *order {
	o := s.orders[id]
	if o != nil && o.status == statusCreated && time.Since(o.created) > approvalWindow {
		delete(s.orders, id)
		return nil
	}
	return o
}

// orderJSON is the full representation of an order. Callers hold s.mu.
func (s *Sandbox) orderJSON(o *order) map[string]any {
	self := s.apiBase() + "/v2/checkout/orders/" + o.id
	links := []link{{Href: self, Rel: "self", Method: "GET"}}
	if o.status != statusCompleted && o.status != statusVoided {
		links = append(links, link{Href: s.checkoutURL(o.id), Rel: "approve", Method: "GET"},
			link{Href: self, Rel: "update", Method: "PATCH"}, link{Href: self + "/capture", Rel: "capture", Method: "POST"})
	}
	pu := map[string]any{
		"reference_id": "default",
		"amount":       money{o.currency, o.value},
		"payee":        map[string]string{"merchant_id": s.app.MerchantID, "email_address": merchantEmail},
		"description":  o.description,
		"custom_id":    o.customID,
		"invoice_id":   o.invoiceID,
	}
	if o.capture != nil {
		pu["payments"] = map[string]any{"captures": []any{s.captureJSON(o, false)}}
	}
	body := map[string]any{"id": o.id, "intent": "CAPTURE", "status": o.status, "purchase_units": []any{pu},
		"create_time": stamp(o.created), "update_time": stamp(o.updated), "links": links}
	if o.payerID != "" {
		body["payer"] = map[string]any{"name": map[string]string{"given_name": "Sandbox", "surname": "Buyer"},
			"email_address": buyerEmail, "payer_id": o.payerID}
	}
	return body
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
