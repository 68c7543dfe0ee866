package handlers_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"im2pay/handlers"
	"im2pay/ledger"
	"im2pay/metrics"
	"im2pay/payment/sandbox/sim"
	"im2pay/recharge"
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

func TestPostingsAreCountedByKindOnlyWhenMoneyMoves(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil)
	s := newSite(t, func(c *handlers.Config) { c.Metrics = m })
	s.ledger.Observe(func(kind ledger.Kind, took time.Duration) { m.Posting(string(kind), took) })
	b := funded(t, s, "postings_q9", 20_00)
	expectRedirect(t, buy(b, "stickers_cat", "key-metric-0000001"), "/shop")
	// The same key again is a replay: nothing moves, nothing is counted.
	expectRedirect(t, buy(b, "stickers_cat", "key-metric-0000001"), "/shop")
	// Too little money: refused, nothing counted.
	buy(b, "premium_3m", "key-metric-0000002", "confirmed", "1")
	out := scrape(t, m)
	for _, want := range []string{
		`im2pay_ledger_postings_total{kind="grant"} 1`,
		`im2pay_ledger_postings_total{kind="purchase"} 1`,
		`im2pay_ledger_posting_duration_seconds_count{kind="purchase"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s\n%s", want, grepLines(out, "im2pay_ledger"))
		}
	}
}

func grepLines(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
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

func TestATopUpShowsInTheMetricsFromOrderToNotificationToLedger(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil)
	p := newPaySiteWith(t, paySiteOptions{metrics: m})
	b := p.browser()
	b.register("metered_q9", goodPassword)
	no := p.order(b, "alipay", "68")
	p.pay(b, no)
	p.settle(b, no, sim.Success)
	if state, _ := p.result(b, no, settleBound); state != recharge.OrderPaid {
		t.Fatalf("order %s is %s, want paid", no, state)
	}
	// A forged notification: refused ("fail", as Alipay's protocol has
	// it), and counted so.
	forged := b.do(http.MethodPost, "/pay/notify/alipay", url.Values{"out_trade_no": {no}, "trade_status": {"TRADE_SUCCESS"}})
	if forged.body != "fail" {
		t.Fatalf("forged notification answered %d %q, want Alipay's fail", forged.status, forged.body)
	}
	// The result page may have learnt of the payment by asking Alipay
	// before Alipay's notification arrived: wait for the notification to be
	// handled (it is sent whatever the order's state), however slow the
	// machine, before reading what was counted.
	verified := regexp.MustCompile(`im2pay_notifications_total\{outcome="(verified|duplicate)",provider="alipay"\} [1-9]`)
	out := scrape(t, m)
	for deadline := time.Now().Add(settleBound); !verified.MatchString(out) && time.Now().Before(deadline); out = scrape(t, m) {
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{
		`im2pay_topups_total{method="alipay",outcome="created"} 1`,
		`im2pay_topups_total{method="alipay",outcome="paid"} 1`,
		`im2pay_notifications_total{outcome="refused",provider="alipay"} 1`,
		`im2pay_ledger_postings_total{kind="topup"} 1`,
		`im2pay_ledger_postings_total{kind="bonus"}`,
		`route="/pay/notify/:method"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s\n%s", want, grepLines(out, "im2pay_"))
		}
	}
	if !verified.MatchString(out) {
		t.Errorf("no verified alipay notification counted\n%s", grepLines(out, "im2pay_notifications"))
	}
}
