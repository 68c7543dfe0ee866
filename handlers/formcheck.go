package handlers

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// strictForm refuses, with a 400, a form that moves money but that none of
// our pages could have sent: a field given twice (we would read the first
// value while a log, a proxy or a later step may read another), a field
// the form does not have (a price or amount_fen beside a product is never
// honoured, and is not silently ignored either), or bytes that are not
// UTF-8 (PostgreSQL refuses them, which would surface as a 500). fields
// are the form's own fields; the CSRF token is always allowed.
func strictForm(c echo.Context, fields ...string) error {
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	for name, values := range form {
		known := name == "_csrf" || slices.Contains(fields, name)
		if !known || len(values) != 1 || !utf8.ValidString(values[0]) {
			return echo.NewHTTPError(http.StatusBadRequest)
		}
	}
	return nil
}

// repeatsKey reports whether the JSON object in body names a member twice
// at its top level. encoding/json keeps the last one silently, so two
// readers of one request could act on two different values.
func repeatsKey(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false // not an object: the caller's decoder refuses it
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		name, ok := tok.(string)
		if err != nil || !ok {
			return false
		}
		if seen[name] {
			return true
		}
		seen[name] = true
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return false
		}
	}
	return false
}
