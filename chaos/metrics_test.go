package chaos

import (
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"
)

// The running server, under its ordinary load of top-ups and charges,
// exports on METRICS_ADDR the series the README and deploy/ name: what an
// operator's curl of /metrics shows after a top-up.
func TestTheRunningServerExportsItsMetrics(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	e := newEnv(t, options{env: []string{"METRICS_ADDR=" + addr, "LOG_FORMAT=json"}})
	l := newLoad(e, 2, 0)
	l.start(2, true)
	// Run until a top-up was credited: the reconciler and notifications
	// credit them on their own time (the bound only catches a hang).
	deadline := time.Now().Add(giveUpAfter)
	for e.countPaid() == 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	e.finish(l, 0)
	scrape := func() []byte {
		res, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return body
	}
	// And until the reconciler (every second here) finished a pass.
	passed := regexp.MustCompile(`(?m)^im2pay_reconciler_passes_total\{result="ok"\} [1-9]`)
	body := scrape()
	for !passed.Match(body) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		body = scrape()
	}
	for _, series := range []string{
		`im2pay_http_requests_total\{method="POST",route="/api/v1/charges",status="201"\} [1-9]`,
		`im2pay_http_request_duration_seconds_bucket\{method="POST",route="/recharge/orders",le="\+Inf"\} [1-9]`,
		`im2pay_topups_total\{method="[a-z]+",outcome="created"\} [1-9]`,
		`im2pay_topups_total\{method="[a-z]+",outcome="paid"\} [1-9]`,
		`im2pay_notifications_total\{outcome="verified",provider="[a-z]+"\} [1-9]`,
		`im2pay_ledger_postings_total\{kind="topup"\} [1-9]`,
		`im2pay_ledger_postings_total\{kind="charge"\} [1-9]`,
		`im2pay_ledger_posting_duration_seconds_count\{kind="charge"\} [1-9]`,
		`im2pay_reconciler_passes_total\{result="ok"\} [1-9]`,
		`im2pay_reconciler_lag_seconds `,
		`go_sql_in_use_connections\{db_name="im2pay"\} `,
		`go_goroutines `,
	} {
		if !regexp.MustCompile(`(?m)^` + series).Match(body) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
}

// countPaid is how many top-ups are credited so far.
func (e *env) countPaid() int {
	var n int
	_ = e.check.Get(&n, `SELECT count(*) FROM recharge_orders WHERE state = 'paid'`)
	return n
}
