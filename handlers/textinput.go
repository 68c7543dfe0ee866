package handlers

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"im2pay/wallet"
)

// errTextInvalid refuses a page request whose text PostgreSQL could not
// store: it rejects NUL in text, and invalid UTF-8 anywhere.
var errTextInvalid = echo.NewHTTPError(http.StatusBadRequest, "error.text_invalid")

// refuseBadText checks every text input once, at the edge, before any
// handler reads it: the path, the query string, a form body and a JSON
// body. A NUL character or bytes that are not UTF-8 get a 400 with a
// message in the person's language (JSON for the service API) instead of
// reaching PostgreSQL, which refuses both with an error we would show as
// a 500. Provider callbacks are left to their own parsers: each verifies
// its provider's signature over the bytes exactly as they came.
func (s *Server) refuseBadText(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if isProviderCallback(r.URL.Path) {
			return next(c)
		}
		field, ok := requestText(r)
		if ok {
			return next(c)
		}
		if isServiceAPI(r.URL.Path) {
			code := "api.text_invalid"
			if field == bodyNotUTF8 {
				code, field = "api.body_utf8", ""
			}
			return apiProblem(c, http.StatusBadRequest, wallet.NewProblem(field, code))
		}
		return errTextInvalid
	}
}

// bodyNotUTF8 is requestText's field for a JSON body that is not UTF-8.
const bodyNotUTF8 = "\x00body"

// requestText reports whether every text input of r is clean, and if not
// the name of the first field found at fault ("" for the path). It reads a
// form or JSON body and puts it back for the handler.
func requestText(r *http.Request) (field string, ok bool) {
	if !cleanText(r.URL.Path) {
		return "", false
	}
	// A pair ParseQuery cannot read (a malformed escape) is dropped by
	// every reader of the query alike, so only the pairs it reads matter.
	query, _ := url.ParseQuery(r.URL.RawQuery)
	if field, ok := cleanValues(query); !ok {
		return field, false
	}
	if r.Body == nil || r.Body == http.NoBody {
		return "", true
	}
	media, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	switch media {
	case echo.MIMEMultipartForm:
		// No page of ours sends one, and parsing it would spill file
		// parts to temporary files nobody removes.
		return "", false
	case echo.MIMEApplicationForm:
		// What ParseForm reads stays in r.PostForm for the handler.
		if err := r.ParseForm(); err != nil {
			return "", false
		}
		return cleanValues(r.PostForm)
	case echo.MIMEApplicationJSON:
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return "", false
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if !utf8.Valid(body) {
			return bodyNotUTF8, false
		}
		return cleanJSON(body)
	}
	return "", true
}

func cleanValues(vs url.Values) (string, bool) {
	for name, values := range vs {
		if !cleanText(name) {
			return "", false
		}
		for _, v := range values {
			if !cleanText(v) {
				return name, false
			}
		}
	}
	return "", true
}

// cleanJSON walks a JSON body's tokens, names and values alike: a string
// escape (\u0000) decodes to the NUL that the bytes themselves do not
// show. A body that is not JSON at all is the handler's to refuse, with
// its own message.
func cleanJSON(body []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", true
		}
		if s, isString := tok.(string); isString && !cleanText(s) {
			return "", false
		}
	}
}

// cleanText is text PostgreSQL can store: UTF-8 without NUL.
func cleanText(s string) bool {
	return utf8.ValidString(s) && !strings.Contains(s, "\x00")
}
