package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"im2pay/ledger"
	"im2pay/spend"
	"im2pay/wallet"
)

// itemUse is the body of POST /api/v1/items/use.
type itemUse struct {
	User           string `json:"user"`
	Item           string `json:"item"`
	IdempotencyKey string `json:"idempotency_key"`
}

// useItem lets the IM backend spend one unit of a consumable the person
// bought (a priority message from a pack): 200 with the units left, 409
// no_units when none are left (the backend then charges per use), the first
// answer again for a repeated key.
func (s *Server) useItem(c echo.Context) error {
	body, problem := readAPIBody(c)
	if problem != nil {
		return apiProblem(c, http.StatusBadRequest, problem)
	}
	var req itemUse
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || dec.More() || req.User == "" || repeatsKey(body) {
		return apiProblem(c, http.StatusBadRequest, wallet.NewProblem("", "api.body_json"))
	}
	left, replayed, err := s.spend.UseItem(c.Request().Context(), req.User, req.Item, req.IdempotencyKey)
	var p *wallet.Problem
	switch {
	case errors.As(err, &p):
		return apiProblem(c, http.StatusBadRequest, p)
	case errors.Is(err, spend.ErrUnknownUser):
		return apiProblem(c, http.StatusNotFound, wallet.NewProblem("user", "api.user_unknown"))
	case errors.Is(err, spend.ErrNoUnits):
		return apiJSON(c, http.StatusConflict, map[string]any{"error": "no_units", "user": req.User, "item": req.Item, "units_left": 0})
	case errors.Is(err, ledger.ErrIdempotencyMismatch):
		return apiProblem(c, http.StatusConflict, wallet.NewProblem("idempotency_key", "api.key_reused"))
	case err != nil:
		return err
	}
	if replayed {
		c.Response().Header().Set("Idempotent-Replayed", "true")
	}
	return apiJSON(c, http.StatusOK, map[string]any{"user": req.User, "item": req.Item, "units_left": left})
}
