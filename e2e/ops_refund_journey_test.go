package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"im2pay/recharge"
	"im2pay/refund"
	"im2pay/staff"
	"im2pay/wallet"
)

// refundLanguage is what the refund journeys read, written out here, not
// looked up in the catalog, so a missing translation fails.
type refundLanguage struct {
	preview    string // "退款 ¥…，扣回奖励 ¥…，钱包共扣除 ¥…", a format of three amounts
	reason     string // typed by finance, or by the person
	requested  string // the order page after asking above the threshold
	ownRefused string // the asker's own approval refused
	approved   string // the second member's approval went through
	asked      string // 我的充值 after the person asked
	awaiting   string // the person's refund waiting for finance
	refunded   string // the person's refund done
	refundLine string // 余额明细's two lines
	clawLine   string
}

func refundLang(v variant) refundLanguage {
	if v.lang.tag == "en" {
		return refundLanguage{preview: "Refund %s, bonus clawed back %s, %s taken from the wallet in all",
			reason: "Customer asked for it", requested: "Above the threshold: it waits for a second finance member.",
			ownRefused: "You cannot decide a refund you requested.", approved: "Approved and sent.",
			asked:    "Your refund request was sent; finance approves it, then the money goes back to where you paid from.",
			awaiting: "Awaiting approval", refunded: "Refunded", refundLine: "Refund", clawLine: "Bonus clawed back"}
	}
	return refundLanguage{preview: "退款 %s，扣回奖励 %s，钱包共扣除 %s", reason: "客户要求退款",
		requested: "金额超过审核线，已提交第二位财务审核。", ownRefused: "不能审批自己提交的退款。", approved: "已批准并发出退款。",
		asked: "退款申请已提交，财务审核后退回原支付账户。", awaiting: "待审核", refunded: "已退款", refundLine: "退款",
		clawLine: "扣回奖励"}
}

// topUpByCashier signs a new person up in a tab of their own (shots from
// first) and tops up preset yuan by Alipay through the sandbox's cashier,
// as the pay journeys do. It returns the person's tab, name and order.
func (s *paySite) topUpByCashier(t *testing.T, p *page, v variant, journey, yuan string, first int) (*payPage, string, recharge.Order) {
	t.Helper()
	who := &payPage{page: p.otherTab(s.site, v, first), s: s}
	excuseSandboxFavicon(s, who.probs)
	name := who.signUp(v, journey)
	who.openRecharge()
	who.markDocument()
	who.chooseMethod("alipay")
	who.choosePreset(yuan)
	// The quote of this amount is on the page before the person goes on:
	// the preview may already show the quote of the method's default.
	who.waitFor("the quote of ¥"+yuan, fmt.Sprintf(`(e => e && e.innerText.trim() === %q)(document.querySelector(%q))`, "¥"+yuan, string(byTestID("quote-pay"))))
	who.waitPreview("the preview", payLang(v).youReceive)
	who.pressAndLeave(byTestID("recharge-next"))
	who.waitCashier("¥"+yuan, false)
	who.payOnCashier("alipay", sandboxPassword)
	no := who.waitResult("paid")
	who.snap("topped-up")
	o, err := s.recharge.OrderByNo(context.Background(), no)
	if err != nil || o.State != recharge.OrderPaid {
		t.Fatalf("the top-up %s: %s %v", no, o.State, err)
	}
	return who, name, o
}

// previewOf is the clawback preview of a first refund of amount of o:
// the bonus the order was quoted (the promotion journey may have changed
// the rules since the seed), clawed back pro rata.
func previewOf(l refundLanguage, o recharge.Order, amount int64) string {
	claw := refund.Clawback(o.TierBonus+o.FirstBonus, o.Amount, 0, 0, amount)
	return fmt.Sprintf(l.preview, wallet.Money(amount), wallet.Money(claw), wallet.Money(amount+claw))
}

// wantRefunded checks the person's 我的充值 and 余额明细 after the refund;
// rest is what is left to ask for of the order (0: nothing, no 申请退款).
func wantRefunded(who *payPage, l refundLanguage, o recharge.Order, rest int64) {
	who.t.Helper()
	who.visit("/recharge/orders")
	line := chromedp.CSS(`[data-testid="order-refund"][data-state="succeeded"]`)
	if n := who.count(line); n != 1 {
		who.fail("我的充值 shows %d refunds done, want 1", n)
	}
	who.wantText(line, l.refunded)
	switch ask := byTestID("order-refund-ask"); {
	case rest == 0 && who.present(ask):
		who.fail("a refunded top-up still offers 申请退款")
	case rest > 0:
		// The rest of a partly refunded top-up, with the rest of its bonus.
		claw := refund.Clawback(o.TierBonus+o.FirstBonus, o.Amount, o.Amount-rest,
			refund.Clawback(o.TierBonus+o.FirstBonus, o.Amount, 0, 0, o.Amount-rest), rest)
		who.press(chromedp.CSS(string(ask) + " summary"))
		who.wantText(ask, fmt.Sprintf(l.preview, wallet.Money(rest), wallet.Money(claw), wallet.Money(rest+claw)))
	}
	who.snap("orders-refunded")
	who.visit("/history")
	list := who.text(byTestID("history-list"))
	for _, want := range []string{l.refundLine, l.clawLine} {
		if !strings.Contains(list, want) {
			who.fail("余额明细 lacks the line %q:\n%s", want, list)
		}
	}
	who.snap("history-refunded")
}

// staffRefundJourney: a person tops up ¥648 at the sandbox's cashier;
// finance member A opens the order in /ops, reads the clawback preview as
// they type ¥600.00 (above OPS_APPROVAL_ABOVE) and asks for it; A's own
// approval (forged, the page offers none) is refused; member B approves
// it in a second tab; the person reads 已退款 in 我的充值 and the 退款 and
// 扣回奖励 lines in 余额明细.
func staffRefundJourney(t *testing.T, s *paySite, p *page, v variant) {
	l := refundLang(v)
	who, name, o := s.topUpByCashier(t, p, v, "rfa", "648.00", 40)
	const amount = 600_00
	claw := refund.Clawback(o.TierBonus+o.FirstBonus, o.Amount, 0, 0, amount)
	before := s.balanceOf(t, name)

	p.staffLogin(s.site, staff.Finance, v, "rfA")
	p.visit("/ops/orders/" + o.OutTradeNo)
	p.markDocument()
	(&payPage{page: p, s: s}).typeInto(byID("refund-amount"), "600.00")
	want := previewOf(l, o, amount)
	p.waitFor("the clawback preview", fmt.Sprintf(`(e => e && e.innerText.includes(%q))(document.querySelector(%q))`,
		want, string(byTestID("ops-refund-preview"))))
	if !p.sameDocument() {
		p.fail("the preview reloaded the page instead of updating in place")
	}
	p.fill(byID("refund-reason"), l.reason)
	p.snap("refund-preview")
	p.follow(byTestID("ops-refund-submit"), "/ops/orders/"+o.OutTradeNo)
	p.wantText(byTestID("ops-refund-notice"), l.requested)
	row := chromedp.CSS(`[data-testid="ops-refund-row"][data-state="requested"]`)
	id := p.attr(row, "data-id")
	if id == "" {
		p.fail("the order shows no refund waiting for approval")
	}
	if got := s.balanceOf(t, name); got != before {
		p.fail("the wallet moved by %d fen before the approval", got-before)
	}
	p.snap("refund-requested")

	// The waiting list offers A no decision on their own request.
	p.visit("/ops/refunds")
	mine := chromedp.CSS(`[data-testid="ops-refund-pending"][data-id="` + id + `"]`)
	if !p.present(chromedp.CSS(string(mine)+` [data-testid="ops-refund-own"]`)) ||
		p.present(chromedp.CSS(string(mine)+` [data-testid="ops-refund-approve"]`)) {
		p.fail("the asker's own refund offers them a decision")
	}
	p.wantText(mine, want)
	// A posts the approval anyway, as a form built in the page would.
	approve := "/ops/refunds/" + id + "/approve"
	p.probs.expect("the refused approval's 409", 1, func(pr problem) bool {
		return pr.kind == "log.network" && strings.HasSuffix(pr.url, approve) && strings.Contains(pr.text, "409")
	})
	p.markDocument()
	eval[chromedp.Void](p, fmt.Sprintf(`(() => {
		const f = document.createElement("form");
		f.method = "post";
		f.action = %q;
		f.appendChild(document.querySelector('input[name="_csrf"]').cloneNode());
		document.body.appendChild(f);
		f.submit();
	})()`, approve))
	p.waitFor("the refused approval", fmt.Sprintf(`window.__e2eDocument === undefined && location.pathname === %q`, approve))
	p.ready()
	p.wantText(byTestID("ops-refunds-refused"), l.ownRefused)
	p.snap("refund-own-refused")
	if got := s.balanceOf(t, name); got != before {
		p.fail("the refused approval moved %d fen", got-before)
	}

	// B approves it: Alipay refunds at once.
	b := p.otherTab(s.site, v, 20)
	b.staffLogin(s.site, staff.Finance, v, "rfB")
	b.visit("/ops/refunds")
	b.follow(chromedp.CSS(`form[action="`+approve+`"] button`), "/ops/refunds")
	b.wantText(byTestID("ops-refunds-decided"), l.approved)
	if b.present(mine) {
		b.fail("the approved refund still waits")
	}
	b.snap("refund-approved")
	if got := before - s.balanceOf(t, name); got != amount+claw {
		b.fail("the wallet paid %d fen, want %d (refund and clawback)", got, amount+claw)
	}

	wantRefunded(who, l, o, o.Amount-amount)
}

// personRefundJourney: a person tops up ¥68 at the sandbox's cashier and,
// in 我的充值, asks for a refund of it with a reason, reading what it
// takes first; it waits (待审核); finance approves it in /ops/refunds;
// the person reads 已退款 and the 退款 and 扣回奖励 lines.
func personRefundJourney(t *testing.T, s *paySite, p *page, v variant) {
	l := refundLang(v)
	who, name, o := s.topUpByCashier(t, p, v, "rfp", "68.00", 40)
	claw := refund.Clawback(o.TierBonus+o.FirstBonus, o.Amount, 0, 0, o.Amount)
	before := s.balanceOf(t, name)

	who.visit("/recharge/orders")
	ask := byTestID("order-refund-ask")
	who.press(chromedp.CSS(string(ask) + " summary"))
	who.wantText(ask, previewOf(l, o, o.Amount))
	who.fill(chromedp.CSS(string(ask)+` input[name="reason"]`), l.reason)
	who.snap("refund-ask")
	who.follow(byTestID("order-refund-submit"), "/recharge/orders")
	who.wantText(byTestID("orders-refund-notice"), l.asked)
	who.wantText(chromedp.CSS(`[data-testid="order-refund"][data-state="requested"]`), l.awaiting)
	who.snap("refund-asked")
	if got := s.balanceOf(t, name); got != before {
		who.fail("the wallet moved by %d fen before finance decided", got-before)
	}

	// Finance finds it among the refunds waiting, with the person's reason.
	p.staffLogin(s.site, staff.Finance, v, "rfF")
	p.follow(chromedp.CSS(`nav a[href="/ops/refunds"]`), "/ops/refunds")
	item := fmt.Sprintf(`[...document.querySelectorAll('[data-testid="ops-refund-pending"]')].find(e => e.textContent.includes(%q))`, o.OutTradeNo)
	id := eval[string](p, item+`?.dataset.id ?? ""`)
	if id == "" {
		p.fail("the request of order %s is not among the refunds waiting", o.OutTradeNo)
	}
	mine := chromedp.CSS(`[data-testid="ops-refund-pending"][data-id="` + id + `"]`)
	p.wantText(mine, l.reason)
	p.wantText(mine, name)
	p.snap("refunds-pending")
	p.follow(chromedp.CSS(`form[action="/ops/refunds/`+id+`/approve"] button`), "/ops/refunds")
	p.wantText(byTestID("ops-refunds-decided"), l.approved)
	p.snap("refund-approved")
	if got := before - s.balanceOf(t, name); got != o.Amount+claw {
		p.fail("the wallet paid %d fen, want %d (refund and clawback)", got, o.Amount+claw)
	}

	wantRefunded(who, l, o, 0)
}
