package handlers_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/handlers"
	"im2pay/internal/reqlog"
	"im2pay/recharge"
	"im2pay/statement"
)

func TestEveryRequestIsNamedInItsAnswerItsErrorPageAndItsLogLines(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	var mu sync.Mutex
	s := newSite(t, func(c *handlers.Config) { c.Logger = reqlog.New(&lockedWriter{w: &buf, mu: &mu}, "json") })
	b := s.browser()

	// A plain id a proxy in front sent is kept, so one id follows the
	// request through both logs.
	a := b.get("/no-such-page", "X-Request-Id", "edge-4f2a9c1b")
	if got := a.header.Get("X-Request-Id"); got != "edge-4f2a9c1b" {
		t.Fatalf("X-Request-Id = %q, want the proxy's", got)
	}
	expectStatus(t, a, http.StatusNotFound)
	expectContains(t, a, "请求编号：edge-4f2a9c1b")

	// An id that could forge or flood log lines is replaced.
	for _, hostile := range []string{"x\" level=ERROR msg=forged", strings.Repeat("a", 500), "short"} {
		a := b.get("/login", "X-Request-Id", hostile)
		if got := a.header.Get("X-Request-Id"); got == hostile || len(got) < 8 {
			t.Fatalf("hostile id %q answered as %q", hostile, got)
		}
	}

	mu.Lock()
	defer mu.Unlock()
	found := false
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.Contains(line, `"path":"/no-such-page"`) {
			found = true
			if !strings.Contains(line, `"request_id":"edge-4f2a9c1b"`) {
				t.Errorf("access line without its request id: %s", line)
			}
		}
		if strings.Contains(line, "forged") || strings.Contains(line, strings.Repeat("a", 100)) {
			t.Errorf("a hostile id reached the log: %s", line)
		}
	}
	if !found {
		t.Fatalf("no access line for the request:\n%s", buf.String())
	}
}

func TestAFailingRequestLogsItsErrorUnderItsID(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	var mu sync.Mutex
	conn := dbtest.New(t)
	store := db.New(conn)
	svc, _ := services(store, recharge.Options{})
	h := handlers.New(withStatement(svc, statement.New(store, nil, nil)),
		handlers.Config{IdleTimeout: time.Hour, AbsoluteTimeout: time.Hour,
			Logger: reqlog.New(&lockedWriter{w: &buf, mu: &mu}, "json")})
	conn.Close() // every query now fails: a failure of our own
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/readyz", nil)
	req.Header.Set("X-Request-Id", "probe-00000001")
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("readyz = %d", rec.Code)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(buf.String(), `"msg":"not ready"`) || !strings.Contains(buf.String(), `"request_id":"probe-00000001"`) {
		t.Fatalf("the handler's own line lacks the request id:\n%s", buf.String())
	}
}
