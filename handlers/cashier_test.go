package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"im2pay/payment/sandbox/sim"
)

// pageFields reads the hidden fields the recharge page would post.
func pageFields(t *testing.T, a answer) url.Values {
	t.Helper()
	out := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(a.body, -1) {
		switch m[1] {
		case "_csrf", "key", "return_to", "seen", "rules_version": // the recharge form's, not the language switch's
			out.Set(m[1], htmlUnescape(m[2]))
		}
	}
	if out.Get("key") == "" {
		t.Fatalf("no request key on the recharge page:\n%.1500s", a.body)
	}
	return out
}

func (p *paySite) ordersOfUser(name string) int {
	p.t.Helper()
	return p.ledgerCount(`SELECT count(*) FROM recharge_orders o JOIN users u ON u.id = o.user_id WHERE u.username = $1`, name)
}

func TestRechargePageShowsEachPresetsBonusTheRulesAndTheBalance(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("tiles_zh", goodPassword)

	page := b.get("/recharge")
	// The badges come from the rules in force: 5% of ¥68, 10% of ¥648,
	// and the ¥6 first top-up on every tile of a person who never paid.
	expectContains(t, page, `data-testid="badge-68.00"`, "送¥3.40", "送¥64.80", `data-testid="first-badge-6.00"`, "首充+¥6",
		"充值优惠：满¥68送5%、满¥328送10%、首充送¥6", "今日还可充值 ¥100,000.00", `data-testid="recharge-balance"`, `data-fen="0"`,
		"立即充值", "实付", "到账", `src="/static/js/cashier.js"`)
	expectLacks(t, page, `data-testid="badge-6.00"`, `data-testid="badge-30.00"`, "已达每日上限")
	expectContains(t, b.get("/recharge", "Accept-Language", "en"), "+¥3.40 bonus", "+¥6 first top-up",
		"Bonuses: from ¥68, +5%; from ¥328, +10%; ¥6 extra on your first top-up", "You can top up ¥100,000.00 more today", "Top up now")

	// After a paid top-up the first-top-up bonus is gone from tiles and line,
	// and today's allowance counts it.
	no := p.order(b, "alipay", "68")
	p.pay(b, no)
	p.settle(b, no, sim.Success)
	p.result(b, no, 10*time.Second)
	page = b.get("/recharge")
	expectContains(t, page, "送¥3.40", "充值优惠：满¥68送5%、满¥328送10%", "今日还可充值 ¥99,932.00", `data-fen="7740"`)
	expectLacks(t, page, "首充", `data-testid="first-badge-6.00"`)
}

func TestRechargePageSaysAtTheLimitAndNotBefore(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("limit_day", goodPassword)
	p.order(b, "alipay", "50000") // open orders count toward the day, as the limit does
	page := b.get("/recharge")
	expectContains(t, page, "今日还可充值 ¥50,000.00")
	expectLacks(t, page, "已达每日上限")
	p.order(b, "alipay", "50000")
	page = b.get("/recharge")
	expectContains(t, page, `data-testid="daily-reached"`, "已达每日上限 ¥100,000.00")
	expectLacks(t, page, "今日还可充值")
	// Every tile and the pay button are off; the server refuses anyway.
	if !strings.Contains(page.body, `data-testid="preset-6.00" data-fen="600"`) || !strings.Contains(page.body, "disabled data-testid=\"preset-6.00\"") {
		t.Errorf("the ¥6 tile can still be chosen at the daily limit:\n%.2000s", page.body)
	}
	if !strings.Contains(page.body, `disabled data-testid="recharge-next"`) {
		t.Error("the pay button works at the daily limit")
	}
}

func TestRechargePageSaysWhatTheTopUpIsFor(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("purpose", goodPassword)
	open := func(returnTo string, extra ...string) answer {
		return b.get("/recharge?"+url.Values{"amount": {"7.00"}, "return_to": {returnTo}}.Encode(), extra...)
	}
	expectContains(t, open("/shop?product=premium_1m"), "本次充值用于购买：高级会员 · 1 个月")
	expectContains(t, open("/shop?product=premium_1m", "Accept-Language", "en"), "This top-up is for: Premium · 1 month")
	expectContains(t, open("/gifts?gift=rose&quantity=3&to=friend_a"), "本次充值用于送礼：玫瑰 ×3 给 friend_a")
	// Only names the catalog knows are shown; an edited link says no more
	// than that the top-up goes back.
	for _, hostile := range []string{"/shop?product=premium_1m.desc", "/gifts?gift=rose&quantity=3&to=%3Cb%3Ex%3C%2Fb%3E", "/shop?product=nope"} {
		a := open(hostile)
		expectContains(t, a, "充值成功后可返回刚才的页面继续。")
		expectLacks(t, a, "本次充值用于", "<b>x</b>")
	}
	expectLacks(t, open("https://evil.example/shop?product=premium_1m"), `data-testid="recharge-purpose"`)
	expectLacks(t, b.get("/recharge"), `data-testid="recharge-purpose"`)
}

func TestTheRechargePagePaysInOnePressUnlessSomethingNeedsASecondLook(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("one_press", goodPassword)

	// The preview the person saw (seen) is the quote now: one press.
	page := b.get("/recharge?method=alipay&amount=68")
	f := pageFields(t, page)
	f.Set("method", "alipay")
	f.Set("amount", "68.00")
	a := b.do(http.MethodPost, "/recharge", f)
	if a.status != http.StatusSeeOther || !orderPath.MatchString(a.header.Get("Location")) {
		t.Fatalf("one press: %d %q, want the order's pay step\n%.1500s", a.status, a.header.Get("Location"), a.body)
	}
	// The same key again finds the same order (a double press).
	if again := b.do(http.MethodPost, "/recharge", f); again.header.Get("Location") != a.header.Get("Location") {
		t.Fatalf("a double press made another order: %q then %q", a.header.Get("Location"), again.header.Get("Location"))
	}

	// Without the preview (no JavaScript, or pressed before it came back)
	// the confirm step shows the terms first.
	page = b.get("/recharge?method=alipay")
	f = pageFields(t, page)
	f.Set("method", "alipay")
	f.Set("amount", "128.00")
	a = b.do(http.MethodPost, "/recharge", f)
	if loc := a.header.Get("Location"); a.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/recharge/confirm?") {
		t.Fatalf("unseen terms: %d %q, want the confirm step", a.status, loc)
	}
	// The preview button (no JavaScript) shows the page with the quote:
	// ¥128 + 5% + the first top-up's ¥6 (the order above is not paid).
	f.Set("preview", "1")
	expectContains(t, b.do(http.MethodPost, "/recharge", f), `data-testid="quote-receive"`, "¥140.40", `name="seen"`)

	// A large typed amount gets a second look even when previewed.
	page = b.get("/recharge?method=alipay&custom=6800")
	f = pageFields(t, page)
	f.Set("method", "alipay")
	f.Set("custom", "6800")
	a = b.do(http.MethodPost, "/recharge", f)
	loc := a.header.Get("Location")
	if a.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/recharge/confirm?") {
		t.Fatalf("a large amount: %d %q, want the confirm step", a.status, loc)
	}
	expectContains(t, b.get(loc), `data-testid="second-look"`, "金额较大：¥6,800.00，高于最大档位 ¥648.00。", `data-testid="confirm-pay"`)
	if n := p.ordersOfUser("one_press"); n != 1 {
		t.Fatalf("%d orders, want the one pressed for", n)
	}
}

// The outsider's first try: post the page's form straight to the server
// with a tampered amount, method, rules version or fingerprint, skipping
// the page and the confirm step. Every term is checked again.
func TestATamperedRechargeFormIsCheckedOnTheServer(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("tamperer", goodPassword)
	page := b.get("/recharge?method=alipay&amount=68")
	base := pageFields(t, page)
	seen68 := base.Get("seen")
	with := func(changes ...string) url.Values {
		f := url.Values{}
		for k, v := range base {
			f[k] = v
		}
		f.Set("method", "alipay")
		f.Set("amount", "68.00")
		for i := 0; i+1 < len(changes); i += 2 {
			f.Set(changes[i], changes[i+1])
		}
		return f
	}
	refused := []struct {
		name string
		form url.Values
		says string
	}{
		{"a negative amount", with("amount", "-68.00", "seen", strings.Replace(seen68, ":6800:", ":-6800:", 1)), ""},
		{"a fraction of a fen", with("amount", "68.001"), ""},
		{"over the method's maximum with a forged fingerprint", with("amount", "50000.01", "seen", strings.Replace(seen68, ":6800:7740", ":5000001:5000001", 1)), "单笔最高"},
		{"an unknown method", with("method", "bitcoin"), "请选择一种支付方式。"},
		{"a rules version never in force", with("rules_version", "999999"), "充值优惠规则已更新"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			a := b.do(http.MethodPost, "/recharge", c.form)
			if a.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d (Location %q), want 422", a.status, a.header.Get("Location"))
			}
			if c.says != "" {
				expectContains(t, a, c.says)
			}
		})
	}
	// A fingerprint of a generous quote for a cheap amount buys nothing:
	// the terms it claims are not the terms now, so the confirm step shows
	// the real ones, and no order is made.
	forged := with("amount", "6.00", "seen", strings.Replace(seen68, ":6800:7740", ":600:100000", 1))
	if a := b.do(http.MethodPost, "/recharge", forged); a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/recharge/confirm?") {
		t.Fatalf("a forged fingerprint: %d %q, want the confirm step", a.status, a.header.Get("Location"))
	}
	// Unknown fields are refused outright, as every form's are.
	if a := b.do(http.MethodPost, "/recharge", with("bonus", "100")); a.status != http.StatusBadRequest {
		t.Fatalf("an extra field: %d, want 400", a.status)
	}
	// Without the CSRF token nothing happens.
	noToken := with()
	noToken.Del("_csrf")
	if a := b.do(http.MethodPost, "/recharge", noToken); a.status != http.StatusForbidden && a.status != http.StatusBadRequest {
		t.Fatalf("no CSRF token: %d, want refused", a.status)
	}
	if n := p.ordersOfUser("tamperer"); n != 0 {
		t.Fatalf("%d orders made from tampered forms, want none", n)
	}
	// The untampered form still works, and the order is the server's price.
	a := b.do(http.MethodPost, "/recharge", with())
	no := orderPath.FindStringSubmatch(a.header.Get("Location"))
	if no == nil {
		t.Fatalf("the honest form: %d %q\n%.1500s", a.status, a.header.Get("Location"), a.body)
	}
	if n := p.ledgerCount(`SELECT count(*) FROM recharge_orders WHERE out_trade_no = $1 AND amount = 6800 AND tier_bonus = 340 AND first_bonus = 600`, no[1]); n != 1 {
		t.Fatalf("order %s is not priced ¥68 + ¥3.40 + ¥6", no[1])
	}
}
