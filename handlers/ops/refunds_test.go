package ops_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"im2pay/db"
	"im2pay/handlers"
	"im2pay/handlers/ops"
	"im2pay/internal/figures"
	"im2pay/ledger"
	"im2pay/payment/sandbox/sandboxtest"
	"im2pay/people"
	"im2pay/recharge"
	"im2pay/refund"
	"im2pay/staff"
)

// refundConsole is payConsole with the refund service wired as the server
// wires it.
func refundConsole(t *testing.T) (*console, *recharge.Service, *sandboxtest.Gateway) {
	t.Helper()
	gw := sandboxtest.Start(t, nowhere)
	var pay *recharge.Service
	con := newConsole(t, func(_ *handlers.Config, d *ops.Deps) {
		store := db.New(d.DB)
		led := ledger.New(store)
		rf := refund.NewService(store, refund.Options{Ledger: led, Providers: gw.Providers, Logger: d.Logger})
		pay = recharge.NewService(store, recharge.Options{Providers: gw.Providers, BaseURL: nowhere,
			Location: time.UTC, Logger: d.Logger, Ledger: led, RefundNotified: rf.Notified, Debts: rf})
		d.Recharge, d.Refund = pay, rf
		d.People = people.New(store, people.Options{Recharge: pay, Location: time.UTC})
	})
	return con, pay, gw
}

// paidOrder is an Alipay top-up of amount credited by a 补单.
func paidOrder(t *testing.T, pay *recharge.Service, gw *sandboxtest.Gateway, userID int64, amount, key string) recharge.Order {
	t.Helper()
	o := startOrder(t, pay, userID, "alipay", amount, key)
	if _, err := gw.Simulate(context.Background(), o.OutTradeNo, "drop_notify"); err != nil {
		t.Fatal(err)
	}
	after, _, err := pay.Requery(context.Background(), o.OutTradeNo)
	if err != nil || after.State != recharge.OrderPaid {
		t.Fatalf("requery: %s %v", after.State, err)
	}
	return after
}

func TestFinanceRefundsATopUpFromItsOrderPageWithTheClawbackShownFirst(t *testing.T) {
	con, pay, gw := refundConsole(t)
	u := registered(t, con, "refund_me")
	o := paidOrder(t, pay, gw, u.ID, "68.00", "ops-refund-key-000001")
	fin := loginAs(t, con, staff.Finance)
	page := "/ops/orders/" + o.OutTradeNo

	a := fin.get(page)
	expectStatus(t, a, http.StatusOK)
	expectContains(t, a, `data-testid="ops-refund-form"`)
	a = fin.get(page+"/refund/preview?amount=68.00", "HX-Request", "true")
	expectContains(t, a, "退款 ¥68.00，扣回奖励 ¥9.40，钱包共扣除 ¥77.40")

	// A viewer may see the page but not refund.
	viewer := loginAs(t, con, staff.Viewer)
	expectStatus(t, viewer.post(page, page+"/refund", url.Values{"amount": {"68.00"}}), http.StatusForbidden)
	expectStatus(t, fin.post(page, page+"/refund", url.Values{"amount": {"abc"}}), http.StatusUnprocessableEntity)

	a = fin.post(page, page+"/refund", url.Values{"amount": {"68.00"}, "reason": {"客户要求"}})
	expectRedirect(t, a, page+"?refund=succeeded")
	expectContains(t, fin.get(page+"?refund=succeeded"), "已退款。", `data-testid="ops-refund-row" data-state="succeeded"`)
	if b := balance(t, con, u); b != 0 {
		t.Fatalf("wallet %d after a full refund", b)
	}
	if n := len(auditLines(t, con, "refund.send")); n != 1 {
		t.Fatalf("%d refund.send lines", n)
	}
	// Nothing is left: a second refund is refused on the page.
	a = fin.post(page, page+"/refund", url.Values{"amount": {"1.00"}})
	expectStatus(t, a, http.StatusUnprocessableEntity)
	expectContains(t, a, "超过了可退金额。")
}

func TestARefundAboveTheThresholdWaitsForASecondFinanceMember(t *testing.T) {
	con, pay, gw := refundConsole(t)
	u := registered(t, con, "big_refund")
	o := paidOrder(t, pay, gw, u.ID, "648.00", "ops-refund-key-000002")
	asker, second := loginAs(t, con, staff.Finance), loginAs(t, con, staff.Finance)
	page := "/ops/orders/" + o.OutTradeNo
	expectRedirect(t, asker.post(page, page+"/refund", url.Values{"amount": {"600.00"}}), page+"?refund=requested")

	var id int64
	if err := con.store.DB().GetContext(context.Background(), &id, `SELECT id FROM refunds WHERE out_trade_no = $1`, o.OutTradeNo); err != nil {
		t.Fatal(err)
	}
	path := "/ops/refunds/" + strconv.FormatInt(id, 10)
	list := asker.get("/ops/refunds")
	expectContains(t, list, `data-testid="ops-refund-own"`)
	a := asker.post("/ops/refunds", path+"/approve", url.Values{})
	expectStatus(t, a, http.StatusConflict)
	figures.Record(t, "security", "console: a finance member approves their own refund", 1, 0)
	if b := balance(t, con, u); b != 648_00+64_80+6_00 {
		t.Fatalf("money moved before approval: wallet %d", b)
	}
	expectRedirect(t, second.post("/ops/refunds", path+"/approve", url.Values{}), "/ops/refunds?decided=approved")
	if b := balance(t, con, u); b != 648_00+64_80+6_00-600_00-65_56 { // 7080 × 600/648 = 6555.6: ¥65.56 clawed back
		t.Fatalf("wallet %d after the approved refund", b)
	}
	expectStatus(t, second.post("/ops/refunds", path+"/approve", url.Values{}), http.StatusConflict)
	if n := len(auditLines(t, con, "refund.approve")); n != 1 {
		t.Fatalf("%d approval lines", n)
	}
}
