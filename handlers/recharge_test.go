package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"im2pay/payment/sandbox/sim"
	"im2pay/recharge"
)

func TestEveryMethodTopsUpThroughItsProvidersProtocol(t *testing.T) {
	p := newPaySite(t)
	cases := []struct{ method, device string }{
		{"alipay", "desktop"}, {"alipay", "phone"}, {"wechat", "desktop"}, {"wechat", "phone"},
		{"card", "desktop"}, {"paypal", "desktop"},
	}
	for i, c := range cases {
		t.Run(c.method+"/"+c.device, func(t *testing.T) {
			p := p.with(t)
			b := p.browser()
			if c.device == "phone" {
				b.header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148")
			}
			b.register(fmt.Sprintf("payer_%d", i), goodPassword)
			no := p.order(b, c.method, "68")
			p.pay(b, no)
			p.settle(b, no, sim.Success)
			state, page := p.result(b, no, 10*time.Second)
			if state != recharge.OrderPaid {
				t.Fatalf("order %s is %s, want paid", no, state)
			}
			// ¥68 + 5% tier bonus (¥3.40) + first top-up bonus (¥6.00), each
			// bonus on its own line.
			expectContains(t, page, "充值成功", `data-testid="result-tier-bonus">+¥3.40<`,
				`data-testid="result-first-bonus">+¥6.00<`, `data-testid="result-received">¥77.40<`, `data-fen="7740"`)
			if got := p.balance(b); got != "7740" {
				t.Fatalf("balance = %s fen, want 7740", got)
			}
			if n := p.ledgerCount(`SELECT count(*) FROM ledger_transactions WHERE reference = $1`, "order:"+no); n != 2 {
				t.Fatalf("%d ledger transactions for the order, want the top-up and the bonus", n)
			}
			// The bonus line names both bonuses it holds, not "top-up bonus"
			// alone.
			expectContains(t, b.get("/history"), "充值奖励＋首充奖励", "+¥9.40", "+¥68.00")
		})
	}
}

// UnionPay and PayPal state why a payment was refused (respCode, capture
// issues): the result page says it.
func TestRefusedPaymentsSayWhyAndCreditNothing(t *testing.T) {
	p := newPaySite(t)
	cases := []struct {
		method  string
		outcome sim.Outcome
		tries   int
		says    string
	}{
		{"card", sim.Declined, 1, "被发卡行拒绝"},
		{"card", sim.InsufficientFunds, 1, "卡内余额不足"}, // a card's words, not an account's
		{"paypal", sim.Restricted, 1, "被支付机构限制使用"},
	}
	for i, c := range cases {
		t.Run(c.method+"/"+string(c.outcome), func(t *testing.T) {
			p := p.with(t)
			b := p.browser()
			b.register(fmt.Sprintf("refused_%d", i), goodPassword)
			no := p.order(b, c.method, "30")
			p.pay(b, no)
			for range c.tries {
				p.settle(b, no, c.outcome)
			}
			state, page := p.result(b, no, 10*time.Second)
			if state != recharge.OrderFailed {
				t.Fatalf("order is %s, want failed", state)
			}
			expectContains(t, page, "充值失败", c.says)
			if got := p.balance(b); got != "0" {
				t.Fatalf("balance = %s, want 0", got)
			}
		})
	}
}

// Alipay (page and wap pay) and WeChat Pay (Native and H5) never tell a
// merchant that or why a payment was refused (PROVIDERS.md §1.2, §2.2):
// the order stays 待支付 and reads 尚未完成支付 with 继续支付, 换一种方式
// and 取消订单, never an invented reason. (This test used to expect the
// sandbox's made-up refusal codes to read as 充值失败 with a reason.)
func TestRefusalsAlipayAndWeChatDoNotReportReadNotCompleted(t *testing.T) {
	p := newPaySite(t)
	cases := []struct {
		method, device string
		outcome        sim.Outcome
		tries          int
	}{
		{"alipay", "desktop", sim.WrongPassword, 3},
		{"alipay", "phone", sim.InsufficientFunds, 1},
		{"alipay", "desktop", sim.Restricted, 1},
		{"wechat", "desktop", sim.OverLimit, 1},
		{"wechat", "phone", sim.Declined, 1},
	}
	for i, c := range cases {
		t.Run(c.method+"/"+c.device+"/"+string(c.outcome), func(t *testing.T) {
			p := p.with(t)
			b := p.browser()
			if c.device == "phone" {
				b.header.Set("User-Agent", phoneUA)
			}
			b.register(fmt.Sprintf("notdone_%d", i), goodPassword)
			no := p.order(b, c.method, "30")
			p.pay(b, no)
			for range c.tries {
				p.settle(b, no, c.outcome)
			}
			everyPageSays(t, b, no, recharge.OrderAwaiting)
			page := b.get("/recharge/orders/" + no)
			expectContains(t, page, "尚未完成支付", `data-testid="result-continue"`, `data-testid="result-other-method"`,
				`data-testid="result-cancel"`, "换一种方式", "取消订单", "继续支付")
			expectLacks(t, page, "充值失败", "余额不足", "限制使用", "限额", "支付信息有误", `data-testid="result-reason"`)
			if got := p.balance(b); got != "0" {
				t.Fatalf("balance = %s, want 0", got)
			}
			// The person may still pay: the provider kept the order open.
			p.settle(b, no, sim.Success)
			if state, _ := p.result(b, no, 10*time.Second); state != recharge.OrderPaid {
				t.Fatalf("order is %s after paying on the second try, want paid", state)
			}
		})
	}
}

func TestAPaymentWhoseNotificationIsLostIsFoundByQuery(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("lost_note", goodPassword)
	no := p.order(b, "alipay", "6")
	p.pay(b, no)
	p.settle(b, no, sim.DropNotify)
	state, _ := p.result(b, no, 15*time.Second)
	if state != recharge.OrderPaid {
		t.Fatalf("order is %s, want paid by query", state)
	}
	if got := p.balance(b); got != "1200" { // ¥6 + first bonus ¥6
		t.Fatalf("balance = %s, want 1200", got)
	}
	// ¥6 reaches no tier: the bonus line is the first top-up's, by name.
	expectContains(t, b.get("/history"), ">首充奖励</span>", "+¥6.00")
}

// A duplicate storm: every genuine notification, replayed 50 times at once,
// credits its order exactly once and is acknowledged every time.
func TestADuplicateStormCreditsEachOrderOnce(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("storm", goodPassword)
	const orders, copies = 20, 50
	var nos []string
	for range orders {
		no := p.order(b, "alipay", "1")
		p.pay(b, no)
		p.settle(b, no, sim.Success)
		nos = append(nos, no)
	}
	p.gw.Notifier.Wait()
	var bodies []string
	for _, no := range nos {
		var body string
		err := p.store.DB().GetContext(context.Background(), &body,
			`SELECT body FROM payment_events WHERE out_trade_no = $1 AND kind = 'notify' AND verified ORDER BY id LIMIT 1`, no)
		if err != nil {
			t.Fatalf("no stored notification for %s: %v", no, err)
		}
		bodies = append(bodies, body)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := 0
	for _, body := range bodies {
		for range copies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := http.Post(p.srv.URL+"/pay/notify/alipay", "application/x-www-form-urlencoded", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				defer res.Body.Close()
				buf := make([]byte, 16)
				n, _ := res.Body.Read(buf)
				if string(buf[:n]) == "success" {
					mu.Lock()
					acked++
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if acked != orders*copies {
		t.Fatalf("%d of %d deliveries acknowledged", acked, orders*copies)
	}
	if n := p.ledgerCount(`SELECT count(*) FROM ledger_transactions WHERE kind = 'topup'`); n != orders {
		t.Fatalf("%d top-up transactions, want %d", n, orders)
	}
	// ¥1 each, plus the ¥6 first-recharge bonus once.
	if got := p.balance(b); got != fmt.Sprint(orders*100+600) {
		t.Fatalf("balance = %s", got)
	}
}

func TestForgedNotificationsAndReturnsCreditNothing(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("victim", goodPassword)
	no := p.order(b, "alipay", "68")
	p.pay(b, no)
	forged := url.Values{"out_trade_no": {no}, "trade_no": {"2026000001"}, "total_amount": {"68.00"},
		"trade_status": {"TRADE_SUCCESS"}, "sign_type": {"RSA2"}, "sign": {"Zm9yZ2Vk"}, "app_id": {"2021000000000000"}}
	for range 3 {
		res, err := http.PostForm(p.srv.URL+"/pay/notify/alipay", forged)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	for range 20 {
		b.get("/recharge/orders/" + no + "/return?" + forged.Encode())
	}
	if state, _ := p.result(b, no, 0); state != recharge.OrderAwaiting {
		t.Fatalf("order is %s after forgeries, want awaiting", state)
	}
	if got := p.balance(b); got != "0" {
		t.Fatalf("balance = %s after forgeries", got)
	}
	// Every forgery is counted; none is stored whole (anyone may send them).
	if n := p.ledgerCount(`SELECT coalesce(sum(refused), 0) FROM callback_refusals WHERE method = 'alipay'`); n != 23 {
		t.Fatalf("%d refused messages counted, want every forgery (23)", n)
	}
	if n := p.ledgerCount(`SELECT count(*) FROM payment_events WHERE out_trade_no = $1 AND NOT verified`, no); n != 0 {
		t.Fatalf("%d refused messages stored whole, want none", n)
	}
}

func TestLimitsAndMaintenanceAreExplainedBeforePaying(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("limits", goodPassword)
	low := b.get("/recharge/preview?method=alipay&amount=0.5")
	expectContains(t, low, "单笔最低 ¥1.00，还差 ¥0.50")
	high := b.get("/recharge/preview?method=wechat&custom=20000.01")
	expectContains(t, high, "单笔最高 ¥20,000.00，超出 ¥0.01")
	for _, bad := range []string{"-1", "0.001", "1e3", "0x10", "1_000", "NaN", "１２", "99999999999999999999"} {
		a := b.get("/recharge/confirm?method=alipay&amount=" + url.QueryEscape(bad) + "&key=aaaaaaaaaaaaaaaaaaaa")
		expectStatus(t, a, http.StatusUnprocessableEntity)
	}
	if err := p.recharge.SetMaintenance(context.Background(), "alipay", "升级中", time.Time{}); err != nil {
		t.Fatal(err)
	}
	page := b.get("/recharge")
	expectContains(t, page, `data-testid="maintenance-alipay"`, "升级中")
	a := b.post("/recharge", "/recharge/orders", url.Values{"method": {"alipay"}, "amount": {"30"}, "key": {"bbbbbbbbbbbbbbbbbbbbbb"}})
	expectStatus(t, a, http.StatusUnprocessableEntity)
	expectContains(t, a, "该支付方式正在维护")
	if err := p.recharge.SetMaintenance(context.Background(), "all", "系统维护", time.Time{}); err != nil {
		t.Fatal(err)
	}
	expectContains(t, b.get("/recharge"), `data-testid="maintenance-all"`)
	if n := p.ledgerCount(`SELECT count(*) FROM recharge_orders`); n != 0 {
		t.Fatalf("%d orders created by refused requests", n)
	}
}

func TestADoubleSubmitCreatesOneOrderAndStrangersSeeNone(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("double", goodPassword)
	form := url.Values{"method": {"wechat"}, "amount": {"30"}, "key": {"cccccccccccccccccccccc"}}
	first := b.post("/recharge", "/recharge/orders", form)
	second := b.post("/recharge", "/recharge/orders", form)
	if first.header.Get("Location") != second.header.Get("Location") {
		t.Fatalf("two orders: %q and %q", first.header.Get("Location"), second.header.Get("Location"))
	}
	no := orderPath.FindStringSubmatch(first.header.Get("Location"))[1]
	stranger := p.browser()
	stranger.register("stranger", goodPassword)
	for _, path := range []string{"/recharge/orders/" + no, "/recharge/orders/" + no + "/pay", "/recharge/orders/" + no + "/status"} {
		a := stranger.get(path)
		expectStatus(t, a, http.StatusNotFound)
		expectLacks(t, a, no)
	}
	expectStatus(t, stranger.post("/account", "/recharge/orders/"+no+"/check", url.Values{}), http.StatusNotFound)
	expectLacks(t, stranger.get("/recharge/orders"), no)
}

// The daily limit counts the day's orders by the app's clock alone: an
// order is stamped with the clock that draws the day's line, so an app
// server two days ahead of the database (or a test's clock) still counts
// every order of its day. Stamped by the database instead, none counted.
func TestTheDailyLimitCountsTheDayByTheAppsClock(t *testing.T) {
	ahead := func() time.Time { return time.Now().Add(48 * time.Hour) }
	p := newPaySiteWith(t, paySiteOptions{now: ahead})
	b := p.browser()
	b.register("daily_limit", goodPassword)
	p.order(b, "alipay", "50000")
	p.order(b, "card", "50000")
	page := b.get("/recharge?method=alipay")
	key := keyField.FindStringSubmatch(page.body)
	if key == nil {
		t.Fatalf("no request key on the recharge page:\n%.1500s", page.body)
	}
	a := b.post("/recharge", "/recharge/orders", url.Values{"method": {"alipay"}, "amount": {"1"}, "key": {key[1]}})
	if a.status == http.StatusSeeOther {
		t.Fatalf("a third order past ¥100,000 in one day was placed: %s", a.header.Get("Location"))
	}
	expectContains(t, a, "已达每日充值上限 ¥100,000.00，今天还可充值 ¥0.00。")
}
