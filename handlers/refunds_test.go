package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"im2pay/audit"
	"im2pay/payment/sandbox/sim"
	"im2pay/refund"
)

func TestAPersonAsksForARefundOfAnUnspentTopUpAndSeesItInBothLanguages(t *testing.T) {
	p := newPaySiteWith(t, paySiteOptions{refunds: true})
	b := p.browser()
	b.register("refunder", goodPassword)
	no := p.order(b, "alipay", "68")
	p.pay(b, no)
	p.settle(b, no, sim.Success)
	if state, _ := p.result(b, no, time.Minute); state != "paid" {
		t.Fatalf("order %s", state)
	}
	orders := b.get("/recharge/orders")
	if !strings.Contains(orders.body, `data-testid="order-refund-ask"`) ||
		!strings.Contains(orders.body, "退款 ¥68.00，扣回奖励 ¥9.40，钱包共扣除 ¥77.40") {
		t.Fatalf("我的充值 offers no refund with its clawback:\n%.3000s", orders.body)
	}
	// Without a reason: refused, said on the page.
	a := b.post("/recharge/orders", "/recharge/orders/"+no+"/refund", url.Values{"reason": {""}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/recharge/orders?refund=reason" {
		t.Fatalf("no reason: %d %q", a.status, a.header.Get("Location"))
	}
	a = b.post("/recharge/orders", "/recharge/orders/"+no+"/refund", url.Values{"reason": {"买错了"}})
	if a.header.Get("Location") != "/recharge/orders?refund=asked" {
		t.Fatalf("asking: %d %q", a.status, a.header.Get("Location"))
	}
	page := b.get("/recharge/orders?refund=asked").body
	for _, want := range []string{"退款申请已提交", `data-testid="order-refund" data-state="requested"`, "待审核"} {
		if !strings.Contains(page, want) {
			t.Fatalf("我的充值 lacks %q", want)
		}
	}
	// Someone else cannot ask about this order.
	other := p.browser()
	other.register("stranger", goodPassword)
	if a := other.post("/recharge/orders", "/recharge/orders/"+no+"/refund", url.Values{"reason": {"x"}}); a.status != http.StatusNotFound {
		t.Fatalf("another person's refund request: %d", a.status)
	}
	// Finance approves; the person sees 已退款 and the two statement lines.
	svc := refund.NewService(p.store, refund.Options{Providers: p.gw.Providers})
	pending, err := svc.Pending(t.Context(), 10)
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending = %+v, %v", pending, err)
	}
	var fin int64
	if err := p.store.DB().GetContext(t.Context(), &fin, `INSERT INTO staff (name, role, password_hash, created_at)
		VALUES ('fin', 'finance', 'x', now()) RETURNING id`); err != nil {
		t.Fatal(err)
	}
	if r, err := svc.Approve(t.Context(), pending[0].ID, fin, audit.Entry{StaffID: fin, StaffName: "fin"}); err != nil || r.State != refund.StateSucceeded {
		t.Fatalf("approve = %+v, %v", r, err)
	}
	page = b.get("/recharge/orders").body
	if !strings.Contains(page, `data-state="succeeded"`) || !strings.Contains(page, "已退款") || strings.Contains(page, `data-testid="order-refund-ask"`) {
		t.Fatalf("我的充值 after the refund:\n%.3000s", page)
	}
	history := b.get("/history").body
	for _, want := range []string{"退款", "扣回奖励"} {
		if !strings.Contains(history, want) {
			t.Fatalf("余额明细 lacks %q", want)
		}
	}
	b.header.Set("Accept-Language", "en")
	page = b.get("/recharge/orders").body
	if !strings.Contains(page, "Refunded") || !strings.Contains(page, "refund ¥68.00, bonus clawed back ¥9.40") {
		t.Fatalf("My top-ups in English:\n%.3000s", page)
	}
	if h := b.get("/history").body; !strings.Contains(h, "Bonus clawed back") {
		t.Fatal("the statement has no clawback line in English")
	}
}
