package handlers_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
	"im2pay/recharge"
	"im2pay/spend"
)

// beijingZone is how the receipt states times: Beijing time, +8 all year.
var beijingZone = time.FixedZone("UTC+8", 8*60*60)

var moreLink = regexp.MustCompile(`href="(/recharge/orders\?[^"]*before=[0-9]+[^"]*)"[^>]*data-testid="orders-more"`)

// TestAReceiptIsItsPayersAlone pays ¥68 by card (a 5% and a first top-up
// bonus): the result page lists each bonus on its own line and links the
// receipt, which names the order, the provider's trade number and the
// time in Beijing time. Another person asking for it, or for the history
// line that leads to it, gets 404; so does the payer for an unpaid order.
func TestAReceiptIsItsPayersAlone(t *testing.T) {
	t.Parallel()
	p := newPaySite(t)
	ctx := context.Background()
	alice := p.browser()
	alice.register("receipt_alice", goodPassword)
	no := p.order(alice, "card", "68")
	p.pay(alice, no)
	p.settle(alice, no, sim.Success)
	state, result := p.result(alice, no, settleBound)
	if state != recharge.OrderPaid {
		t.Fatalf("order %s is %s, want paid", no, state)
	}
	expectContains(t, result, `data-testid="result-amount">¥68.00<`, `data-testid="result-tier-bonus">+¥3.40<`,
		`data-testid="result-first-bonus">+¥6.00<`, `data-testid="result-received">¥77.40<`,
		`href="/recharge/orders/`+no+`/receipt"`)
	o, err := p.recharge.OrderByNo(ctx, no)
	if err != nil {
		t.Fatal(err)
	}
	receipt := alice.get("/recharge/orders/" + no + "/receipt")
	expectStatus(t, receipt, 200)
	expectContains(t, receipt, "充值凭证", no, o.ProviderTradeNo.String, "银行卡", "支付时间（北京时间）",
		o.PaidAt.Time.In(beijingZone).Format("2006-01-02 15:04:05"), `data-testid="receipt-tier-bonus">+¥3.40<`,
		`data-testid="receipt-first-bonus">+¥6.00<`, `data-testid="receipt-received">¥77.40<`, "print:hidden")
	if o.ProviderTradeNo.String == "" {
		t.Fatal("the paid order has no provider trade number to show")
	}

	orders := alice.get("/recharge/orders")
	expectContains(t, orders, `href="/recharge/orders/`+no+`/receipt"`, `data-testid="order-open"`)

	// The history line of the top-up opens its detail, with the receipt.
	var entry int64
	if err := p.store.DB().GetContext(ctx, &entry, `SELECT e.id FROM ledger_entries e
		JOIN ledger_transactions t ON t.id = e.transaction_id JOIN accounts a ON a.id = e.account_id
		JOIN users u ON u.id = a.user_id WHERE u.username = $1 AND t.kind = 'topup'`, "receipt_alice"); err != nil {
		t.Fatal(err)
	}
	line := fmt.Sprintf("/history/lines/%d", entry)
	expectContains(t, alice.get("/history"), `href="`+line+`"`)
	detail := alice.get(line)
	expectStatus(t, detail, 200)
	expectContains(t, detail, no, "银行卡", `data-testid="line-first-bonus">+¥6.00<`, `href="/recharge/orders/`+no+`/receipt"`)

	mallory := p.browser()
	mallory.register("receipt_mallory", goodPassword)
	for _, path := range []string{"/recharge/orders/" + no + "/receipt", line, "/history/lines/0", "/history/lines/x"} {
		a := mallory.get(path)
		expectStatus(t, a, 404)
		expectLacks(t, a, no, o.ProviderTradeNo.String)
	}

	unpaid := p.order(alice, "alipay", "30")
	expectStatus(t, alice.get("/recharge/orders/"+unpaid+"/receipt"), 404)
}

// TestMyTopUpsPageAndFilter: 我的充值 lists 20 orders a page, newest first,
// with a link to the next page by keyset; state and method filters narrow
// it; a cursor or filter sent by another person shows only their orders.
func TestMyTopUpsPageAndFilter(t *testing.T) {
	t.Parallel()
	p := newPaySite(t)
	ctx := context.Background()
	b := p.browser()
	b.register("orders_pager", goodPassword)
	u, err := p.accounts.UserByName(ctx, "orders_pager")
	if err != nil {
		t.Fatal(err)
	}
	var nos []string
	for i := range 22 {
		method := "alipay"
		if i == 5 {
			method = "wechat"
		}
		o, err := p.recharge.CreateOrder(ctx, recharge.NewOrder{UserID: u.ID, Method: method,
			Amount: fmt.Sprintf("%d.%02d", 6+i, i), RequestKey: fmt.Sprintf("pager-order-key-%03d", i), Device: payment.Desktop})
		if err != nil {
			t.Fatalf("order %d: %v", i, err)
		}
		nos = append(nos, o.OutTradeNo)
	}
	first := b.get("/recharge/orders")
	if n := strings.Count(first.body, `data-testid="order-row"`); n != 20 {
		t.Fatalf("the first page lists %d orders, want 20", n)
	}
	expectContains(t, first, nos[21], nos[2])
	expectLacks(t, first, nos[1]+`"`, nos[0]+`"`)
	m := moreLink.FindStringSubmatch(first.body)
	if m == nil {
		t.Fatalf("the first page has no next-page link:\n%.3000s", first.body)
	}
	second := b.get(htmlUnescape(m[1]))
	if n := strings.Count(second.body, `data-testid="order-row"`); n != 2 {
		t.Fatalf("the second page lists %d orders, want 2", n)
	}
	expectContains(t, second, nos[1], nos[0], `data-testid="orders-first"`)
	expectLacks(t, second, `data-testid="orders-more"`)

	wechat := b.get("/recharge/orders?method=wechat")
	if n := strings.Count(wechat.body, `data-testid="order-row"`); n != 1 || !strings.Contains(wechat.body, nos[5]) {
		t.Fatalf("the WeChat filter lists %d orders, want only %s", n, nos[5])
	}
	paid := b.get("/recharge/orders?state=paid")
	expectContains(t, paid, `data-testid="orders-empty"`, "没有符合条件的充值记录")
	// An unknown filter value is dropped, not passed to the database.
	if n := strings.Count(b.get("/recharge/orders?state=%27;drop&method=bitcoin").body, `data-testid="order-row"`); n != 20 {
		t.Fatalf("an unknown filter lists %d orders, want the first page of 20", n)
	}

	other := p.browser()
	other.register("orders_other", goodPassword)
	q := url.Values{"before": {"9223372036854775807"}, "method": {"alipay"}}
	a := other.get("/recharge/orders?" + q.Encode())
	expectContains(t, a, `data-testid="orders-empty"`)
	for _, no := range nos {
		expectLacks(t, a, no)
	}
}

// TestACardFailureSpeaksOfTheCardAndOffersEachActionOnce: a card refused
// for want of money reads 卡内余额不足, offers "another method" once (in
// English too, where it used to be twice), and that link opens the
// recharge page with the card not picked again.
func TestACardFailureSpeaksOfTheCardAndOffersEachActionOnce(t *testing.T) {
	t.Parallel()
	p := newPaySite(t)
	b := p.browser()
	b.register("card_refused", goodPassword)
	no := p.order(b, "card", "30")
	p.pay(b, no)
	p.settle(b, no, sim.InsufficientFunds)
	state, zh := p.result(b, no, settleBound)
	if state != recharge.OrderFailed {
		t.Fatalf("order %s is %s, want failed", no, state)
	}
	expectContains(t, zh, "卡内余额不足")
	expectLacks(t, zh, "支付账户余额不足")
	b.header.Set("Accept-Language", "en")
	en := b.get("/recharge/orders/" + no)
	if n := strings.Count(en.body, `data-testid="result-other-method"`); n != 1 {
		t.Fatalf("the failure page offers another method %d times, want once", n)
	}
	if n := strings.Count(en.body, "another card or method") + strings.Count(en.body, "Use another method"); n != 1 {
		t.Fatalf("the English failure page names another method %d times, want once:\n%.3000s", n, en.body)
	}
	m := regexp.MustCompile(`href="(/recharge\?[^"]*)"[^>]*data-testid="result-other-method"`).FindStringSubmatch(en.body)
	if m == nil || !strings.Contains(m[1], "not=card") {
		t.Fatalf("the other-method link is %v, want one that leaves the card unpicked", m)
	}
	page := b.get(htmlUnescape(m[1]))
	if regexp.MustCompile(`value="card" checked`).MatchString(page.body) {
		t.Fatal("换一种支付方式 opens the recharge page with the failed card picked again")
	}
	expectContains(t, page, `value="alipay" checked`)
}

// TestAGiftLineNamesItsRecipient: the sender's history line of a gift opens
// a detail that names the recipient and the gift; the recipient, who has no
// such line, gets 404 for the sender's line id.
func TestAGiftLineNamesItsRecipient(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := context.Background()
	sender := s.browser()
	sender.register("gift_line_from", goodPassword)
	to := s.browser()
	to.register("gift_line_to", goodPassword)
	u, err := s.accounts.UserByName(ctx, "gift_line_from")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.wallet.Grant(ctx, u.ID, 50_00, "gift-line:grant", "welcome_grant"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.spend.SendGift(ctx, spend.GiftRequest{SenderID: u.ID, To: "gift_line_to", Gift: "rose", Quantity: "3",
		Key: "gift-line-key-0000001"}); err != nil {
		t.Fatal(err)
	}
	var entry int64
	if err := s.store.DB().GetContext(ctx, &entry, `SELECT e.id FROM ledger_entries e
		JOIN ledger_transactions x ON x.id = e.transaction_id JOIN accounts a ON a.id = e.account_id
		WHERE a.user_id = $1 AND x.kind = 'gift'`, u.ID); err != nil {
		t.Fatal(err)
	}
	line := fmt.Sprintf("/history/lines/%d", entry)
	a := sender.get(line)
	expectStatus(t, a, 200)
	expectContains(t, a, "收礼人", `data-testid="line-gift-to">gift_line_to<`, "玫瑰 × 3")
	expectStatus(t, to.get(line), 404)
}
