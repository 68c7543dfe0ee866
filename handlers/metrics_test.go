package handlers_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"im2pay/handlers"
	"im2pay/metrics"
)

// scrape reads what Prometheus would read from m.
func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

func TestRequestsAreCountedByRoutePatternNeverByRawPath(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil)
	s := newSite(t, func(c *handlers.Config) { c.Metrics = m })
	b := s.browser()
	b.register("metrics_q9", goodPassword)
	for _, no := range []string{"A0000000000000001", "A0000000000000002", "A0000000000000003"} {
		expectStatus(t, b.get("/recharge/orders/"+no), http.StatusNotFound)
	}
	for i := range 5 {
		expectStatus(t, b.get("/probe-"+strings.Repeat("x", i+1)), http.StatusNotFound)
	}
	out := scrape(t, m)
	for _, want := range []string{
		`im2pay_http_requests_total{method="GET",route="/recharge/orders/:no",status="404"} 3`,
		`im2pay_http_requests_total{method="GET",route="unmatched",status="404"} 5`,
		`im2pay_http_requests_total{method="POST",route="/register",status="303"} 1`,
		`im2pay_http_request_duration_seconds_count{method="GET",route="/recharge/orders/:no"} 3`,
		"go_goroutines",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, raw := range []string{"A0000000000000001", "probe-x"} {
		if strings.Contains(out, raw) {
			t.Errorf("a raw path became a label: %s", raw)
		}
	}
}

func TestTheReplicaPoolIsExportedBesideThePrimarys(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	m := metrics.New(s.store.DB().DB)
	m.AddReplicaPool(s.store.DB().DB) // any pool will do: only its statistics are read
	out := scrape(t, m)
	for _, want := range []string{`go_sql_max_open_connections{db_name="im2pay"} 20`,
		`go_sql_max_open_connections{db_name="im2pay_replica"} 20`} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
