package handlers_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"im2pay/internal/figures"
)

// B4: hostile amounts and bodies on every form and API that moves money.
// Each attempt must be refused with a 4xx and create nothing: no ledger
// transaction, no order. A 2xx/3xx or a 5xx is an attempt that got through.

// hostileAmounts are what a person could never mean as an amount; the
// last is invalid UTF-8.
var hostileAmounts = []string{"-1", "0", "0.001", "1e3", "0x10", "1_000", "NaN", "Inf", "-Inf",
	"99999999999999999999", "１００", "1\xff\xfe"}

// hostileQuantities are the same for a count of gifts.
var hostileQuantities = []string{"-1", "0", "0.001", "1e3", "0x10", "1_000", "NaN", "Inf",
	"99999999999999999999", "１００", "100", "1\xff\xfe"}

// created counts what a refused request must not create.
func (s *site) created() int {
	s.t.Helper()
	var n int
	err := s.store.DB().GetContext(context.Background(), &n,
		`SELECT (SELECT count(*) FROM ledger_transactions) + (SELECT count(*) FROM recharge_orders)`)
	if err != nil {
		s.t.Fatal(err)
	}
	return n
}

// rawPost submits body exactly as given (repeated keys, raw bytes), with
// the CSRF token of pagePath appended, as a tampered form would arrive.
func (b *browser) rawPost(pagePath, action, body string) answer {
	b.s.t.Helper()
	m := csrfField.FindStringSubmatch(b.get(pagePath).body)
	if m == nil {
		b.s.t.Fatalf("no CSRF field on %s", pagePath)
	}
	req, err := http.NewRequest(http.MethodPost, b.s.srv.URL+action, strings.NewReader(body+"&_csrf="+url.QueryEscape(m[1])))
	if err != nil {
		b.s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := b.client.Do(req)
	if err != nil {
		b.s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, header: res.Header, body: string(raw)}
}

// enc is a form body with values percent-encoded byte for byte, so that
// invalid UTF-8 travels as the bytes it is.
func enc(kv ...string) string {
	parts := make([]string, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, url.QueryEscape(kv[i])+"="+url.QueryEscape(kv[i+1]))
	}
	return strings.Join(parts, "&")
}

// tally counts attempts of one kind and those that got through.
type tally struct {
	s                 *site
	kind              string
	attempts, through int
}

func (s *site) tally(kind string) *tally { return &tally{s: s, kind: kind} }

// try runs one attempt: send must be refused with a 4xx and create nothing.
func (c *tally) try(what string, send func() answer) {
	c.s.t.Helper()
	before := c.s.created()
	a := send()
	c.attempts++
	if a.status < 400 || a.status >= 500 || c.s.created() != before {
		c.through++
		c.s.t.Logf("%s: %s got through: %d", c.kind, what, a.status)
	}
}

func (c *tally) record() {
	c.s.t.Helper()
	figures.Record(c.s.t, "security", c.kind, c.attempts, c.through)
	if c.through != 0 {
		c.s.t.Errorf("%s: %d of %d attempts got through (want a 4xx and nothing created)", c.kind, c.through, c.attempts)
	}
}

func TestSecurityHostileRechargeAmountsAreRefused(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("recharger", goodPassword)
	key := func() string { return "k" + randomDigits(21) }
	amounts := p.site.tally("recharge form: hostile amount")
	for _, v := range hostileAmounts {
		amounts.try(v, func() answer {
			return b.rawPost("/recharge", "/recharge/orders", enc("method", "alipay", "amount", v, "key", key()))
		})
		amounts.try("confirm "+v, func() answer {
			return b.get("/recharge/confirm?" + enc("method", "alipay", "custom", v, "key", key()))
		})
	}
	amounts.record()
	dup := p.site.tally("recharge form: duplicate or injected fields")
	for _, body := range []string{
		enc("method", "alipay", "amount", "1", "amount", "100000", "key", key()),
		enc("method", "alipay", "amount", "100000", "amount", "1", "key", key()),
		enc("method", "alipay", "method", "wechat", "amount", "10", "key", key()),
		enc("method", "alipay", "amount", "10", "amount_fen", "1", "key", key()),
		enc("method", "alipay", "amount", "10", "bonus", "100000", "key", key()),
	} {
		dup.try(body, func() answer { return b.rawPost("/recharge", "/recharge/orders", body) })
	}
	dup.try("query and body", func() answer {
		return b.rawPost("/recharge", "/recharge/orders?amount=100000", enc("method", "alipay", "amount", "1", "key", key()))
	})
	dup.record()
}

func TestSecurityHostileGiftAndShopAmountsAreRefused(t *testing.T) {
	s := newAPISite(t, serviceToken)
	b := funded(t, s, "spender", 1000_00)
	holder(t, s, "receiver", 0)
	key := func() string { return "k" + randomDigits(21) }
	gifts := s.tally("gift form: hostile quantity")
	for _, v := range hostileQuantities {
		gifts.try(v, func() answer {
			return b.rawPost("/gifts", "/gifts", enc("to", "receiver", "gift", "rose", "quantity", v, "message", "hi", "key", key()))
		})
	}
	gifts.record()
	giftDup := s.tally("gift form: duplicate or injected fields")
	for _, body := range []string{
		enc("to", "receiver", "gift", "rose", "quantity", "1", "quantity", "99", "key", key()),
		enc("to", "receiver", "gift", "rose", "gift", "cake", "quantity", "1", "key", key()),
		enc("to", "receiver", "to", "spender", "gift", "rose", "quantity", "1", "key", key()),
		enc("to", "receiver", "gift", "rose", "quantity", "1", "price", "1", "key", key()),
		enc("to", "receiver", "gift", "rose", "quantity", "1", "amount_fen", "1", "key", key()),
	} {
		giftDup.try(body, func() answer { return b.rawPost("/gifts", "/gifts", body) })
	}
	giftDup.record()
	shop := s.tally("shop and event purchase: injected price or duplicate fields")
	for _, body := range []string{
		enc("product", "premium_12m", "price", "1", "key", key()),
		enc("product", "premium_12m", "amount_fen", "1", "key", key()),
		enc("product", "premium_12m", "amount", "0.01", "confirmed", "1", "key", key()),
		enc("product", "stickers_panda", "product", "premium_12m", "key", key()),
		enc("product", "premium_12m", "confirmed", "1", "confirmed", "0", "key", key()),
		enc("product", "premium_12m", "key", key(), "key", key()),
		enc("product", "premium_12m\xff", "key", key()),
	} {
		shop.try(body, func() answer { return b.rawPost("/shop", "/shop/buy", body) })
	}
	for _, body := range []string{
		enc("event", "winter_bundle", "price", "1", "confirmed", "1", "key", key()),
		enc("event", "winter_bundle", "amount_fen", "1", "key", key()),
		enc("event", "winter_bundle", "event", "spend_50_get_5", "key", key()),
	} {
		shop.try(body, func() answer { return b.rawPost("/events", "/events/buy", body) })
	}
	shop.record()
	settings := s.tally("settings form: hostile threshold amounts")
	for _, v := range hostileAmounts {
		if v == "0" {
			continue // zero is a valid threshold: always ask
		}
		settings.try(v, func() answer {
			return b.rawPost("/account/settings", "/account/settings", enc("confirm_above", v, "low_balance", "1"))
		})
	}
	settings.record()
}
