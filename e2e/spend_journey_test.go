package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"im2pay/spend"
	"im2pay/wallet"
)

// TestSpendJourneys spends money through the real pages: membership from
// the shop, the shortfall round trip through a top-up on the sandbox
// cashier and back to the unconfirmed purchase, a gift from one person to
// another (whose message is hostile markup), and the CSV export and monthly
// summary of the history. Each variant (device and language) has a site of
// its own and runs beside the others in one browser; within a variant the
// journeys run one after another, each a new person in a tab of its own
// browser context. Screenshots go to out/spend/<device>/<language>/<journey>/.
func TestSpendJourneys(t *testing.T) {
	browserCtx := startBrowser(t)
	start := time.Now()
	defer func() { t.Logf("spend journeys took %s", time.Since(start).Round(100*time.Millisecond)) }()

	journeys := []struct {
		name string
		run  func(p *spendPage)
	}{
		{"membership", membershipJourney},
		{"shortfall-topup", shortfallJourney},
		{"gift", giftJourney},
		{"csv-export", csvJourney},
	}
	t.Run("spend", func(t *testing.T) {
		for _, v := range []variant{
			{dev: desktop, lang: zhCN, accept: "zh-CN,zh;q=0.9"},
			{dev: phone, lang: zhCN, accept: "zh-CN,zh;q=0.9"},
			{dev: phone, lang: en, accept: "en-US,en;q=0.9"},
		} {
			t.Run(v.dev.name+"/"+v.lang.tag, func(t *testing.T) {
				// A site per variant: the server's error log is read per
				// subtest, which only works while one subtest at a time
				// uses it.
				t.Parallel()
				s := newPaySite(t)
				for _, j := range journeys {
					t.Run(j.name, func(t *testing.T) {
						j.run(newSpendPage(t, s, browserCtx, v))
					})
				}
			})
		}
	})
}

// membershipJourney: a person with ¥100 opens the shop from the navigation
// and buys a month of premium; the shop and the account center show it.
func membershipJourney(p *spendPage) {
	l := p.l
	name := p.person("m", 100_00)
	p.logIn(name)
	p.navTo("/shop", l.navShop)
	p.wantText(chromedp.CSS("main h1"), l.shopTitle)
	p.wantMoney(shopBalance, 100_00)
	p.wantText(byTestID("shop-membership"), l.notMember)
	card := `[data-testid="product-premium_1m"]`
	if got := p.text(chromedp.CSS(card + " h2")); got != l.premium1m {
		p.fail("the product is called %q, want %q", got, l.premium1m)
	}
	p.wantText(chromedp.CSS(card), "¥12.00")
	if p.present(byTestID("pending")) {
		p.fail("the shop shows a purchase box before anything was bought")
	}
	p.snap("shop")

	// ¥12 is below the default confirmation threshold (¥100): one press buys.
	p.follow(byTestID("buy-premium_1m"), "/shop")
	p.wantPath("/shop")
	p.wantText(byTestID("flash"), l.bought)
	p.wantText(byTestID("shop-membership"), l.memberUntil)
	p.wantMoney(shopBalance, 88_00)
	if p.present(byTestID("pending")) {
		p.fail("the shop still shows a purchase box after buying")
	}
	p.snap("shop-bought")

	p.follow(chromedp.CSS(`nav a[href="/account"]`), "/account")
	p.wantBalance("8800")
	p.wantText(byID("balance"), "¥88.00")
	membership := p.text(byTestID("membership"))
	if !strings.Contains(membership, l.memberUntil) {
		p.fail("the account center's membership says %q, want %q…", membership, l.memberUntil)
	}
	until := p.shownTime(membership)
	if d := time.Until(until); d < 28*24*time.Hour || d > 31*24*time.Hour+time.Minute {
		p.fail("a month of premium runs until %s, %s from now", until, d.Round(time.Minute))
	}
	rec := chromedp.CSS(`[data-testid="record"]:nth-child(1)`)
	for _, want := range []string{l.purchaseKind, l.purchaseDesc, "-¥12.00"} {
		p.wantText(rec, want)
	}
	p.snap("account")
}

// shortfallJourney: a person with ¥5 tries to buy premium_1m (¥12). The
// shortfall box offers exactly ¥7.00; the top-up page arrives with it; the
// person pays with Alipay on the sandbox cashier, comes back from the result
// page to the purchase, still unbought, and confirms it.
func shortfallJourney(p *spendPage) {
	l := p.l
	name := p.person("short", 5_00)
	p.logIn(name)
	p.navTo("/shop", l.navShop)
	p.wantMoney(shopBalance, 5_00)

	// The refusal is a 422, which the browser may log as a failed load.
	p.probs.expect("the refused purchase's 422", 1, func(pr problem) bool {
		return pr.kind == "log.network" && strings.HasSuffix(pr.url, "/shop/buy") && strings.Contains(pr.text, "422")
	})
	p.follow(byTestID("buy-premium_1m"), "/shop/buy")
	box := byTestID("shortfall")
	p.wantText(box, l.shortfallTitle)
	p.wantText(box, l.shortfallDetail)
	if got := p.text(byTestID("shortfall-topup")); got != l.topUp7 {
		p.fail("the shortfall's top-up button says %q, want %q", got, l.topUp7)
	}
	if got := p.text(byTestID("shortfall-topup-preset")); got != l.topUp30 {
		p.fail("the preset top-up button says %q, want %q", got, l.topUp30)
	}
	p.wantText(chromedp.CSS(`[data-testid="pending"] h2`), l.premium1m)
	if p.present(byTestID("confirm-purchase")) {
		p.fail("the shortfall box offers to confirm a purchase the balance cannot cover")
	}
	p.wantMoney(shopBalance, 5_00)
	p.wantText(byTestID("shop-membership"), l.notMember)
	p.snap("shortfall")

	p.follow(byTestID("shortfall-topup"), "/recharge")
	p.wantPath("/recharge?amount=7.00&return_to=%2Fshop%3Fproduct%3Dpremium_1m")
	if got := p.value(byTestID("custom-amount")); got != "7.00" {
		p.fail("the top-up page's amount holds %q, want the shortfall 7.00", got)
	}
	if n := p.count(chromedp.CSS(`input[name="amount"]:checked`)); n != 0 {
		p.fail("a preset is chosen as well as the shortfall amount")
	}
	if got := p.value(chromedp.CSS(`[data-testid="recharge-form"] input[name="return_to"]`)); got != "/shop?product=premium_1m" {
		p.fail("the top-up form returns to %q, want the purchase", got)
	}
	p.markDocument()
	p.chooseMethod("alipay")
	// The page was opened with a query, so waitPreview's check of the
	// address does not apply; the same checks with the path alone.
	p.waitFor("the preview", fmt.Sprintf(`(e => e && e.innerText.includes(%q))(document.querySelector(%q))`,
		payLang(p.v).youReceive, string(byTestID("preview"))))
	if !p.sameDocument() || eval[string](p.page, `location.pathname`) != "/recharge" {
		p.fail("choosing Alipay left or reloaded the top-up page")
	}
	p.wantText(byTestID("quote-pay"), "¥7.00")
	p.wantText(byTestID("quote-first-bonus"), "+¥6.00")
	p.wantText(byTestID("quote-receive"), "¥13.00")
	p.snap("recharge")

	p.wantText(byTestID("bar-pay"), "¥7.00")
	p.wantText(byTestID("bar-receive"), "¥13.00")
	p.pressAndLeave(byTestID("recharge-next"))
	p.waitCashier("¥7.00", false)
	p.snapCashier("cashier")
	p.payOnCashier("alipay", sandboxPassword)

	p.waitResult("paid")
	p.wantText(byTestID("result-title"), payLang(p.v).paid)
	p.wantText(byTestID("result-first-bonus"), "+¥6.00")
	p.wantMoney(chromedp.CSS(`[data-testid="result"] dd [data-fen]`), 18_00)
	if got := p.text(byTestID("result-back")); got != l.backToPurchase {
		p.fail("the result page's way back says %q, want %q", got, l.backToPurchase)
	}
	p.snap("result-paid")

	// Back at the purchase: shown, not bought.
	p.follow(byTestID("result-back"), "/shop")
	p.wantPath("/shop?product=premium_1m")
	p.wantText(chromedp.CSS(`[data-testid="pending"] h2`), l.premium1m)
	if p.present(byTestID("shortfall")) {
		p.fail("the shortfall box still shows after the top-up")
	}
	p.wantText(byTestID("balance-after"), "¥6.00")
	if got := p.text(byTestID("confirm-purchase")); got != l.confirm12 {
		p.fail("the confirm button says %q, want %q", got, l.confirm12)
	}
	p.wantMoney(shopBalance, 18_00) // ¥5 + ¥7 + the ¥6 first top-up bonus
	p.wantText(byTestID("shop-membership"), l.notMember)
	if n := p.memberships(name); n != 0 {
		p.fail("coming back from the top-up bought the membership by itself")
	}
	p.snap("back-to-purchase")

	p.follow(byTestID("confirm-purchase"), "/shop")
	p.wantPath("/shop")
	p.wantText(byTestID("flash"), l.bought)
	p.wantText(byTestID("shop-membership"), l.memberUntil)
	p.wantMoney(shopBalance, 6_00)
	if p.present(byTestID("pending")) {
		p.fail("the purchase box stays after confirming")
	}
	p.snap("bought")
	// The statement agrees, top-up and bonus included: grant, top-up,
	// bonus and purchase add up to what is left.
	if rows := p.statementCSV("/history/export.csv"); len(rows) != 5 {
		p.fail("the CSV has %d lines after a grant, a top-up with its bonus and a purchase, want 4", len(rows)-1)
	} else if sum, last := p.csvTotals(rows); sum != 6_00 || last != 6_00 {
		p.fail("the CSV's amounts add up to %s and end at a balance of %s, want ¥6.00", sum, last)
	}
	if n := p.memberships(name); n != 1 {
		p.fail("%d memberships after confirming, want 1", n)
	}
	if n := p.s.ordersOf(p.t, name); n != 1 {
		p.fail("%d top-up orders, want 1", n)
	}
}

// memberships counts the person's running memberships in the database.
func (p *spendPage) memberships(name string) int {
	p.t.Helper()
	var n int
	err := p.s.store.DB().GetContext(context.Background(), &n,
		`SELECT count(*) FROM memberships WHERE user_id = $1 AND expires_at > now()`, p.s.userID(p.t, name))
	if err != nil {
		p.t.Fatalf("count memberships: %v", err)
	}
	return n
}

// hostileMessage would run script if the page put it into the document as
// markup instead of text.
const hostileMessage = `<script>alert(1)</script><img src=x onerror=alert(2)>`

// giftJourney: A sends B three roses with a hostile message; B, in another
// browser, finds them under the gifts received, from A, with the time and
// the message as plain text; nothing runs.
func giftJourney(p *spendPage) {
	l := p.l
	a := p.person("ga", 20_00)
	b := p.person("gb", 0)
	started := time.Now()

	p.logIn(a)
	p.navTo("/gifts", l.navGifts)
	p.wantText(chromedp.CSS("main h1"), l.giftsTitle)
	p.wantMoney(chromedp.CSS(`[data-testid="gifts-balance"] [data-fen]`), 20_00)
	p.wantText(byID("received-title"), l.receivedTitle)
	if !p.present(byTestID("gift-received-empty")) || !p.present(byTestID("gift-sent-empty")) {
		p.fail("a new person's gift lists are not empty")
	}
	p.snap("gifts")

	rose := byTestID("gift-rose")
	p.press(chromedp.CSS(string(rose) + " + span"))
	p.waitFor("the rose to be chosen", fmt.Sprintf(`document.querySelector(%q).checked`, string(rose)))
	p.fill(byTestID("gift-to"), b)
	p.typeInto(byTestID("gift-quantity"), "3")
	p.typeInto(byTestID("gift-message"), hostileMessage)
	p.snap("gift-form")
	p.follow(byTestID("gift-submit"), "/gifts")
	p.wantText(byTestID("flash"), l.giftSent)
	p.wantMoney(chromedp.CSS(`[data-testid="gifts-balance"] [data-fen]`), 17_00)
	if n := p.count(byTestID("gift-sent")); n != 1 {
		p.fail("the sent list shows %d gifts, want 1", n)
	}
	sent := `[data-testid="gift-sent"]`
	if got := p.text(chromedp.CSS(sent + ` [data-testid="gift-who"]`)); got != b {
		p.fail("the sent gift went to %q, want %q", got, b)
	}
	p.wantText(chromedp.CSS(sent), l.to)
	p.wantText(chromedp.CSS(sent+` [data-testid="gift-item"]`), l.roseTimes3)
	p.wantMoney(chromedp.CSS(sent+` [data-fen]`), 3_00)
	p.wantPlainMessage(sent)
	p.snap("gift-sent")

	q := p.otherPerson()
	q.logIn(b)
	q.checkDialogDetection()
	q.navTo("/gifts", l.navGifts)
	received := `section[aria-labelledby="received-title"] [data-testid="gift-received"]`
	if n := q.count(chromedp.CSS(received)); n != 1 {
		q.fail("B's received list shows %d gifts, want 1", n)
	}
	if got := q.text(chromedp.CSS(received + ` [data-testid="gift-who"]`)); got != a {
		q.fail("the gift is shown as from %q, want %q", got, a)
	}
	q.wantText(chromedp.CSS(received), l.from)
	q.wantText(chromedp.CSS(received+` [data-testid="gift-item"]`), l.roseTimes3)
	q.wantPlainMessage(received)
	at, err := time.Parse(time.RFC3339, q.attr(chromedp.CSS(received+" time"), "datetime"))
	if err != nil {
		q.fail("the gift's time: %v", err)
	}
	if at.Before(started.Add(-time.Minute)) || at.After(time.Now().Add(time.Minute)) {
		q.fail("the gift is dated %s, not just now", at)
	}
	if got, want := q.text(chromedp.CSS(received+" time")), at.In(shanghai()).Format("2006-01-02 15:04"); got != want {
		q.fail("the gift's time reads %q, want %q", got, want)
	}
	total := byTestID("gifts-received-total")
	q.wantText(total, l.receivedTotal3)
	if got := q.attr(total, "data-fen"); got != "300" {
		q.fail("received total data-fen = %q, want 300", got)
	}
	// Gifts received are gift income, not spendable balance.
	q.wantMoney(chromedp.CSS(`[data-testid="gifts-balance"] [data-fen]`), 0)
	q.snap("gift-received")

	// Give an injected handler time to fire, then check nothing ran: no
	// dialog, and no error or failed load (the cleanup checks those).
	time.Sleep(300 * time.Millisecond)
	for _, pg := range []*spendPage{p, q} {
		if seen := pg.dialogs.take(); len(seen) > 0 {
			pg.fail("the gift message ran script: %v", seen)
		}
	}
	p.shotsAfter(q)
}

// wantPlainMessage checks that the gift in item shows the hostile message
// character for character as text: no element made of it, nothing loaded.
func (p *spendPage) wantPlainMessage(item string) {
	p.t.Helper()
	type msg struct {
		Text     string
		Children int
		Injected int
	}
	m := eval[msg](p.page, fmt.Sprintf(`(e => ({
		Text: e ? e.textContent : "",
		Children: e ? e.children.length : -1,
		Injected: document.querySelectorAll('main script, img[src="x"], [onerror]').length,
	}))(document.querySelector(%q))`, item+` [data-testid="gift-text"]`))
	if m.Text != hostileMessage {
		p.fail("the gift message reads %q, want %q as typed", m.Text, hostileMessage)
	}
	if m.Children != 0 || m.Injected != 0 {
		p.fail("the gift message became markup: %d child elements, %d injected elements", m.Children, m.Injected)
	}
}

// csvJourney: after a few ledger lines the person exports the history as
// CSV and opens the monthly summary; both agree with the account center.
func csvJourney(p *spendPage) {
	l := p.l
	ctx := context.Background()
	name := p.person("csv", 50_00)
	friend := p.person("csvf", 0)
	uid := p.s.userID(p.t, name)
	p.s.grant(p.t, uid, 55, name+":extra", "welcome_grant")
	for i, product := range []string{"premium_1m", "stickers_panda"} {
		if _, err := p.s.spend.Buy(ctx, spend.Purchase{UserID: uid, Product: product, Key: fmt.Sprintf("csv-%s-%d", name, i)}); err != nil {
			p.t.Fatalf("buy %s: %v", product, err)
		}
	}
	if _, err := p.s.spend.SendGift(ctx, spend.GiftRequest{SenderID: uid, To: friend, Gift: "heart", Quantity: "1",
		Key: "csv-gift-" + name}); err != nil {
		p.t.Fatalf("send a gift: %v", err)
	}
	const want = 50_00 + 55 - 12_00 - 6_00 - 5_20

	p.logIn(name)
	p.wantBalance(fmt.Sprint(want))
	// What the person reads, not the data attribute, is what the CSV must
	// add up to.
	balance, ok := parseYuan(strings.TrimPrefix(p.text(byID("balance")), "¥"))
	if !ok {
		p.fail("the account center's balance reads %q", p.text(byID("balance")))
	}
	p.snap("account")
	p.navTo("/history", l.navHistory)
	amounts := eval[[]int64](p.page, `Array.from(document.querySelectorAll('[data-testid="record"]'), r => +r.querySelector("[data-fen]").dataset.fen)`)
	if len(amounts) != 5 {
		p.fail("the history shows %d lines, want 5", len(amounts))
	}
	slices.Reverse(amounts) // the history is newest first, the CSV oldest first
	link := byTestID("export-csv")
	if got := p.text(link); got != l.exportCSV {
		p.fail("the export link says %q, want %q", got, l.exportCSV)
	}
	if got := p.text(byTestID("summary-link")); got != l.summaryLink {
		p.fail("the summary link says %q, want %q", got, l.summaryLink)
	}
	p.snap("history")

	href := p.attr(link, "href")
	if href != "/history/export.csv" {
		p.fail("the unfiltered export link goes to %q", href)
	}
	rows := p.statementCSV(href)
	if len(rows)-1 != len(amounts) {
		p.fail("the CSV has %d lines, the history %d", len(rows)-1, len(amounts))
	}
	for i, r := range rows[1:] {
		if m, _ := parseYuan(r[3]); int64(m) != amounts[i] {
			p.fail("CSV line %d moves %s, the history's line %s", i+1, r[3], wallet.Money(amounts[i]))
		}
	}
	sum, last := p.csvTotals(rows)
	if sum != balance {
		p.fail("the CSV's amounts add up to %s, the account center shows %s", sum, balance)
	}
	if last != balance {
		p.fail("the CSV's last balance is %s, the account center shows %s", last, balance)
	}
	if purchase := rows[3]; purchase[1] != l.purchaseKind || purchase[2] != l.purchaseDesc {
		p.fail("the CSV's purchase line reads %q, want kind %q and %q", purchase, l.purchaseKind, l.purchaseDesc)
	}
	if gift := rows[5]; gift[1] != l.giftKind || gift[3] != "-5.20" {
		p.fail("the CSV's gift line reads %q", gift)
	}

	// Filtered to purchases, the export link follows the filter (htmx
	// refreshes it) and exports only those.
	p.do("choose kind purchase", chromedp.SetValue(byID("kind"), "purchase"))
	filterHistory(p.page)
	p.waitFor("the export link to follow the filter", fmt.Sprintf(`document.querySelector(%q).getAttribute("href") === "/history/export.csv?kind=purchase"`, string(link)))
	if n := p.count(byTestID("record")); n != 2 {
		p.fail("the purchase filter shows %d lines, want 2", n)
	}
	p.snap("history-purchases")
	rows = p.statementCSV(p.attr(link, "href"))
	if len(rows) != 3 {
		p.fail("the purchases' CSV has %d lines, want 2", len(rows)-1)
	}
	for _, r := range rows[1:] {
		if r[1] != l.purchaseKind {
			p.fail("the purchases' CSV has a line of kind %q", r[1])
		}
	}

	p.follow(byTestID("summary-link"), "/history/summary")
	p.wantText(chromedp.CSS("main h1"), l.summaryTitle)
	in, out := wallet.Money(50_00+55), wallet.Money(12_00+6_00+5_20)
	p.wantMoney(chromedp.CSS(`[data-testid="total-in"] [data-fen]`), in)
	p.wantMoney(chromedp.CSS(`[data-testid="total-out"] [data-fen]`), out)
	month := fmt.Sprintf(`[data-testid="summary-month"][data-month=%q]`, time.Now().In(shanghai()).Format("2006-01"))
	p.wantMoney(chromedp.CSS(month+` [data-testid="month-in"] [data-fen]`), in)
	p.wantMoney(chromedp.CSS(month+` [data-testid="month-out"] [data-fen]`), out)
	if n := p.count(byTestID("summary-month")); n != 12 {
		p.fail("the summary has %d months, want 12", n)
	}
	if n := p.count(byTestID("kind-out")); n != 2 {
		p.fail("the summary splits the money out into %d kinds, want 2 (purchase, gift)", n)
	}
	p.snap("summary")
}

// csvTotals adds up a statement's amounts and reads the balance after its
// last line, checking every line's time and amounts on the way.
func (p *spendPage) csvTotals(rows [][]string) (sum, last wallet.Money) {
	p.t.Helper()
	for i, r := range rows[1:] {
		if len(r) != len(p.l.csvHeader) {
			p.fail("CSV line %d has %d cells: %q", i+1, len(r), r)
		}
		if _, err := time.ParseInLocation("2006-01-02 15:04:05", r[0], shanghai()); err != nil {
			p.fail("CSV line %d has the time %q: %v", i+1, r[0], err)
		}
		m, ok := parseYuan(r[3])
		if !ok {
			p.fail("CSV line %d has the amount %q", i+1, r[3])
		}
		if last, ok = parseYuan(r[4]); !ok {
			p.fail("CSV line %d has the balance %q", i+1, r[4])
		}
		sum += m
	}
	return sum, last
}

// statementCSV fetches an export with the person's session and checks what
// every export must be: a UTF-8 CSV download with the BOM and the header
// row in the person's language. It returns the rows, header first.
func (p *spendPage) statementCSV(href string) [][]string {
	p.t.Helper()
	before := time.Now()
	d := p.fetch(href)
	if d.Status != 200 {
		p.fail("GET %s: status %d", href, d.Status)
	}
	if d.Type != "text/csv; charset=utf-8" {
		p.fail("GET %s: Content-Type %q", href, d.Type)
	}
	// Named after today (either side of a midnight the fetch crossed).
	name := func(at time.Time) string {
		return `attachment; filename="im2pay-statement-start-` + at.In(shanghai()).Format("2006-01-02") + `.csv"`
	}
	if d.Disposition != name(before) && d.Disposition != name(time.Now()) {
		p.fail("GET %s: Content-Disposition %q, want %q", href, d.Disposition, name(before))
	}
	body, ok := bytes.CutPrefix(d.Body, []byte("\xEF\xBB\xBF"))
	if !ok {
		p.fail("the CSV does not start with the UTF-8 BOM: % x", d.Body[:min(len(d.Body), 8)])
	}
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		p.fail("the CSV does not parse: %v\n%s", err, body)
	}
	if len(rows) == 0 || !slices.Equal(rows[0], p.l.csvHeader) {
		p.fail("the CSV's header row is %q, want %q", rows, p.l.csvHeader)
	}
	return rows
}
