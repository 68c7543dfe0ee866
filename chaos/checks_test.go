package chaos

import (
	"context"
	"fmt"
	"strings"
	"time"

	"im2pay/internal/figures"
)

// firstBonusFen is the first-recharge bonus (recharge.DefaultRules): each
// person with a paid top-up gets it exactly once.
const firstBonusFen = 6_00

// waitSettled waits until no order is pending: the notifications (retried
// by the provider) and the reconciler have resolved every one.
func (e *env) waitSettled(limit time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var pending int
		err := e.check.Get(&pending, `SELECT count(*) FROM recharge_orders WHERE state IN ('awaiting', 'processing')`)
		if err == nil && pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Errorf("orders still pending %s after healing: %d (%v)", limit, pending, err)
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// verifier runs the invariant checks and counts those that passed.
type verifier struct {
	e              *env
	passed, failed int
}

func (v *verifier) check(name string, problems []string) {
	if len(problems) == 0 {
		v.passed++
		return
	}
	v.failed++
	if len(problems) > 10 {
		problems = append(problems[:10], fmt.Sprintf("… and %d more", len(problems)-10))
	}
	v.e.t.Errorf("invariant %q broken:\n  %s", name, strings.Join(problems, "\n  "))
}

// count runs a query that counts offenders; a failing query is a problem too.
func (v *verifier) count(q string, args ...any) []string {
	var n int
	if err := v.e.check.Get(&n, q, args...); err != nil {
		return []string{fmt.Sprintf("%v: %s", err, q)}
	}
	if n != 0 {
		return []string{fmt.Sprintf("%d rows: %s", n, q)}
	}
	return nil
}

// verify checks the ledger against itself, the clients' log and the
// model of every wallet. It returns how many checks passed and how many
// top-ups were credited.
func (e *env) verify(l *load) (passed, credits int) {
	e.t.Helper()
	v := &verifier{e: e}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q := e.check

	v.check("the entries sum to zero, and so does each transaction", append(
		v.count(`SELECT count(*) FROM (SELECT 1 FROM ledger_entries HAVING coalesce(sum(amount), 0) <> 0) s`),
		v.count(`SELECT count(*) FROM (SELECT transaction_id FROM ledger_entries GROUP BY 1 HAVING sum(amount) <> 0) s`)...))

	var neg []string
	neg = append(neg, v.count(`SELECT count(*) FROM accounts WHERE balance < 0`)...)
	if n := l.log.negative.Load(); n > 0 {
		neg = append(neg, fmt.Sprintf("%d of %d reads during the run were below zero", n, l.log.reads.Load()))
	}
	v.check("no wallet below zero in any read", neg)

	v.check("a provider trade credits at most once, a paid order exactly once", append(
		v.count(`SELECT count(*) FROM (SELECT reference FROM ledger_transactions WHERE kind = 'topup' GROUP BY 1 HAVING count(*) > 1) s`),
		v.count(`SELECT count(*) FROM recharge_orders o WHERE o.state = 'paid' AND
			(SELECT count(*) FROM ledger_transactions t WHERE t.idempotency_key = 'topup:' || o.out_trade_no) <> 1`)...))

	v.check("each cached balance equals the sum of its entries", v.count(`SELECT count(*) FROM accounts a
		WHERE a.kind = 'wallet' AND a.balance <> (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e WHERE e.account_id = a.id)`))

	// What the ledger and the charge table hold, by key.
	ledgerCharges := map[string]int{}
	rows, err := q.QueryContext(ctx, `SELECT substr(idempotency_key, 8), count(*) FROM ledger_transactions WHERE kind = 'charge' GROUP BY 1`)
	must(e.t, err)
	for rows.Next() {
		var k string
		var n int
		must(e.t, rows.Scan(&k, &n))
		ledgerCharges[k] = n
	}
	must(e.t, rows.Err())
	answers := map[string]string{}
	rows, err = q.QueryContext(ctx, `SELECT idempotency_key, outcome FROM api_charges`)
	must(e.t, err)
	for rows.Next() {
		var k, o string
		must(e.t, rows.Scan(&k, &o))
		answers[k] = o
	}
	must(e.t, rows.Err())
	orders := map[string]struct {
		State string
		N     int
	}{}
	rows, err = q.QueryContext(ctx, `SELECT o.out_trade_no, o.state::text,
		(SELECT count(*) FROM ledger_transactions t WHERE t.idempotency_key = 'topup:' || o.out_trade_no)
		FROM recharge_orders o`)
	must(e.t, err)
	for rows.Next() {
		var no, state string
		var n int
		must(e.t, rows.Scan(&no, &state, &n))
		orders[no] = struct {
			State string
			N     int
		}{state, n}
		credits += n
	}
	must(e.t, rows.Err())

	var acked, resolved []string
	model := map[string]int64{}
	paidSomething := map[string]bool{}
	var charged, paidAmount int64
	for _, p := range l.people {
		model[p.name] = grantFen
	}
	for _, c := range l.log.charges {
		problems := &acked
		if c.first == unknown {
			problems = &resolved
		}
		want, wantAnswer := 0, "insufficient_funds"
		if c.final == ok {
			want, wantAnswer = 1, "charged"
			model[c.user] -= c.amount
			charged += c.amount
		}
		switch {
		case c.final == "":
			*problems = append(*problems, fmt.Sprintf("charge %s never resolved", c.key))
		case ledgerCharges[c.key] != want || answers[c.key] != wantAnswer:
			*problems = append(*problems, fmt.Sprintf("charge %s answered %s (%d) but the ledger holds it %d times, api_charges says %q",
				c.key, c.final, c.status, ledgerCharges[c.key], answers[c.key]))
		}
	}
	for _, tp := range l.log.topups {
		problems := &acked
		if tp.first != ok {
			problems = &resolved
		}
		o, found := orders[tp.no]
		if tp.final == ok && found && o.State == "paid" && o.N == 1 {
			model[tp.user] += tp.amount
			paidAmount += tp.amount
			paidSomething[tp.user] = true
			continue
		}
		*problems = append(*problems, fmt.Sprintf("top-up %s (order %q, %s): final %q, order %+v", tp.key, tp.no, tp.outcome, tp.final, o))
	}
	v.check("every acknowledged operation is in the ledger exactly once", acked)
	v.check("every unknown resolved to exactly one outcome", resolved)

	var unlogged []string
	okCharges := 0
	for _, c := range l.log.charges {
		if c.final == ok {
			okCharges++
		}
	}
	if len(ledgerCharges) != okCharges {
		unlogged = append(unlogged, fmt.Sprintf("the ledger holds %d charges, the clients' log %d", len(ledgerCharges), okCharges))
	}
	if len(orders) != len(l.log.topups) {
		unlogged = append(unlogged, fmt.Sprintf("%d orders exist for %d keyed top-ups", len(orders), len(l.log.topups)))
	}
	v.check("nothing moved that no client asked for", unlogged)

	var wallets []string
	for name, want := range model {
		if paidSomething[name] {
			want += firstBonusFen
		}
		var got int64
		if err := q.GetContext(ctx, &got, `SELECT a.balance FROM accounts a JOIN users u ON u.id = a.user_id WHERE u.username = $1`, name); err != nil {
			wallets = append(wallets, fmt.Sprintf("%s: %v", name, err))
		} else if got != want {
			wallets = append(wallets, fmt.Sprintf("%s holds %d fen, the model says %d", name, got, want))
		}
	}
	v.check("each wallet equals the model from the clients' log", wallets)

	bonuses := int64(len(paidSomething)) * firstBonusFen
	var system []string
	for code, want := range map[string]int64{
		"revenue:charges": charged,
		"grants":          -int64(len(l.people)) * grantFen,
		"promotion":       -bonuses,
		"clearing:%":      -paidAmount,
	} {
		var got int64
		err := q.GetContext(ctx, &got, `SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e JOIN accounts a ON a.id = e.account_id
			WHERE a.kind = 'system' AND a.code LIKE $1`, code)
		if err != nil || got != want {
			system = append(system, fmt.Sprintf("%s holds %d fen, the model says %d (%v)", code, got, want, err))
		}
	}
	v.check("the system accounts match the model (the total is conserved)", system)

	v.check("no order stays pending after reconciliation", v.count(`SELECT count(*) FROM recharge_orders WHERE state IN ('awaiting', 'processing')`))
	return v.passed, credits
}

// report prints the test's counts, to the log and to the figures file.
func (e *env) report(l *load, cycles, resolvedN, credits, passed int) {
	e.t.Helper()
	okN, failedN, unknownN := l.log.tally()
	e.t.Logf("chaos %s: cycles %d, operations ok %d / failed %d / unknown %d, unknowns resolved %d, credits %d, reads %d, checks passed %d",
		e.t.Name(), cycles, okN, failedN, unknownN, resolvedN, credits, l.log.reads.Load(), passed)
	figures.Line(e.t, "chaos", e.t.Name(), fmt.Sprintf("cycles=%d", cycles), fmt.Sprintf("ok=%d", okN),
		fmt.Sprintf("failed=%d", failedN), fmt.Sprintf("unknown=%d", unknownN), fmt.Sprintf("resolved=%d", resolvedN),
		fmt.Sprintf("credits=%d", credits), fmt.Sprintf("reads=%d", l.log.reads.Load()), fmt.Sprintf("checks=%d", passed))
}

// finish heals and checks: resolve unknowns, wait for the orders to
// settle, verify, report.
func (e *env) finish(l *load, cycles int) {
	e.t.Helper()
	l.stopAndWait()
	if !e.appAlive() {
		e.startApp()
	}
	begin := time.Now()
	resolvedN := l.resolve(2 * time.Minute)
	resolvedAt := time.Now()
	e.waitSettled(2 * time.Minute)
	e.t.Logf("healing: unknowns resolved in %s, orders settled %s later",
		resolvedAt.Sub(begin).Round(time.Millisecond), time.Since(resolvedAt).Round(time.Millisecond))
	passed, credits := e.verify(l)
	e.report(l, cycles, resolvedN, credits, passed)
}
