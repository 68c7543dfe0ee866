package e2e

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestReceiptJourneys pays a ¥68 top-up by Alipay in the sandbox and walks
// to its receipt (充值凭证) every way a person would: from the result page,
// from 我的充值 and from the history line's detail; at desktop and phone
// size, in Chinese and English. Screenshots go to out/receipts/....
func TestReceiptJourneys(t *testing.T) {
	s := newPaySite(t)
	browserCtx := startBrowser(t)
	for _, v := range []variant{
		{dev: desktop, lang: zhCN, accept: "zh-CN,zh;q=0.9"},
		{dev: phone, lang: zhCN, accept: "zh-CN,zh;q=0.9"},
		{dev: desktop, lang: en, accept: "en-US,en;q=0.9"},
		{dev: phone, lang: en, accept: "en-US,en;q=0.9"},
	} {
		t.Run("receipts/"+v.dev.name+"/"+v.lang.tag, func(t *testing.T) {
			receiptJourney(newPayPage(t, s, browserCtx, v), v)
		})
	}
}

// receiptTexts are the words the journey expects in each language.
type receiptTexts struct{ title, beijing, method string }

func receiptWords(v variant) receiptTexts {
	if v.lang.tag == en.tag {
		return receiptTexts{title: "Top-up receipt", beijing: "Beijing time", method: "Alipay"}
	}
	return receiptTexts{title: "充值凭证", beijing: "北京时间", method: "支付宝"}
}

func receiptJourney(p *payPage, v variant) {
	w := receiptWords(v)
	name := p.signUp(v, "rcpt")
	p.openRecharge()
	p.publish("recharge", "recharge", v)
	p.chooseMethod("alipay")
	p.choosePreset("68.00")
	p.waitFor("the preview to show ¥77.40", fmt.Sprintf(`(e => e && e.innerText.trim() === "¥77.40")(document.querySelector(%q))`, string(byTestID("quote-receive"))))
	// One press from the page to the provider: the preview showed today's terms.
	p.pressAndLeave(byTestID("recharge-next"))
	p.waitCashier("¥68.00", false)
	p.payOnCashier("alipay", sandboxPassword)
	no := p.waitResult("paid")

	// The result page: an icon, the amount, each bonus on its own line.
	if !p.present(byTestID("result-icon")) {
		p.fail("the result page has no icon")
	}
	p.wantText(byTestID("result-amount"), "¥68.00")
	p.wantText(byTestID("result-tier-bonus"), "+¥3.40")
	p.wantText(byTestID("result-first-bonus"), "+¥6.00")
	p.wantText(byTestID("result-received"), "¥77.40")
	p.publish("result", "result", v)

	receipt := "/recharge/orders/" + no + "/receipt"
	p.follow(byTestID("result-receipt"), receipt)
	p.wantReceipt(no, w)
	p.publish("receipt", "receipt", v)

	// 我的充值: the paid row links its receipt, and the row opens the order.
	p.visit("/recharge/orders")
	row := fmt.Sprintf(`[data-testid="order-row"][data-order=%q]`, no)
	p.follow(chromedp.CSS(row+` [data-testid="order-receipt"]`), receipt)
	p.wantReceipt(no, w)
	p.visit("/recharge/orders")
	p.snap("orders")
	p.follow(chromedp.CSS(row+` [data-testid="order-open"]`), "/recharge/orders/"+no)

	// The history line of the top-up opens its detail, and the receipt.
	entry := p.s.topupEntry(p.t, name)
	p.visit("/history")
	p.snap("history")
	line := "/history/lines/" + strconv.FormatInt(entry, 10)
	p.follow(chromedp.CSS(fmt.Sprintf(`[data-testid="record"][data-entry="%d"] [data-testid="record-open"]`, entry)), line)
	p.wantText(byTestID("line-order"), no)
	p.wantText(byTestID("line-method"), w.method)
	p.wantText(byTestID("line-first-bonus"), "+¥6.00")
	p.snap("history-line")
	p.follow(byTestID("line-receipt"), receipt)
	p.wantReceipt(no, w)

	// The account center after the top-up, for the README's screens.
	p.visit("/account")
	p.wantText(byTestID("balance"), "¥77.40")
	p.publish("account", "account", v)
}

// wantReceipt checks the receipt page of order no.
func (p *payPage) wantReceipt(no string, w receiptTexts) {
	p.t.Helper()
	p.wantText(byTestID("receipt"), w.title)
	p.wantText(byTestID("receipt-order-no"), no)
	p.wantText(byTestID("receipt"), w.beijing)
	p.wantText(byTestID("receipt-method"), w.method)
	if p.text(byTestID("receipt-trade-no")) == "" {
		p.fail("the receipt of %s has no provider trade number", no)
	}
	p.wantText(byTestID("receipt-paid"), "¥68.00")
	p.wantText(byTestID("receipt-received"), "¥77.40")
}

// topupEntry is the id of the person's wallet line of their (one) top-up.
func (s *paySite) topupEntry(t *testing.T, name string) int64 {
	t.Helper()
	var id int64
	err := s.store.DB().GetContext(context.Background(), &id, `SELECT e.id FROM ledger_entries e
		JOIN ledger_transactions x ON x.id = e.transaction_id JOIN accounts a ON a.id = e.account_id
		JOIN users u ON u.id = a.user_id WHERE u.username = $1 AND x.kind = 'topup'`, name)
	if err != nil {
		t.Fatalf("the top-up line of %s: %v", name, err)
	}
	return id
}
