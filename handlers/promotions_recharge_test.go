package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"im2pay/audit"
	"im2pay/recharge"
)

var rulesVersionField = regexp.MustCompile(`name="rules_version" value="(\d+)"`)

// A promotion change shows up for new quotes only: the confirm page carries
// the version its quote was priced under, the order keeps it within the
// quote lifetime, and later the person is shown the new terms instead.
func TestAPromotionChangeReachesNewQuotesOnly(t *testing.T) {
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	p := newPaySiteWith(t, paySiteOptions{now: now})
	b := p.browser()
	b.register("promo", goodPassword)
	confirm := func(key string) string {
		a := b.get("/recharge/confirm?method=alipay&amount=68&key=" + key)
		expectStatus(t, a, http.StatusOK)
		m := rulesVersionField.FindStringSubmatch(a.body)
		if m == nil {
			t.Fatalf("no rules version on the confirm page:\n%.1500s", a.body)
		}
		return m[1]
	}
	shown := confirm("promoaaaaaaaaaaaaaaaaaa")
	second := confirm("promobbbbbbbbbbbbbbbbbb")

	richer := recharge.DefaultRules()
	richer.Tiers, richer.FirstBonus = []recharge.BonusTier{{Min: 68_00, BasisPoints: 2000}}, 20_00
	if _, err := p.recharge.PublishRules(context.Background(), richer, time.Time{}, 0, audit.Entry{StaffName: "ops"}); err != nil {
		t.Fatal(err)
	}
	expectContains(t, b.get("/recharge/preview?method=alipay&amount=68"), "+¥13.60", "+¥20.00")

	// Confirmed within the quote lifetime: the terms shown.
	a := b.post("/recharge", "/recharge/orders", url.Values{"method": {"alipay"}, "amount": {"68"},
		"key": {"promoaaaaaaaaaaaaaaaaaa"}, "rules_version": {shown}})
	expectStatus(t, a, http.StatusSeeOther)
	no := orderPath.FindStringSubmatch(a.header.Get("Location"))[1]
	if n := p.ledgerCount(`SELECT count(*) FROM recharge_orders WHERE out_trade_no = $1 AND tier_bonus = 340 AND first_bonus = 600`, no); n != 1 {
		t.Fatal("the order did not keep the bonuses it was quoted")
	}

	// Past it: refused with the new terms on the page, and no order.
	skew.Store(int64(recharge.QuoteLifetime + time.Minute))
	a = b.post("/recharge", "/recharge/orders", url.Values{"method": {"alipay"}, "amount": {"68"},
		"key": {"promobbbbbbbbbbbbbbbbbb"}, "rules_version": {second}})
	expectStatus(t, a, http.StatusUnprocessableEntity)
	expectContains(t, a, "充值优惠规则已更新", "+¥13.60")
	if n := p.ledgerCount(`SELECT count(*) FROM recharge_orders`); n != 1 {
		t.Fatalf("%d orders, want only the one confirmed in time", n)
	}
}
