package handlers_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"im2pay/spend"
	"im2pay/views/i18n"
	"im2pay/wallet"
)

// giftPerson registers name (directly: this test is about gifts, not sign
// up), grants them amount and logs them in on a browser of their own.
func giftPerson(t *testing.T, s *site, name string, amount wallet.Money) (*browser, int64) {
	t.Helper()
	ctx := context.Background()
	u, err := s.accounts.Register(ctx, name, goodPassword, "test:"+name)
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	if amount > 0 {
		if _, err := s.wallet.Grant(ctx, u.ID, amount, "gift-test:"+name, "test"); err != nil {
			t.Fatal(err)
		}
	}
	b := s.browser()
	expectRedirect(t, b.login(name, goodPassword), "/account")
	return b, u.ID
}

var giftKeyField = regexp.MustCompile(`name="key" value="([^"]+)"`)

// giftForm is a send form filled in as a person would, with the key and
// CSRF token the gifts page carried.
func giftForm(t *testing.T, b *browser, to, gift, quantity, message string) url.Values {
	t.Helper()
	page := b.get("/gifts")
	expectStatus(t, page, http.StatusOK)
	key, token := giftKeyField.FindStringSubmatch(page.body), csrfField.FindStringSubmatch(page.body)
	if key == nil || token == nil {
		t.Fatalf("the gifts page has no key or CSRF field:\n%.2000s", page.body)
	}
	return url.Values{"_csrf": {token[1]}, "key": {key[1]}, "to": {to}, "gift": {gift},
		"quantity": {quantity}, "message": {message}}
}

// giftSend posts a filled-in form; safe from any goroutine.
func giftSend(b *browser, form url.Values) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, b.s.srv.URL+"/gifts", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", "zh-CN")
	res, err := b.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	return res.StatusCode, res.Header.Get("Location"), nil
}

func giftBalance(t *testing.T, s *site, userID int64) wallet.Money {
	t.Helper()
	u, err := s.accounts.UserByID(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	bal, err := s.ledger.Balance(context.Background(), u.WalletID)
	if err != nil {
		t.Fatal(err)
	}
	return wallet.Money(bal)
}

func giftCount(t *testing.T, s *site, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := s.store.DB().GetContext(context.Background(), &n, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// giftIncome is the recipient's total: the sum of their income account's entries.
func giftIncome(t *testing.T, s *site, userID int64) wallet.Money {
	t.Helper()
	return wallet.Money(giftCount(t, s, `SELECT coalesce(sum(e.amount), 0)::bigint FROM ledger_entries e
		JOIN accounts a ON a.id = e.account_id WHERE a.code = $1`, spend.GiftIncomeCode(userID)))
}

func TestTheGiftsPageNeedsALogin(t *testing.T) {
	s := newSite(t)
	expectRedirect(t, s.browser().get("/gifts"), "/login?next=%2Fgifts")
}

func TestEveryGiftHasANameInBothLanguagesAndAPicture(t *testing.T) {
	s := newSite(t)
	items, err := s.spend.GiftItems(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	prices := map[string]wallet.Money{}
	for _, it := range items {
		prices[it.Code] = it.Price
		if !i18n.Has("gift.name." + it.Code) {
			t.Errorf("gift %s has no name in the catalog", it.Code)
		}
		pic := s.browser().get("/static/img/gifts/" + it.Code + ".svg")
		if pic.status != http.StatusOK || !strings.Contains(pic.body, "<svg") {
			t.Errorf("gift %s has no picture (status %d)", it.Code, pic.status)
		}
	}
	for code, want := range map[string]wallet.Money{"rose": 100, "cake": 660, "rocket": 6600} {
		if prices[code] != want {
			t.Errorf("%s costs %s, want %s", code, prices[code], want)
		}
	}
	if len(items) < 5 {
		t.Errorf("the catalog has %d gifts, want at least 5", len(items))
	}
}

func TestAGiftReachesItsRecipientWithSenderTimeAndMessage(t *testing.T) {
	s := newSite(t)
	sender, senderID := giftPerson(t, s, "alice", 100_00)
	friend, friendID := giftPerson(t, s, "friend", 0)

	expectRedirect(t, giftSendOne(t, sender, "Friend", "cake", "3", "生日快乐！"), "/gifts")
	page := sender.get("/gifts")
	expectContains(t, page, "礼物已送出", `data-testid="gift-sent"`, "friend", "蛋糕 × 3", "生日快乐！", `data-fen="8020"`)
	if got := giftBalance(t, s, senderID); got != 80_20 {
		t.Fatalf("sender's balance = %s, want ¥80.20", got)
	}
	expectContains(t, sender.get("/history"), "送出礼物", "-¥19.80")

	received := friend.get("/gifts")
	expectContains(t, received, `data-testid="gift-received"`, `data-testid="gift-who">alice<`, "来自",
		"蛋糕 × 3", `data-testid="gift-text">生日快乐！<`, `<time`, `data-testid="gifts-received-total" data-fen="1980"`)
	expectLacks(t, received, `data-testid="gift-sent"`)
	if got := giftIncome(t, s, friendID); got != 19_80 {
		t.Fatalf("recipient's gift income = %s, want ¥19.80", got)
	}
	if got := giftBalance(t, s, friendID); got != 0 {
		t.Fatalf("recipient's spendable balance = %s, want ¥0.00: gifts are income, not balance", got)
	}
	friend.header.Set("Accept-Language", "en")
	expectContains(t, friend.get("/gifts"), "Gifts received", "From", "Cake × 3")
}

func giftSendOne(t *testing.T, b *browser, to, gift, quantity, message string, extra ...string) answer {
	t.Helper()
	return b.do(http.MethodPost, "/gifts", giftForm(t, b, to, gift, quantity, message), extra...)
}

func TestGiftRefusalsSayWhatIsWrongAndMoveNothing(t *testing.T) {
	s := newSite(t)
	sender, senderID := giftPerson(t, s, "giver", 100_00)
	giftPerson(t, s, "taker", 0)
	cases := []struct {
		name, to, gift, quantity, message string
		field, says                       string
	}{
		{"an unknown recipient", "nobody_here", "rose", "1", "", "to", "找不到用户“nobody_here”"},
		{"a name that cannot exist", "no such person!", "rose", "1", "", "to", "找不到用户"},
		{"oneself", "GIVER", "rose", "1", "", "to", "不能给自己送礼物"},
		{"no recipient", "  ", "rose", "1", "", "to", "请输入收礼人的用户名"},
		{"quantity zero", "taker", "rose", "0", "", "quantity", "数量须为 1 到 99 之间的整数"},
		{"quantity 100", "taker", "rose", "100", "", "quantity", "数量须为 1 到 99 之间的整数"},
		{"quantity not a number", "taker", "rose", "2.5", "", "quantity", "数量须为 1 到 99 之间的整数"},
		{"a message of 101 characters", "taker", "rose", "1", strings.Repeat("好", 101), "message", "留言最多 100 个字"},
		{"a message with a line break", "taker", "rose", "1", "one\ntwo", "message", "留言包含无法使用的字符"},
		{"an unknown gift", "taker", "diamond", "1", "", "gift", "这件礼物不存在或已下架"},
		{"no gift", "taker", "", "1", "", "gift", "请选择一件礼物"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := giftSendOne(t, sender, c.to, c.gift, c.quantity, c.message)
			expectStatus(t, a, http.StatusUnprocessableEntity)
			expectContains(t, a, `data-testid="`+c.field+`-error"`, c.says, "<html")
			expectLacks(t, a, `data-testid="shortfall"`)
		})
	}
	t.Run("as htmx, only the form comes back, values kept", func(t *testing.T) {
		a := giftSendOne(t, sender, "giver", "cake", "2", "hi", "HX-Request", "true")
		expectStatus(t, a, http.StatusUnprocessableEntity)
		expectContains(t, a, `id="gift-form"`, "不能给自己送礼物", `value="giver"`, `value="hi"`)
		expectLacks(t, a, "<html")
	})
	t.Run("in English", func(t *testing.T) {
		a := giftSendOne(t, sender, "ghost_user", "rose", "1", "", "Accept-Language", "en")
		expectStatus(t, a, http.StatusUnprocessableEntity)
		expectContains(t, a, "There is no user named “ghost_user”")
	})
	if got := giftBalance(t, s, senderID); got != 100_00 {
		t.Fatalf("balance = %s after refusals, want ¥100.00", got)
	}
	if n := giftCount(t, s, `SELECT count(*) FROM gifts`); n != 0 {
		t.Fatalf("%d gifts recorded after refusals", n)
	}
}

func TestAGiftTheBalanceCannotCoverOffersTheShortfallAndComesBackToIt(t *testing.T) {
	s := newSite(t)
	sender, senderID := giftPerson(t, s, "shorty", 5_00)
	giftPerson(t, s, "star", 0)

	a := giftSendOne(t, sender, "star", "rocket", "1", "冲鸭 & go")
	expectStatus(t, a, http.StatusUnprocessableEntity)
	expectContains(t, a, `data-testid="shortfall"`, "余额不足", "还差 ¥61.00", "充值 ¥61.00", `data-testid="shortfall-topup-preset"`)
	m := regexp.MustCompile(`href="(/recharge\?[^"]+)" class="btn btn-primary" data-testid="shortfall-topup"`).FindStringSubmatch(a.body)
	if m == nil {
		t.Fatalf("no top-up link in the shortfall box:\n%.3000s", a.body)
	}
	top, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	if top.Query().Get("amount") != "61.00" {
		t.Fatalf("top-up amount = %q, want 61.00", top.Query().Get("amount"))
	}
	returnTo := top.Query().Get("return_to")
	back, err := url.Parse(returnTo)
	if err != nil || back.Path != "/gifts" {
		t.Fatalf("return_to = %q, want the gifts page", returnTo)
	}
	want := url.Values{"to": {"star"}, "gift": {"rocket"}, "quantity": {"1"}, "message": {"冲鸭 & go"}}
	if back.Query().Encode() != want.Encode() {
		t.Fatalf("return_to carries %v, want %v", back.Query(), want)
	}
	// The recharge page keeps the way back, and the way back shows the
	// same gift, filled in and unsent.
	expectContains(t, sender.get(top.RequestURI()), `name="return_to" value="`+html.EscapeString(returnTo)+`"`)
	again := sender.get(returnTo)
	expectStatus(t, again, http.StatusOK)
	expectContains(t, again, `value="star"`, `value="rocket" class="peer sr-only" checked`, `value="冲鸭 &amp; go"`)

	if got := giftBalance(t, s, senderID); got != 5_00 {
		t.Fatalf("balance = %s after a refused gift, want ¥5.00", got)
	}
	if n := giftCount(t, s, `SELECT count(*) FROM ledger_transactions WHERE kind = 'gift'`); n != 0 {
		t.Fatalf("%d gift transactions after a refused gift", n)
	}
	if n := giftCount(t, s, `SELECT count(*) FROM gifts`); n != 0 {
		t.Fatalf("%d gifts recorded after a refused gift", n)
	}
}

func TestTheSameGiftKeySentTwentyTimesAtOnceSendsOnce(t *testing.T) {
	s := newSite(t)
	sender, senderID := giftPerson(t, s, "clicker", 10_00)
	_, friendID := giftPerson(t, s, "clicked", 0)
	form := giftForm(t, sender, "clicked", "heart", "1", "❤")
	statuses := giftConcurrently(20, func(int) (int, string, error) { return giftSend(sender, form) })
	for i, st := range statuses {
		if st != "303 /gifts" {
			t.Errorf("request %d answered %s, want 303 to /gifts", i, st)
		}
	}
	if n := giftCount(t, s, `SELECT count(*) FROM gifts`); n != 1 {
		t.Fatalf("%d gifts recorded, want 1", n)
	}
	if got := giftBalance(t, s, senderID); got != 10_00-5_20 {
		t.Fatalf("balance = %s, want ¥4.80", got)
	}
	if got := giftIncome(t, s, friendID); got != 5_20 {
		t.Fatalf("gift income = %s, want ¥5.20", got)
	}
	// The same key with another gift is refused, and moves nothing.
	form.Set("message", "another gift")
	a := sender.do(http.MethodPost, "/gifts", form)
	expectStatus(t, a, http.StatusUnprocessableEntity)
	expectContains(t, a, `data-testid="form-error"`, "这份礼物已经送出过了")
	if n := giftCount(t, s, `SELECT count(*) FROM gifts`); n != 1 {
		t.Fatalf("%d gifts recorded after a reused key, want 1", n)
	}
	if got := giftBalance(t, s, senderID); got != 4_80 {
		t.Fatalf("balance = %s after a reused key, want ¥4.80", got)
	}
}

// giftConcurrently runs n requests at once and returns "status location" each.
func giftConcurrently(n int, send func(i int) (int, string, error)) []string {
	out := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			st, loc, err := send(i)
			out[i] = fmt.Sprintf("%d %s", st, loc)
			if err != nil {
				out[i] = err.Error()
			}
		})
	}
	close(start)
	wg.Wait()
	return out
}

func TestAHundredSendersGiftingOneRecipientAtOnceAreAllRecordedOnce(t *testing.T) {
	s := newSite(t)
	_, starID := giftPerson(t, s, "popular", 0)
	const senders = 100
	forms := make([]url.Values, senders)
	browsers := make([]*browser, senders)
	ids := make([]int64, senders)
	var want wallet.Money
	for i := range senders {
		browsers[i], ids[i] = giftPerson(t, s, fmt.Sprintf("fan_%03d", i), 10_00)
		quantity := i%5 + 1
		want += wallet.Money(quantity) * 100
		forms[i] = giftForm(t, browsers[i], "popular", "rose", fmt.Sprint(quantity), fmt.Sprintf("from fan %d", i))
	}
	statuses := giftConcurrently(senders, func(i int) (int, string, error) { return giftSend(browsers[i], forms[i]) })
	for i, st := range statuses {
		if st != "303 /gifts" {
			t.Errorf("sender %d answered %s, want 303 to /gifts", i, st)
		}
	}
	if n := giftCount(t, s, `SELECT count(*) FROM gifts WHERE recipient_id = $1`, starID); n != senders {
		t.Fatalf("%d gifts recorded, want %d", n, senders)
	}
	if n := giftCount(t, s, `SELECT count(DISTINCT sender_id) FROM gifts`); n != senders {
		t.Fatalf("gifts from %d senders, want %d", n, senders)
	}
	if got := giftIncome(t, s, starID); got != want {
		t.Fatalf("recipient's gift income = %s, want %s", got, want)
	}
	for i, id := range ids {
		if got, w := giftBalance(t, s, id), 10_00-wallet.Money(i%5+1)*100; got != w {
			t.Fatalf("fan %d's balance = %s, want %s", i, got, w)
		}
	}
	if n := giftCount(t, s, `SELECT count(*) FROM (SELECT transaction_id FROM ledger_entries
		GROUP BY 1 HAVING sum(amount) <> 0) x`); n != 0 {
		t.Fatalf("%d unbalanced ledger transactions", n)
	}
}

func TestAScriptInAGiftMessageIsShownAsText(t *testing.T) {
	s := newSite(t)
	sender, _ := giftPerson(t, s, "mallory", 10_00)
	friend, _ := giftPerson(t, s, "victim", 0)
	message := `<script>alert("x")</script><img src=x onerror=alert(1)><b hx-get="/logout" hx-trigger="load">hi</b>`
	expectRedirect(t, giftSendOne(t, sender, "victim", "rose", "1", message), "/gifts")
	for _, b := range []*browser{friend, sender} {
		page := b.get("/gifts")
		expectContains(t, page, `data-testid="gift-text">&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img`)
		expectLacks(t, page, `<script>alert`, `<img src=x`, `<b hx-get`)
	}
}

// The server remembers the catalog; a gift retired or repriced since it was
// remembered is refused in the query that would pay for it, nothing
// moves, and the next send reads the catalog afresh.
func TestAGiftRepricedSinceItWasRememberedIsRefusedThenSoldAtItsNewPrice(t *testing.T) {
	s := newSite(t)
	sender, senderID := giftPerson(t, s, "early", 100_00)
	giftPerson(t, s, "later", 0)
	expectRedirect(t, giftSendOne(t, sender, "later", "cake", "1", ""), "/gifts") // ¥6.60, now remembered
	if _, err := s.store.DB().Exec(`UPDATE gift_items SET price = price * 2 WHERE code = 'cake'`); err != nil {
		t.Fatal(err)
	}
	a := giftSendOne(t, sender, "later", "cake", "1", "")
	expectStatus(t, a, http.StatusUnprocessableEntity)
	expectContains(t, a, `data-testid="gift-error"`, "这件礼物不存在或已下架")
	if got := giftBalance(t, s, senderID); got != 93_40 {
		t.Fatalf("balance = %s after the refused gift, want ¥93.40", got)
	}
	expectRedirect(t, giftSendOne(t, sender, "later", "cake", "1", ""), "/gifts")
	if got := giftBalance(t, s, senderID); got != 80_20 {
		t.Fatalf("balance = %s after the gift at its new price, want ¥80.20", got)
	}
	if n := giftCount(t, s, `SELECT count(*) FROM gifts WHERE sender_id = $1`, senderID); n != 2 {
		t.Fatalf("%d gifts recorded, want 2", n)
	}
}
