// Package paypalsandbox plays PayPal's side of Checkout (Orders API v2) for
// local runs and tests: OAuth client-credentials tokens, orders with
// PayPal-Request-Id idempotency, the approval page (checkoutnow), capture
// with PayPal's 422 issues, capture lookup, and webhooks signed the way
// PayPal signs them, with the verify-webhook-signature endpoint that checks
// them. Everything is kept in memory.
package paypalsandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"im2pay/payment/sandbox/sim"
)

const name = "paypal"

// Sandbox is the PayPal simulator.
type Sandbox struct {
	// WebOrigin is where the approve page is served (see sim.Pages); empty:
	// on the API's origin.
	WebOrigin string

	app     app
	secret  string
	key     *rsa.PrivateKey
	certPEM []byte
	n       *sim.Notifier
	log     *slog.Logger

	mu        sync.Mutex
	tokens    map[string]time.Time // access token → expiry
	orders    map[string]*order    // by order id
	byRequest map[string]reply     // create PayPal-Request-Id → the answer it got
	byTrade   map[string]string    // custom_id → latest order id (for Simulate)
	captures  map[string]string    // capture id → order id
	replies   map[string]reply     // capture PayPal-Request-Id → the answer it got

	clock func() time.Time    // captures, refunds and Transaction Search; SetClock
	edits map[string]BillEdit // Transaction Search falsified, see reporting.go

	refunds       map[string]*refundRec    // refund id → refund
	refundReplies map[string]refundReply   // refund PayPal-Request-Id → the answer it got
	switches      map[string]*RefundSwitch // custom_id → how its next refund goes
}

// reply is a stored successful answer, returned again for a retry with the
// same PayPal-Request-Id. Refusals are not stored: they change nothing, so
// a retried capture (say after the payer picked another funding source)
// runs again.
type reply struct {
	orderID string
	body    []byte
}

var _ sim.Simulator = (*Sandbox)(nil)

// New loads the app, secret and signing key Provision wrote to dir.
func New(dir string, n *sim.Notifier, log *slog.Logger) (*Sandbox, error) {
	a, secret, key, certPEM, err := loadKeys(dir)
	if err != nil {
		return nil, err
	}
	if n == nil {
		n = sim.NewNotifier(nil, 1, log)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sandbox{clock: time.Now, edits: map[string]BillEdit{}, app: *a, secret: secret, key: key, certPEM: certPEM, n: n, log: log,
		tokens: map[string]time.Time{}, orders: map[string]*order{}, byRequest: map[string]reply{},
		byTrade: map[string]string{}, captures: map[string]string{}, replies: map[string]reply{},
		refunds: map[string]*refundRec{}, refundReplies: map[string]refundReply{}, switches: map[string]*RefundSwitch{}}, nil
}

// Name is "paypal", the URL prefix.
func (s *Sandbox) Name() string { return name }

// Routes registers the REST API (as under https://api-m.paypal.com) and the
// approval page (as https://www.paypal.com/checkoutnow) under /paypal/.
func (s *Sandbox) Routes(mux *http.ServeMux) {
	p := "/" + name
	mux.HandleFunc("POST "+p+"/v1/oauth2/token", s.token)
	mux.HandleFunc("POST "+p+"/v2/checkout/orders", s.authed(s.createOrder))
	mux.HandleFunc("GET "+p+"/v2/checkout/orders/{id}", s.authed(s.getOrder))
	mux.HandleFunc("POST "+p+"/v2/checkout/orders/{id}/capture", s.authed(s.captureOrder))
	mux.HandleFunc("GET "+p+"/v2/payments/captures/{id}", s.authed(s.getCapture))
	mux.HandleFunc("POST "+p+"/v2/payments/captures/{id}/refund", s.authed(s.refundCapture))
	mux.HandleFunc("GET "+p+"/v2/payments/refunds/{id}", s.authed(s.getRefund))
	mux.HandleFunc("POST "+p+"/v1/notifications/verify-webhook-signature", s.authed(s.verifyWebhook))
	mux.HandleFunc("GET "+p+"/v1/reporting/transactions", s.authed(s.searchTransactions))
	mux.HandleFunc("GET "+p+"/v1/notifications/certs/{id}", s.cert)
	mux.HandleFunc("GET "+p+"/checkoutnow", s.checkoutPage)
	mux.HandleFunc("POST "+p+"/checkoutnow", s.checkoutSubmit)
}

func (s *Sandbox) apiBase() string { return s.app.BaseURL + "/" + name }

// tokenLifetime is PayPal's usual expires_in for client-credentials tokens.
const tokenLifetime = 32400 * time.Second

// token is POST /v1/oauth2/token: HTTP Basic client_id:secret,
// grant_type=client_credentials. Errors use OAuth's {error, error_description}.
func (s *Sandbox) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(id), []byte(s.app.ClientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.secret)) != 1 {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Client Authentication failed")
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Grant Type is NULL or unsupported")
		return
	}
	tok := "A21AA" + randomString(idAlphabet+"abcdefghijklmnopqrstuvwxyz_-", 92)
	s.mu.Lock()
	now := time.Now()
	for t, exp := range s.tokens { // forget expired tokens as we go
		if now.After(exp) {
			delete(s.tokens, t)
		}
	}
	s.tokens[tok] = now.Add(tokenLifetime)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"scope":        "https://uri.paypal.com/services/payments/payment https://uri.paypal.com/services/applications/webhooks",
		"access_token": tok,
		"token_type":   "Bearer",
		"app_id":       "APP-" + s.app.WebhookID,
		"expires_in":   int(tokenLifetime / time.Second),
		"nonce":        now.UTC().Format(time.RFC3339) + randomID(8),
	})
}

// authed checks the Bearer access token. PayPal answers an unknown or
// expired token with 401 invalid_token, not with the API's error shape.
func (s *Sandbox) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		exp, known := s.tokens[tok]
		s.mu.Unlock()
		if !ok || !known || time.Now().After(exp) {
			oauthError(w, http.StatusUnauthorized, "invalid_token", "Token signature verification failed")
			return
		}
		h(w, r)
	}
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// detail is one entry of an API error's details[].
type detail struct {
	Field       string `json:"field,omitempty"`
	Value       string `json:"value,omitempty"`
	Location    string `json:"location,omitempty"`
	Issue       string `json:"issue"`
	Description string `json:"description"`
}

// apiError writes PayPal's REST error shape: name, message, debug_id,
// details[] with the issue codes, and an information link per issue.
func apiError(w http.ResponseWriter, status int, d ...detail) {
	names := map[int][2]string{
		http.StatusBadRequest: {"INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, or violates schema."},
		http.StatusNotFound:   {"RESOURCE_NOT_FOUND", "The specified resource does not exist."},
		http.StatusUnprocessableEntity: {"UNPROCESSABLE_ENTITY",
			"The requested action could not be performed, semantically incorrect, or failed business validation."},
	}
	n := names[status]
	links := make([]link, 0, len(d))
	for _, x := range d {
		links = append(links, link{Href: "https://developer.paypal.com/docs/api/orders/v2/#error-" + x.Issue,
			Rel: "information_link", Method: "GET"})
	}
	writeJSON(w, status, map[string]any{"name": n[0], "message": n[1], "debug_id": strings.ToLower(randomID(13)),
		"details": d, "links": links})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Paypal-Debug-Id", strings.ToLower(randomID(13)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// PayPal ids (orders, captures, payers, webhooks) are upper-case letters and digits.
const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randomID(n int) string { return randomString(idAlphabet, n) }

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// uuid4 is a random RFC 4122 id, as in PAYPAL-TRANSMISSION-ID.
func uuid4() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
