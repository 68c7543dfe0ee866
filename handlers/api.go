package handlers

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"im2pay/ledger"
	"im2pay/spend"
	"im2pay/views/i18n"
	"im2pay/wallet"
)

// apiError is the JSON body of every refusal but 402: a stable code to
// branch on, a message for the developer reading logs, and the field at
// fault when there is one.
type apiError struct {
	Error     string `json:"error"`
	Message   string `json:"message"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// chargeCreated is the 201 answer; chargeRefused the 402. Both are stored
// answers, so they carry no localized text: a repeated key gets the same
// bytes whatever its Accept-Language.
type chargeCreated struct {
	ChargeID   int64  `json:"charge_id"`
	User       string `json:"user"`
	AmountFen  int64  `json:"amount_fen"`
	Reason     string `json:"reason"`
	BalanceFen int64  `json:"balance_fen"`
}

type chargeRefused struct {
	Error        string `json:"error"`
	User         string `json:"user"`
	AmountFen    int64  `json:"amount_fen"`
	BalanceFen   int64  `json:"balance_fen"`
	ShortfallFen int64  `json:"shortfall_fen"`
}

type balanceAnswer struct {
	User       string `json:"user"`
	BalanceFen int64  `json:"balance_fen"`
}

// apiJSON sends v; no answer of the API may be cached anywhere.
func apiJSON(c echo.Context, status int, v any) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, v)
}

// apiProblem answers a refusal: the code without its "api." prefix, and the
// message in the caller's language.
func apiProblem(c echo.Context, status int, p *wallet.Problem) error {
	return apiJSON(c, status, apiError{Error: strings.TrimPrefix(p.Code, "api."),
		Message: i18n.T(c.Request().Context(), p.Code, p.Args...), Field: p.Field})
}

// requireServiceToken admits the IM backend. The comparison is over SHA-256
// digests in constant time, so neither the token's bytes nor its length
// leak through timing. An unset token refuses every call.
func (s *Server) requireServiceToken(next echo.HandlerFunc) echo.HandlerFunc {
	want := sha256.Sum256([]byte(s.cfg.ServiceToken))
	return func(c echo.Context) error {
		scheme, token, _ := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
		token = strings.TrimSpace(token)
		if s.cfg.ServiceToken == "" || !strings.EqualFold(scheme, "Bearer") || token == "" {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="im2pay"`)
			return apiProblem(c, http.StatusUnauthorized, wallet.NewProblem("", "api.unauthorized"))
		}
		got := sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			return apiProblem(c, http.StatusForbidden, wallet.NewProblem("", "api.forbidden"))
		}
		return next(c)
	}
}

// createCharge is POST /api/v1/charges.
func (s *Server) createCharge(c echo.Context) error {
	body, p := readAPIBody(c)
	if p != nil {
		status := http.StatusBadRequest
		if p.Code == "api.media_type" {
			status = http.StatusUnsupportedMediaType
		}
		return apiProblem(c, status, p)
	}
	req, err := decodeCharge(body)
	if err != nil {
		return s.chargeRefusal(c, err)
	}
	ch, err := s.spend.ChargeUser(c.Request().Context(), req)
	if err != nil {
		return s.chargeRefusal(c, err)
	}
	if ch.Replayed {
		c.Response().Header().Set("Idempotent-Replayed", "true")
	}
	if !ch.Charged {
		return apiJSON(c, http.StatusPaymentRequired, chargeRefused{Error: "insufficient_funds", User: ch.User,
			AmountFen: int64(ch.Amount), BalanceFen: int64(ch.Balance), ShortfallFen: int64(ch.Shortfall)})
	}
	return apiJSON(c, http.StatusCreated, chargeCreated{ChargeID: ch.ID, User: ch.User,
		AmountFen: int64(ch.Amount), Reason: ch.Reason, BalanceFen: int64(ch.Balance)})
}

// chargeRefusal maps the domain's refusals to statuses; anything else is
// ours, and goes to the error handler as a 500.
func (s *Server) chargeRefusal(c echo.Context, err error) error {
	var p *wallet.Problem
	switch {
	case isLimitRefusal(err):
		// Before the Problem it unwraps to: the IM backend gets one
		// code for every cap, nothing debited.
		return apiProblem(c, http.StatusUnprocessableEntity, wallet.NewProblem("", "api.limit_reached"))
	case errors.As(err, &p):
		return apiProblem(c, http.StatusBadRequest, p)
	case errors.Is(err, spend.ErrUnknownUser):
		return apiProblem(c, http.StatusNotFound, wallet.NewProblem("user", "api.user_unknown"))
	case errors.Is(err, ledger.ErrIdempotencyMismatch):
		return apiProblem(c, http.StatusConflict, wallet.NewProblem("idempotency_key", "api.key_reused"))
	}
	return err
}

// readAPIBody reads a JSON body of at most maxAPIBody bytes. The router's
// own limit (maxBody) is larger and answers bigger declared bodies before
// we run; apiFailure turns that answer into this one.
func readAPIBody(c echo.Context) ([]byte, *wallet.Problem) {
	r := c.Request()
	if mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType)); err != nil || mt != echo.MIMEApplicationJSON {
		return nil, wallet.NewProblem("", "api.media_type")
	}
	tooLarge := wallet.NewProblem("", "api.body_too_large", maxAPIBody)
	if r.ContentLength > maxAPIBody {
		return nil, tooLarge
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAPIBody+1))
	if err != nil {
		return nil, wallet.NewProblem("", "api.bad_request")
	}
	if len(body) > maxAPIBody {
		return nil, tooLarge
	}
	return body, nil
}

// apiBalance is GET /api/v1/balance?user=NAME.
func (s *Server) apiBalance(c echo.Context) error {
	names := c.QueryParams()["user"]
	if len(names) != 1 || names[0] == "" || len(names[0]) > 64 {
		return apiProblem(c, http.StatusBadRequest, wallet.NewProblem("user", "api.user_invalid"))
	}
	u, bal, err := s.spend.BalanceOf(c.Request().Context(), names[0])
	if errors.Is(err, spend.ErrUnknownUser) {
		return apiProblem(c, http.StatusNotFound, wallet.NewProblem("user", "api.user_unknown"))
	}
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, balanceAnswer{User: u.Username, BalanceFen: int64(bal)})
}

// apiFailure is the error handler for /api/ paths: JSON, never a page.
func (s *Server) apiFailure(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, code := http.StatusInternalServerError, "api.internal"
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status = he.Code
		switch he.Code {
		case http.StatusRequestEntityTooLarge:
			// The documented answer for any oversized body, however it was sent.
			status, code = http.StatusBadRequest, "api.body_too_large"
		case http.StatusNotFound:
			code = "api.not_found"
		case http.StatusMethodNotAllowed:
			code = "api.method_not_allowed"
		default:
			if he.Code < 500 {
				code = "api.bad_request"
			}
		}
	}
	if code == "api.body_too_large" {
		err = apiProblem(c, status, wallet.NewProblem("", code, maxAPIBody))
	} else if status >= 500 {
		reqID := c.Response().Header().Get(echo.HeaderXRequestID)
		s.log.ErrorContext(c.Request().Context(), "api request failed", "path", c.Request().URL.Path, "err", err)
		err = apiJSON(c, status, apiError{Error: "internal", RequestID: reqID,
			Message: i18n.T(c.Request().Context(), "api.internal")})
	} else {
		err = apiProblem(c, status, wallet.NewProblem("", code))
	}
	if err != nil {
		s.log.ErrorContext(c.Request().Context(), "write api error", "err", err)
	}
}

// maxAPIBody bounds a charge request: the four fields fit in a few hundred
// bytes, so anything near this is not a charge.
const maxAPIBody = 16 << 10

// chargeFields are the charge body's fields, all required.
var chargeFields = []string{"user", "amount_fen", "reason", "idempotency_key"}

// decodeCharge reads exactly one JSON object with exactly the four fields,
// each once and of its type. encoding/json alone would accept a duplicated
// key (the last wins, so two parties could read two different charges),
// replace invalid UTF-8, and round 1e3 or 10.0 into an integer; each is
// refused here instead. Errors are *wallet.Problem.
func decodeCharge(body []byte) (spend.ChargeRequest, error) {
	var req spend.ChargeRequest
	if !utf8.Valid(body) {
		return req, wallet.NewProblem("", "api.body_utf8")
	}
	malformed := wallet.NewProblem("", "api.body_json")
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return req, malformed
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		name, ok := tok.(string)
		if err != nil || !ok {
			return req, malformed
		}
		if seen[name] {
			return req, wallet.NewProblem(name, "api.field_duplicate", name)
		}
		seen[name] = true
		val, err := dec.Token()
		if err != nil {
			return req, malformed
		}
		if err := setChargeField(&req, name, val); err != nil {
			return req, err
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return req, malformed
	}
	if _, err := dec.Token(); err != io.EOF {
		return req, malformed // a second value, or garbage, after the object
	}
	for _, name := range chargeFields {
		if !seen[name] {
			return req, wallet.NewProblem(name, "api.field_missing", name)
		}
	}
	return req, nil
}

func setChargeField(req *spend.ChargeRequest, name string, val json.Token) error {
	if !slices.Contains(chargeFields, name) {
		shown := []rune(name)
		if len(shown) > 40 {
			shown = append(shown[:40], '…')
		}
		return wallet.NewProblem("", "api.field_unknown", string(shown))
	}
	if name == "amount_fen" {
		n, ok := val.(json.Number)
		if !ok {
			return wallet.NewProblem(name, "api.field_type", name)
		}
		// JSON's grammar already excludes leading zeros and "+"; what is
		// left to refuse is a fraction and an exponent (10.0, 1e3), which
		// encoding/json would quietly turn into integers.
		if strings.ContainsAny(string(n), ".eE") {
			return wallet.NewProblem(name, "api.amount_integer")
		}
		fen, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || fen <= 0 || wallet.Money(fen) > spend.MaxCharge {
			return wallet.NewProblem(name, "api.amount_range", int64(spend.MaxCharge))
		}
		req.Amount = wallet.Money(fen)
		return nil
	}
	s, ok := val.(string)
	if !ok {
		return wallet.NewProblem(name, "api.field_type", name)
	}
	switch name {
	case "user":
		req.User = s
	case "reason":
		req.Reason = s
	case "idempotency_key":
		req.Key = s
	}
	return nil
}
