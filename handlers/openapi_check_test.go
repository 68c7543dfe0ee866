package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"im2pay/apidoc"
)

// apiContract checks real calls against the OpenAPI document: every answer
// must be one it describes, and every request the server accepted (2xx)
// must be one it allows. A refused request is not checked: the document
// may well refuse it too, which is the point of refusing.
type apiContract struct {
	router    routers.Router
	errSchema *openapi3.Schema
}

var (
	contractOnce sync.Once
	contract     *apiContract
	contractErr  error
)

func loadContract() (*apiContract, error) {
	contractOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(apidoc.OpenAPI)
		if err != nil {
			contractErr = err
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			contractErr = err
			return
		}
		r, err := legacy.NewRouter(doc)
		if err != nil {
			contractErr = err
			return
		}
		contract = &apiContract{router: r, errSchema: doc.Components.Schemas["Error"].Value}
	})
	return contract, contractErr
}

// check validates one exchange; it returns why it breaks the document.
func (a *apiContract) check(req *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	// The router matches on the path the document names (server "/").
	u := *req.URL
	u.Scheme, u.Host = "", ""
	r := req.Clone(context.Background())
	r.URL = &u
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := a.router.FindRoute(r)
	// The legacy router answers with fresh RouteErrors, told apart by reason.
	var re *routers.RouteError
	if errors.As(err, &re) && (re.Reason == routers.ErrPathNotFound.Error() || re.Reason == routers.ErrMethodNotAllowed.Error()) {
		// No operation describes a path or method the API lacks; its
		// answer must still be the document's Error.
		want := http.StatusMethodNotAllowed
		if re.Reason == routers.ErrPathNotFound.Error() {
			want = http.StatusNotFound
		}
		if status != want {
			return fmt.Errorf("%v answered %d, want %d", err, status, want)
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return err
		}
		return a.errSchema.VisitJSON(v)
	}
	if err != nil {
		return err
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if status >= 200 && status < 300 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			return err
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	out.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(context.Background(), out)
}

func TestTheOpenAPIDocumentIsValidAndServed(t *testing.T) {
	t.Parallel()
	if _, err := loadContract(); err != nil {
		t.Fatalf("the OpenAPI document: %v", err)
	}
	s := newAPISite(t, serviceToken)
	a := s.api(http.MethodGet, "/api/v1/openapi.json", "", nil)
	expectStatus(t, a, http.StatusOK)
	if a.body != string(apidoc.OpenAPI) || !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
		t.Fatalf("served %q as %q", a.body[:min(len(a.body), 80)], a.header.Get("Content-Type"))
	}
}

func TestTheContractCatchesAnAnswerTheDocumentDoesNotDescribe(t *testing.T) {
	t.Parallel()
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://x/api/v1/balance?user=demo", nil)
	h := http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-store"}}
	if err := c.check(req, nil, 200, h, []byte(`{"user":"demo","balance_fen":1}`)); err != nil {
		t.Fatalf("a true answer refused: %v", err)
	}
	for name, body := range map[string]string{
		"a float balance":   `{"user":"demo","balance_fen":1.5}`,
		"an extra field":    `{"user":"demo","balance_fen":1,"debug":true}`,
		"a missing balance": `{"user":"demo"}`,
	} {
		if err := c.check(req, nil, 200, h, []byte(body)); err == nil {
			t.Errorf("%s passed the contract", name)
		}
	}
	if err := c.check(req, nil, 418, h, []byte(`{}`)); err == nil {
		t.Error("an undocumented status passed the contract")
	}
	bad := http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-store"}}
	if err := c.check(req, nil, 404, bad, []byte(`{"error":"no_such_code","message":"x"}`)); err == nil {
		t.Error("an undocumented error code passed the contract")
	}
}
