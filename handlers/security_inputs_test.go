package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"im2pay/handlers"
	"im2pay/internal/figures"
)

func TestSecurityAConfirmedPurchaseIsChargedAtThePriceShown(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := funded(t, s, "pricey_q9", 300_00)
	// The confirmation shows ¥108.00; the catalog then changes to ¥208.00.
	ask := b.get("/shop?product=premium_12m")
	expectContains(t, ask, `data-testid="confirm-purchase"`, "¥108.00")
	token := b.token("/shop")
	key := "key-reprice-" + randomDigits(10)
	if _, err := s.store.DB().ExecContext(context.Background(), `UPDATE products SET price = 20800 WHERE code = 'premium_12m'`); err != nil {
		t.Fatal(err)
	}
	tries, through := 0, 0
	attempt := func(form url.Values) answer {
		tries++
		before := countRows(t, s, `SELECT count(*) FROM purchases`)
		a := b.postToken(token, "/shop/buy", form)
		if countRows(t, s, `SELECT count(*) FROM purchases`) != before {
			through++
			t.Errorf("%v: bought, answered %d", form, a.status)
		}
		switch a.status {
		case http.StatusConflict: // a quote of another price: asked again at this one
			expectContains(t, a, `data-testid="repriced"`, "价格已变为 ¥208.00", `data-testid="confirm-purchase"`)
		case http.StatusOK: // confirmed without a quote: asked again
			expectContains(t, a, `data-testid="confirm-purchase"`, "¥208.00")
		case http.StatusBadRequest: // a quote that is not an amount
		default:
			t.Errorf("%v: answered %d", form, a.status)
		}
		return a
	}
	// The confirmation as the page sent it, and forged ones.
	attempt(url.Values{"product": {"premium_12m"}, "key": {key}, "confirmed": {"1"}, "price": {"108.00"}})
	attempt(url.Values{"product": {"premium_12m"}, "key": {key}, "confirmed": {"1"}, "price": {"0.01"}})
	attempt(url.Values{"product": {"premium_12m"}, "key": {key}, "confirmed": {"1"}, "price": {"-208.00"}})
	attempt(url.Values{"product": {"premium_12m"}, "key": {key}, "confirmed": {"1"}})
	figures.Record(t, "security", "P1 a purchase confirmed at one price and charged at another", tries, through)
	expectContains(t, b.get("/account"), `data-fen="30000"`)
	// Confirmed at the new price, it goes through at that price.
	expectRedirect(t, b.postToken(token, "/shop/buy", url.Values{"product": {"premium_12m"}, "key": {key},
		"confirmed": {"1"}, "price": {"208.00"}}), "/shop")
	expectContains(t, b.get("/account"), `data-fen="9200"`)
}

func TestSecurityUnknownOfferCodesAreNotEchoed(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := funded(t, s, "spoof_q9", 10_00)
	payloads := []string{
		"您的账户已冻结，请联系客服QQ12345",
		"Your account is frozen. Call +1-555-0100",
		"premium_12m ",
		"<b>bold</b>",
		strings.Repeat("A", 2000),
	}
	tries, through := 0, 0
	for _, field := range []string{"/shop?product=", "/events?event="} {
		for _, p := range payloads {
			tries++
			a := b.get(field + url.QueryEscape(p))
			if a.status != http.StatusNotFound || strings.Contains(a.body, p) || strings.Contains(a.body, url.QueryEscape(p)) {
				through++
				t.Errorf("%s%q: answered %d, echoed %v", field, p, a.status, strings.Contains(a.body, p))
			}
		}
	}
	figures.Record(t, "security", "P2 content spoofing through ?product= and ?event=", tries, through)
	// A real code still opens its purchase.
	expectContains(t, b.get("/shop?product=stickers_panda"), `data-testid="pending"`)
}

func TestSecurityNulAndInvalidUTF8AreRefusedAtTheEdge(t *testing.T) {
	t.Parallel()
	s := newSite(t, func(c *handlers.Config) { c.ServiceToken = serviceToken })
	b := s.browser()
	expectRedirect(t, b.register("nul_q9", goodPassword), "/account")
	token := b.token("/account")
	type probe struct {
		name string
		send func() answer
	}
	form := func(action string, v url.Values) func() answer {
		return func() answer { return b.postToken(token, action, v) }
	}
	api := func(path, body string) func() answer {
		return func() answer { return s.api(http.MethodPost, path, serviceToken, strings.NewReader(body)) }
	}
	probes := []probe{
		{"login username NUL", form("/login", url.Values{"username": {"nul\x00q9"}, "password": {goodPassword}})},
		{"register username NUL", form("/register", url.Values{"username": {"a\x00b"}, "password": {goodPassword}})},
		{"register password NUL", form("/register", url.Values{"username": {"nul_two"}, "password": {"pass\x00word-long"}})},
		{"register username not UTF-8", form("/register", url.Values{"username": {"a\xffb"}, "password": {goodPassword}})},
		{"gift message NUL", form("/gifts", url.Values{"to": {"nul_q9"}, "gift": {"rose"}, "quantity": {"1"}, "message": {"hi\x00"}, "key": {"k" + randomDigits(20)}})},
		{"gift recipient NUL", form("/gifts", url.Values{"to": {"x\x00"}, "gift": {"rose"}, "quantity": {"1"}, "key": {"k" + randomDigits(20)}})},
		{"settings NUL", form("/account/settings", url.Values{"confirm_above": {"1\x00"}, "low_balance": {"1"}})},
		{"password NUL", form("/account/password", url.Values{"current_password": {"x\x00"}, "password": {"y"}})},
		{"recharge amount NUL", form("/recharge/orders", url.Values{"method": {"alipay"}, "amount": {"30\x00"}, "key": {"k" + randomDigits(20)}})},
		{"field name NUL", form("/account/settings", url.Values{"confirm\x00above": {"1"}, "low_balance": {"1"}})},
		{"history query NUL", func() answer { return b.get("/history?kind=gift%00") }},
		{"history query not UTF-8", func() answer { return b.get("/history?from=%ff") }},
		{"gifts query NUL", func() answer { return b.get("/gifts?to=%00") }},
		{"order path NUL", func() answer { return b.get("/recharge/orders/2026%00") }},
		{"API user NUL", api("/api/v1/charges", `{"user":"nul\u0000q9","amount_fen":1,"reason":"translation","idempotency_key":"k1"}`)},
		{"API key NUL", api("/api/v1/charges", `{"user":"nul_q9","amount_fen":1,"reason":"translation","idempotency_key":"k\u0000"}`)},
		{"API balance NUL", func() answer { return s.api(http.MethodGet, "/api/v1/balance?user=nul%00q9", serviceToken, nil) }},
		{"API items NUL", api("/api/v1/items/use", `{"user":"nul_q9","item":"priority\u0000message","idempotency_key":"k2"}`)},
	}
	tries, through := 0, 0
	for _, p := range probes {
		tries++
		a := p.send()
		ok := a.status == http.StatusBadRequest
		if strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
			ok = ok && strings.Contains(a.body, `"error":"text_invalid"`)
		} else {
			ok = ok && strings.Contains(a.body, "无效字符")
		}
		if !ok {
			through++
			t.Errorf("%s: answered %d: %.300s", p.name, a.status, a.body)
		}
	}
	figures.Record(t, "security", "I1 NUL bytes and invalid UTF-8 in forms, queries, paths and JSON", tries, through)
	if n := countRows(t, s, `SELECT count(*) FROM users`); n != 1 {
		t.Fatalf("%d users after the probes, want 1", n)
	}
}
