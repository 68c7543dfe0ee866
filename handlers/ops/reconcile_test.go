package ops_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"im2pay/db"
	"im2pay/handlers"
	"im2pay/handlers/ops"
	"im2pay/ledger"
	"im2pay/payment"
	"im2pay/payment/sandbox/sandboxtest"
	"im2pay/people"
	"im2pay/recharge"
	"im2pay/reconcile"
	"im2pay/staff"
)

// emptyBill stands in for Alipay's bill download (written elsewhere): a
// day on which the provider has no bill at all.
type emptyBill struct{}

func (emptyBill) Bill(context.Context, time.Time) (payment.Bill, error) {
	return payment.Bill{}, payment.ErrNoBill
}

// reconcileConsole is the console with payments through the sandbox and
// reconciliation of Alipay against emptyBill.
func reconcileConsole(t *testing.T) (*console, *recharge.Service, *sandboxtest.Gateway) {
	t.Helper()
	gw := sandboxtest.Start(t, nowhere)
	var pay *recharge.Service
	con := newConsole(t, func(cfg *handlers.Config, d *ops.Deps) {
		store := db.New(d.DB)
		led := ledger.New(store)
		pay = recharge.NewService(store, recharge.Options{Providers: gw.Providers, BaseURL: nowhere,
			Location: time.UTC, Logger: d.Logger, Ledger: led})
		d.Recharge = pay
		d.People = people.New(store, people.Options{Recharge: pay, Location: time.UTC})
		d.Reconcile = reconcile.NewService(store, reconcile.Options{Ledger: led, Recharge: pay, Now: cfg.Now,
			Billers: map[payment.Method]payment.Biller{payment.Alipay: emptyBill{}}})
	})
	return con, pay, gw
}

var reportLink = regexp.MustCompile(`^/ops/reconcile/([0-9]+)\?done=`)

func TestReconcileReportShowsTheDifferencesAndOnlyFinanceResolvesThem(t *testing.T) {
	con, pay, gw := reconcileConsole(t)
	u := registered(t, con, "recon_absent")
	o := paidOrder(t, pay, gw, u.ID, "10.00", "ops-recon-key-0000001")
	day := o.PaidAt.Time.In(reconcile.Beijing()).Format(time.DateOnly)
	con.clock.Advance(48 * time.Hour) // the day is over by the app clock
	run := url.Values{"method": {"alipay"}, "day": {day}}

	viewer := loginAs(t, con, staff.Viewer)
	expectStatus(t, viewer.post("/ops/reconcile", "/ops/reconcile/run", run), http.StatusForbidden)
	op := loginAs(t, con, staff.Operator)
	// Today has no bill yet: refused before the provider is asked.
	today := url.Values{"method": {"alipay"}, "day": {con.clock.Now().In(reconcile.Beijing()).Format(time.DateOnly)}}
	expectStatus(t, op.post("/ops/reconcile", "/ops/reconcile/run", today), http.StatusUnprocessableEntity)

	a := op.post("/ops/reconcile", "/ops/reconcile/run", run)
	m := reportLink.FindStringSubmatch(a.location())
	if a.status != http.StatusSeeOther || m == nil {
		t.Fatalf("run: %d to %q\n%.400s", a.status, a.location(), a.body)
	}
	page := "/ops/reconcile/" + m[1]
	p := op.get(page)
	expectStatus(t, p, http.StatusOK)
	expectContains(t, p, `data-class="absent"`, "本地已入账、渠道无记录", o.OutTradeNo)
	if regexp.MustCompile(`data-testid="ops-reconcile-resolve"`).MatchString(p.body) {
		t.Fatalf("an operator is offered the resolution form")
	}
	expectContains(t, op.get("/ops/reconcile"), `data-testid="ops-reconcile-report"`)
	csv := op.get(page + "/csv")
	expectStatus(t, csv, http.StatusOK)
	expectContains(t, csv, "absent", o.OutTradeNo)

	diffID := regexp.MustCompile(`data-testid="ops-reconcile-diff" data-class="absent" data-id="([0-9]+)"`).FindStringSubmatch(p.body)
	if diffID == nil {
		t.Fatalf("no difference row:\n%s", p.body)
	}
	resolve := "/ops/reconcile/differences/" + diffID[1] + "/resolve"
	note := url.Values{"note": {"渠道次日补单，已核实"}}
	expectStatus(t, op.post(page, resolve, note), http.StatusForbidden)
	expectStatus(t, viewer.post(page, resolve, note), http.StatusForbidden)

	fin := loginAs(t, con, staff.Finance)
	expectStatus(t, fin.post(page, resolve, url.Values{"note": {""}}), http.StatusUnprocessableEntity)
	expectRedirect(t, fin.post(page, resolve, note), page+"?done=ops.reconcile.done.resolved")
	expectContains(t, fin.get(page), `data-resolved="true"`, "渠道次日补单，已核实")
	expectStatus(t, fin.post(page, resolve, note), http.StatusUnprocessableEntity) // resolved already
	if n := len(auditLines(t, con, "reconcile.resolve")); n != 1 {
		t.Fatalf("%d resolve audit lines", n)
	}
	if n := len(auditLines(t, con, "reconcile.run")); n != 1 {
		t.Fatalf("%d run audit lines", n)
	}
	// Nobody's wallet was debited for the absent payment.
	if b := balance(t, con, u); b != 10_00+6_00 {
		t.Fatalf("wallet %d", b)
	}
}
