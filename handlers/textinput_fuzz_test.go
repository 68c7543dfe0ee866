package handlers

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzRequestText checks the edge's text check against its promise: a
// request passes only when every text it carries (query, form, JSON
// strings) is UTF-8 without NUL, and reading the body leaves it whole for
// the handler.
func FuzzRequestText(f *testing.F) {
	f.Add("a=1", "application/x-www-form-urlencoded", "name=%E4%BD%A0")
	f.Add("kind=gift%00", "application/x-www-form-urlencoded", "x=1")
	f.Add("", "application/json", `{"user":"a\u0000","n":1}`)
	f.Add("", "application/json", "{\"user\":\"\xff\"}")
	f.Add("from=%ff", "text/plain", "\x00")
	f.Add("", "application/json; charset=utf-8", `{"a":[{"b\u0000":"x"}],"c":{"d":["ok","\u0000"]}}`)
	f.Add("", "application/json", "[\"ok\",{\"k\":\"\xed\xa0\x80\"}]")
	f.Add("", "application/json", `{"esc":"\ud800"}`)
	f.Fuzz(func(t *testing.T, query, contentType, body string) {
		r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(body))
		r.URL.RawQuery = query
		r.Header.Set("Content-Type", contentType)
		_, ok := requestText(r)
		q, _ := url.ParseQuery(query)
		for name, vs := range q {
			for _, v := range append(vs, name) {
				if ok && (!utf8.ValidString(v) || strings.Contains(v, "\x00")) {
					t.Fatalf("passed a query text %q", v)
				}
			}
		}
		if ok && r.PostForm != nil {
			for name, vs := range r.PostForm {
				for _, v := range append(vs, name) {
					if !utf8.ValidString(v) || strings.Contains(v, "\x00") {
						t.Fatalf("passed a form text %q", v)
					}
				}
			}
		}
		if mt, _, _ := mime.ParseMediaType(contentType); ok && mt == "application/json" {
			var v any
			if json.Unmarshal([]byte(body), &v) == nil {
				// Valid JSON passed: its bytes are UTF-8 and no string in
				// it, key or value, at any depth, holds a NUL.
				if !utf8.ValidString(body) {
					t.Fatalf("passed a JSON body that is not UTF-8: %q", body)
				}
				if s, bad := nulString(v); bad {
					t.Fatalf("passed a JSON text with NUL %q in %q", s, body)
				}
			}
		}
		if strings.HasPrefix(contentType, "application/json") && r.Body != nil && r.PostForm == nil {
			if rest, err := io.ReadAll(r.Body); err == nil && string(rest) != body {
				t.Fatalf("the body reached the handler changed: %q, sent %q", rest, body)
			}
		}
	})
}

// nulString finds a string holding NUL anywhere in a decoded JSON value.
func nulString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, strings.Contains(v, "\x00")
	case []any:
		for _, e := range v {
			if s, bad := nulString(e); bad {
				return s, true
			}
		}
	case map[string]any:
		for k, e := range v {
			if strings.Contains(k, "\x00") {
				return k, true
			}
			if s, bad := nulString(e); bad {
				return s, true
			}
		}
	}
	return "", false
}
