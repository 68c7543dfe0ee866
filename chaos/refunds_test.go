package chaos

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"im2pay/internal/figures"
	alipaysandbox "im2pay/payment/sandbox/alipay"
	"im2pay/payment/sandbox/sim"
	"im2pay/refund"
	"im2pay/staff"
)

// refundCase is one refund of its own top-up (one person each, so the
// wallet model stays exact): the crash point the app runs with when it is
// sent, and whether the provider refuses it (Alipay's insufficient
// merchant balance, played by the sandbox).
type refundCase struct {
	p       *person
	tp      *topup
	refund  int64 // fen asked back
	refuses bool
	point   string
	crashed bool
}

// F7: refunds under faults. The app kills itself (SIGKILL, refund.CrashEnv)
// after a refund's wallet debit has committed and before its provider is
// asked, and after the provider confirmed it and before we booked it; it
// is started again without the fault. Afterwards every refund is refunded
// or reversed — never both, never neither — and the totals balance.
func TestRefundCrashes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	base := "http://" + e.appAddr
	ops := e.financeStaff("chaos.finance")

	// Per crash point: an Alipay refund answered at once, one Alipay
	// refuses, a WeChat refund and a UnionPay 04 (each accepted, confirmed
	// later by its notification), and a PayPal refund (COMPLETED in the
	// answer, then its PAYMENT.CAPTURE.REFUNDED webhook). Full and partial
	// refunds, so that clawbacks are pro rata. Each case costs two restarts
	// of the app, not a wait: the short run keeps every method.
	type plan struct {
		method  string
		amount  int64
		refund  int64
		refuses bool
	}
	// The answered Alipay refund comes last: after its crash nothing
	// confirms it again until the pass asks, two minutes on (its lease),
	// by when the app runs without that crash point.
	plans := []plan{
		{"alipay", 30_00, 30_00, true},
		{"wechat", 50_00, 20_00, false},
		{"card", 50_00, 20_00, false},
		{"paypal", 40_00, 40_00, false},
		{"alipay", 40_00, 40_00, false},
	}
	// After-confirm first: a refund left in flight by the after-debit
	// crashes is sent again by the pass, and must not meet the
	// after-confirm point before the app runs without faults.
	points := []string{refund.CrashAfterConfirm, refund.CrashAfterDebit}
	var cases []*refundCase
	for i, point := range points {
		for j, pl := range plans {
			name := fmt.Sprintf("rf%d%d%s", i, j, pl.method[:2])
			p, err := register(base, name, 20*time.Second)
			must(t, err)
			tp := &topup{key: "chaos-refund-topup-" + name, user: name, method: pl.method, amount: pl.amount, outcome: sim.Success}
			cases = append(cases, &refundCase{p: p, tp: tp, refund: pl.refund, refuses: pl.refuses, point: point})
		}
	}
	for _, c := range cases {
		deadline := time.Now().Add(time.Minute)
		for {
			out, err := c.p.pay(e.gw, c.tp)
			if out == ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("top-up %s never paid: %s %v", c.tp.key, out, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	e.waitSettled(time.Minute)

	crashes := 0
	for _, point := range points {
		for _, c := range cases {
			if c.point != point {
				continue
			}
			e.restartWith(point)
			if c.refuses {
				e.gw.Alipay.FailNextRefund(c.tp.no, alipaysandbox.FaultSellerBalance)
			}
			status, err := ops.refund(c.tp.no, c.refund)
			// Before the provider call every refund dies; after a
			// confirmation only those the provider confirms.
			if point == refund.CrashAfterDebit || !c.refuses {
				if !e.waitCrash(time.Minute) {
					t.Errorf("refund of %s (%s, %s): the app did not crash (answer %d %v)", c.tp.no, c.tp.method, point, status, err)
					continue
				}
				c.crashed = true
				crashes++
				// Started without the fault: a confirmation the provider
				// delivers again (WeChat's notification) must not kill the
				// next start.
				e.restartWith("")
				// The providers that notify a refund deliver the
				// confirmation again (WeChat's and UnionPay's
				// notifications, PayPal's webhook): it must be booked
				// before the next case runs with the crash point.
				if point == refund.CrashAfterConfirm && c.tp.method != "alipay" {
					e.waitRefundsOf(c.tp.no, 3*time.Minute)
				}
				continue
			}
			if err != nil || status != http.StatusSeeOther {
				t.Errorf("refund of %s (%s) refused by the provider: answer %d %v", c.tp.no, c.tp.method, status, err)
			}
		}
	}
	// Healed: the pass (and the providers' notifications) finish
	// every refund. A refund sent just before a crash stays leased for
	// two minutes, then is asked about.
	e.restartWith("")
	e.waitRefundsDone(5 * time.Minute)
	passed, refunded, reversed := e.verifyRefunds(cases)
	t.Logf("F7: %d refunds, %d crashes, %d refunded, %d reversed, checks passed %d", len(cases), crashes, refunded, reversed, passed)
	figures.Line(t, "chaos", t.Name(), fmt.Sprintf("refunds=%d", len(cases)), fmt.Sprintf("crashes=%d", crashes),
		fmt.Sprintf("refunded=%d", refunded), fmt.Sprintf("reversed=%d", reversed), fmt.Sprintf("checks=%d", passed))
}

// restartWith starts the app again with the refund crash point named
// (none for "").
func (e *env) restartWith(point string) {
	e.t.Helper()
	kept := e.appEnv[:0:0]
	for _, kv := range e.appEnv {
		if !strings.HasPrefix(kv, refund.CrashEnv+"=") {
			kept = append(kept, kv)
		}
	}
	if point != "" {
		kept = append(kept, refund.CrashEnv+"="+point)
	}
	e.appEnv = kept
	e.killApp()
	e.startApp()
}

// waitCrash waits until the app dies by SIGKILL (its own crash point) and
// reaps it; false if it still runs after limit or died otherwise.
func (e *env) waitCrash(limit time.Duration) bool {
	e.t.Helper()
	pid := e.app.Process.Pid
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		var ws syscall.WaitStatus
		got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		if err != nil {
			e.t.Errorf("wait for the app: %v", err)
			e.app = nil
			return false
		}
		if got == pid {
			e.app = nil // reaped here: killApp has nothing left to do
			return ws.Signaled() && ws.Signal() == syscall.SIGKILL
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// waitRefundsOf waits until no refund of order no is in flight.
func (e *env) waitRefundsOf(no string, limit time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var open int
		err := e.check.Get(&open, `SELECT count(*) FROM refunds WHERE out_trade_no = $1 AND state = 'in_flight'`, no)
		if err == nil && open == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Errorf("refund of %s still in flight %s after the restart (%v)", no, limit, err)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitRefundsDone waits until no refund is in flight.
func (e *env) waitRefundsDone(limit time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var open int
		err := e.check.Get(&open, `SELECT count(*) FROM refunds WHERE state IN ('requested', 'in_flight')`)
		if err == nil && open == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Errorf("refunds still open %s after healing: %d (%v)", limit, open, err)
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// verifyRefunds checks every refund against the ledger and the totals
// against a model of every wallet and system account.
func (e *env) verifyRefunds(cases []*refundCase) (passed, refunded, reversed int) {
	e.t.Helper()
	v := &verifier{e: e}
	q := e.check

	v.check("the entries sum to zero, and so does each transaction", append(
		v.count(`SELECT count(*) FROM (SELECT 1 FROM ledger_entries HAVING coalesce(sum(amount), 0) <> 0) s`),
		v.count(`SELECT count(*) FROM (SELECT transaction_id FROM ledger_entries GROUP BY 1 HAVING sum(amount) <> 0) s`)...))
	// Only wallets cache a balance (a system account's would be a hot
	// row): the system accounts' balances are the sums of their entries.
	v.check("each wallet's cached balance equals the sum of its entries", v.count(`SELECT count(*) FROM accounts a
		WHERE a.kind = 'wallet' AND a.balance <> (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e WHERE e.account_id = a.id)`))
	v.check("wallets and system accounts together sum to zero", v.count(`SELECT count(*) FROM (SELECT 1 FROM
		(SELECT coalesce((SELECT sum(balance) FROM accounts WHERE kind = 'wallet'), 0) +
		        coalesce((SELECT sum(e.amount) FROM ledger_entries e JOIN accounts a ON a.id = e.account_id WHERE a.kind = 'system'), 0) AS total) t
		WHERE total <> 0) s`))
	v.check("no wallet below zero", v.count(`SELECT count(*) FROM accounts WHERE kind = 'wallet' AND balance < 0`))

	var inflight []string
	var held, open int64
	if err := q.Get(&held, `SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e JOIN accounts a ON a.id = e.account_id
		WHERE a.kind = 'system' AND a.code = $1`, refund.InFlightAccount); err != nil {
		inflight = append(inflight, err.Error())
	}
	if err := q.Get(&open, `SELECT coalesce(sum(amount + clawback), 0) FROM refunds WHERE state = 'in_flight'`); err != nil {
		inflight = append(inflight, err.Error())
	}
	if held != open {
		inflight = append(inflight, fmt.Sprintf("%s holds %d fen, the open refunds %d", refund.InFlightAccount, held, open))
	}
	v.check("refunds:in-flight holds exactly the open refunds", inflight)

	// Each refund: debited once, then completed or reversed, exactly one.
	type row struct {
		RequestNo string `db:"request_no"`
		State     string `db:"state"`
		Amount    int64  `db:"amount"`
		Clawback  int64  `db:"clawback"`
		Debit     int    `db:"debit"`
		Claw      int    `db:"claw"`
		Done      int    `db:"done"`
		Reversal  int    `db:"reversal"`
	}
	const perOrder = `
		SELECT r.request_no, r.state::text AS state, r.amount, r.clawback,
		       (SELECT count(*) FROM ledger_transactions t WHERE t.idempotency_key = 'refund:' || r.request_no) AS debit,
		       (SELECT count(*) FROM ledger_transactions t WHERE t.idempotency_key = 'refund-clawback:' || r.request_no) AS claw,
		       (SELECT count(*) FROM ledger_transactions t WHERE t.idempotency_key = 'refund-done:' || r.request_no) AS done,
		       (SELECT count(*) FROM ledger_transactions t WHERE t.idempotency_key = 'refund-reversal:' || r.request_no) AS reversal
		  FROM refunds r WHERE r.out_trade_no = $1 AND NOT r.external`
	var exactly []string
	model := map[string]int64{}
	clearing := map[string]int64{}
	var promotion int64
	for _, c := range cases {
		var rows []row
		if err := q.Select(&rows, perOrder, c.tp.no); err != nil {
			exactly = append(exactly, fmt.Sprintf("refunds of %s: %v", c.tp.no, err))
			continue
		}
		if len(rows) != 1 {
			exactly = append(exactly, fmt.Sprintf("order %s (%s, %s): %d refunds, want 1", c.tp.no, c.tp.method, c.point, len(rows)))
			continue
		}
		r := rows[0]
		wantClaw := refund.Clawback(firstBonusFen, c.tp.amount, 0, 0, c.refund)
		wantState, wantDone, wantReversal := refund.StateSucceeded, 1, 0
		if c.refuses {
			wantState, wantDone, wantReversal = refund.StateFailed, 0, 1
		}
		wantClawTx := 0
		if wantClaw > 0 {
			wantClawTx = 1
		}
		if r.State != wantState || r.Amount != c.refund || r.Clawback != wantClaw || r.Debit != 1 || r.Claw != wantClawTx ||
			r.Done != wantDone || r.Reversal != wantReversal {
			exactly = append(exactly, fmt.Sprintf("order %s (%s, %s, crashed %t): %+v; want %s, amount %d, clawback %d, one debit, done %d, reversal %d",
				c.tp.no, c.tp.method, c.point, c.crashed, r, wantState, c.refund, wantClaw, wantDone, wantReversal))
		}
		switch {
		case r.Done > 0 && r.Reversal == 0:
			refunded++
		case r.Reversal > 0 && r.Done == 0:
			reversed++
		}
		// The model: the grant, the top-up with its first bonus, less a
		// refund the provider made.
		w := grantFen + c.tp.amount + firstBonusFen
		clearing[c.tp.method] -= c.tp.amount
		promotion -= firstBonusFen
		if !c.refuses {
			w -= c.refund + wantClaw
			clearing[c.tp.method] += c.refund
			promotion += wantClaw
		}
		model[c.p.name] = w
	}
	v.check("every refund refunded or reversed, never both, never neither", exactly)

	var wallets []string
	for name, want := range model {
		var got int64
		if err := q.Get(&got, `SELECT a.balance FROM accounts a JOIN users u ON u.id = a.user_id WHERE u.username = $1`, name); err != nil {
			wallets = append(wallets, fmt.Sprintf("%s: %v", name, err))
		} else if got != want {
			wallets = append(wallets, fmt.Sprintf("%s holds %d fen, the model says %d", name, got, want))
		}
	}
	v.check("each wallet equals the model", wallets)

	var system []string
	want := map[string]int64{"grants": -int64(len(cases)) * grantFen, "promotion": promotion}
	for method, sum := range clearing {
		want["clearing:"+method] = sum
	}
	for code, w := range want {
		var got int64
		if err := q.Get(&got, `SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e JOIN accounts a ON a.id = e.account_id
			WHERE a.kind = 'system' AND a.code = $1`, code); err != nil || got != w {
			system = append(system, fmt.Sprintf("%s holds %d fen, the model says %d (%v)", code, got, w, err))
		}
	}
	v.check("the clearing accounts, grants and promotion match the model", system)
	return v.passed, refunded, reversed
}

// opsAgent is a finance staff member logged in to /ops in the app.
type opsAgent struct {
	base string
	http *http.Client
}

var (
	opsSecret = regexp.MustCompile(`data-testid="ops-totp-secret">([A-Z2-7]+)<`)
	opsCSRF   = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)
)

// financeStaff adds a finance member with the binary's own command (as an
// operator would) and logs in through the console's pages: the one-time
// password, the forced change, the TOTP enrollment. The session lives in
// the database, so it outlasts every crash.
func (e *env) financeStaff(name string) *opsAgent {
	e.t.Helper()
	cmd := exec.Command(binary, "staff", "add", name, "--role", string(staff.Finance))
	cmd.Env = e.appEnv
	out, err := cmd.Output()
	if err != nil {
		e.t.Fatalf("staff add: %v\n%s", err, out)
	}
	lines := strings.Fields(strings.TrimSpace(string(out)))
	pw := lines[len(lines)-1]
	jar, _ := cookiejar.New(nil)
	a := &opsAgent{base: "http://" + e.appAddr, http: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	step := func(page, action string, form url.Values, to string) string {
		e.t.Helper()
		status, loc, body, err := a.post(page, action, form)
		if err != nil || status != http.StatusSeeOther || loc != to {
			e.t.Fatalf("ops login: %s answered %d to %q, want %q (%v)\n%.500s", action, status, loc, to, err, body)
		}
		return body
	}
	const newPassword = "chaos-console-pass-2026!"
	step("/ops/login", "/ops/login", url.Values{"name": {name}, "password": {pw}}, "/ops/password")
	step("/ops/password", "/ops/password", url.Values{"password": {newPassword}}, "/ops/totp/enroll")
	_, body, err := a.get("/ops/totp/enroll")
	must(e.t, err)
	m := opsSecret.FindStringSubmatch(body)
	if m == nil {
		e.t.Fatalf("no TOTP secret on the enrollment page:\n%.1000s", body)
	}
	code, err := staff.Code(m[1], time.Now())
	must(e.t, err)
	step("/ops/totp/enroll", "/ops/totp/enroll", url.Values{"code": {code}}, "/ops")
	return a
}

func (a *opsAgent) get(path string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.base+path, nil)
	res, err := a.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// post submits a form as the page at page would, with its CSRF token.
func (a *opsAgent) post(page, action string, form url.Values) (status int, location, body string, err error) {
	_, body, err = a.get(page)
	if err != nil {
		return 0, "", "", err
	}
	m := opsCSRF.FindStringSubmatch(body)
	if m == nil {
		return 0, "", body, fmt.Errorf("no CSRF field on %s", page)
	}
	form.Set("_csrf", m[1])
	req, _ := http.NewRequest(http.MethodPost, a.base+action, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := a.http.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(b), err
}

// refund refunds amount of order no from its page; err is set when no
// answer came (the app died on the way).
func (a *opsAgent) refund(no string, amount int64) (int, error) {
	status, _, _, err := a.post("/ops/orders/"+url.PathEscape(no), "/ops/orders/"+url.PathEscape(no)+"/refund",
		url.Values{"amount": {wallet(amount)}, "reason": {"chaos " + strconv.FormatInt(amount, 10)}})
	return status, err
}
