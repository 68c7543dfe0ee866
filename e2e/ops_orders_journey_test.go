package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
	"im2pay/recharge"
	"im2pay/staff"
)

// requeryLanguage is what the operator reads around 补单, written out so a
// missing translation fails.
type requeryLanguage struct {
	timeline, credited, already, paid string
}

func requeryLang(v variant) requeryLanguage {
	if v.lang.tag == "en" {
		return requeryLanguage{timeline: "Provider timeline", credited: "paid, credited",
			already: "already credited before; nothing moved", paid: "Paid"}
	}
	return requeryLanguage{timeline: "支付机构往来记录", credited: "已付款，已入账", already: "此前已入账，本次未再入账", paid: "充值成功"}
}

// lostNotification makes a person who paid ¥68 by Alipay at the sandbox
// whose notification never came: the sandbox took the money and dropped
// the notice, so the order still awaits payment here.
func (s *paySite) lostNotification(t *testing.T, v variant) (string, recharge.Order) {
	t.Helper()
	ctx := context.Background()
	name := uniqueName(t, v, "ordq")
	s.register(t, name)
	o, err := s.recharge.CreateOrder(ctx, recharge.NewOrder{UserID: s.userID(t, name), Method: "alipay", Amount: "68.00",
		Device: payment.Desktop, RequestKey: "e2e-ordq-" + name})
	if err != nil {
		t.Fatalf("order: %v", err)
	}
	next, err := s.recharge.Pay(ctx, o, "127.0.0.1")
	if err != nil || next.RedirectURL == "" {
		t.Fatalf("pay: %+v %v", next, err)
	}
	// The person opens Alipay's cashier: a trade exists there from then on.
	res, err := (&http.Client{Timeout: 2 * time.Minute}).Get(next.RedirectURL)
	if err != nil {
		t.Fatalf("open the cashier: %v", err)
	}
	res.Body.Close()
	if _, err := s.gw.Simulate(ctx, o.OutTradeNo, sim.DropNotify); err != nil {
		t.Fatalf("pay at the sandbox without a notification: %v", err)
	}
	if o, err = s.recharge.OrderByNo(ctx, o.OutTradeNo); err != nil || o.State != recharge.OrderAwaiting {
		t.Fatalf("the order before 补单: %s %v", o.State, err)
	}
	return name, o
}

// balanceOf is a person's wallet balance in fen, from the database.
func (s *paySite) balanceOf(t *testing.T, name string) int64 {
	t.Helper()
	var b int64
	err := s.store.DB().GetContext(context.Background(), &b,
		`SELECT a.balance FROM accounts a JOIN users u ON a.user_id = u.id WHERE u.username = $1`, name)
	if err != nil {
		t.Fatalf("balance of %s: %v", name, err)
	}
	return b
}

// orderRequeryJourney: an operator finds a paid order whose notification
// was lost by its number, reads the provider timeline, presses 补单: the
// order is paid and the person credited once; a second 补单 moves nothing.
func orderRequeryJourney(t *testing.T, s *paySite, p *page, v variant) {
	l := requeryLang(v)
	name, o := s.lostNotification(t, v)
	// What the order was quoted: the rules may have changed since the seed.
	credit := o.Amount + o.TierBonus + o.FirstBonus
	before := s.balanceOf(t, name)

	p.staffLogin(s.site, staff.Operator, v, "ordq")
	p.follow(chromedp.CSS(`nav a[href="/ops/orders"]`), "/ops/orders")
	p.fill(byID("ops-no"), o.OutTradeNo)
	p.follow(byTestID("ops-orders-search"), "/ops/orders")
	row := chromedp.CSS(fmt.Sprintf(`[data-testid="ops-order-row"][data-order=%q]`, o.OutTradeNo))
	if n := p.count(byTestID("ops-order-row")); n != 1 {
		p.fail("the search by number found %d orders, want 1", n)
	}
	p.snap("orders-search")
	p.follow(chromedp.CSS(string(row)+` a[href="/ops/orders/`+url.PathEscape(o.OutTradeNo)+`"]`), "/ops/orders/"+o.OutTradeNo)

	// The timeline: what we sent the provider, still awaiting payment.
	p.wantText(chromedp.CSS(`[data-testid="ops-order-events"] h2`), l.timeline)
	if n := p.count(byTestID("ops-order-event")); n < 1 {
		p.fail("the timeline shows no provider event")
	}
	if got := p.attr(chromedp.CSS(`[data-testid="ops-order-event"]`), "data-kind"); got != "start" {
		p.fail("the first provider event is %q, want start", got)
	}
	if got := p.attr(chromedp.CSS(`p [data-state]`), "data-state"); got != recharge.OrderAwaiting {
		p.fail("the order reads %q before 补单", got)
	}
	p.snap("order-timeline")

	// 补单: the answer swaps in place.
	p.markDocument()
	p.press(byTestID("ops-order-requery-button"))
	p.waitFor("the provider's answer", fmt.Sprintf(`(e => e && e.dataset.said === "paid")(document.querySelector(%q))`,
		string(byTestID("ops-order-answer"))))
	if !p.sameDocument() {
		p.fail("补单 reloaded the page instead of answering in place")
	}
	if got := p.text(byTestID("ops-order-answer")); !strings.Contains(got, l.credited) {
		p.fail("the answer %q does not say %q", got, l.credited)
	}
	p.snap("requery-paid")
	if got := s.balanceOf(t, name) - before; got != credit {
		p.fail("补单 credited %d fen, want %d", got, credit)
	}

	// The page now reads paid, with the credit and the provider's answer.
	p.reload()
	p.wantText(chromedp.CSS(`p [data-state="paid"]`), l.paid)
	if got := p.attr(chromedp.CSS(`[data-testid="ops-order-credited"] [data-fen]`), "data-fen"); got != strconv.FormatInt(credit, 10) {
		p.fail("the page says %s fen credited, want %d", got, credit)
	}
	if n := p.count(chromedp.CSS(`[data-testid="ops-order-event"][data-kind="complete"][data-verified="true"]`)); n < 1 {
		p.fail("the timeline lacks the provider's verified answer")
	}

	// A second 补单: already credited, nothing moves.
	p.press(byTestID("ops-order-requery-button"))
	p.waitFor("the second answer", fmt.Sprintf(`(e => e && e.dataset.said === "already_paid")(document.querySelector(%q))`,
		string(byTestID("ops-order-answer"))))
	if got := p.text(byTestID("ops-order-answer")); !strings.Contains(got, l.already) {
		p.fail("the second answer %q does not say %q", got, l.already)
	}
	p.snap("requery-again")
	if got := s.balanceOf(t, name) - before; got != credit {
		p.fail("after a second 补单 the balance moved by %d fen, want %d in all", got, credit)
	}

	// The person's page shows the one credit.
	p.follow(byTestID("ops-order-person"), "/ops/people/"+strconv.FormatInt(s.userID(t, name), 10))
	if got := p.attr(chromedp.CSS(`[data-testid="ops-person-balance"] [data-fen]`), "data-fen"); got != strconv.FormatInt(before+credit, 10) {
		p.fail("the person page shows %s fen, want %d", got, before+credit)
	}
	p.snap("person")
}
