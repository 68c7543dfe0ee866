package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"im2pay/handlers"
	"im2pay/limits"
	"im2pay/wallet"
)

func withServiceToken(c *handlers.Config) { c.ServiceToken = serviceToken }

// protectedPerson registers name with ¥500.00 and logs them in.
func protectedPerson(t *testing.T, s *site, name string) (*browser, int64) {
	t.Helper()
	return giftPerson(t, s, name, 500_00)
}

func (s *site) walletBalance(t *testing.T, userID int64) wallet.Money {
	t.Helper()
	u, err := s.accounts.UserByID(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.ledger.Balance(context.Background(), u.WalletID)
	if err != nil {
		t.Fatal(err)
	}
	return wallet.Money(b)
}

// The caps a person sets on the protection page refuse a per-use charge
// of the API with limit_reached, nothing debited; the same key is charged
// once the cap allows it.
func TestAnAPIChargeOverTheCapIsLimitReachedAndDebitsNothing(t *testing.T) {
	s := newSite(t, withServiceToken)
	b, id := protectedPerson(t, s, "capped")
	expectRedirect(t, b.post("/account/protection", "/account/protection/caps",
		url.Values{"spend_day": {"1.00"}, "spend_month": {""}, "topup_day": {""}, "topup_month": {""}}), "/account/protection")
	expectJSON(t, s.charge("capped", 60, "cap-charge-1"), http.StatusCreated, map[string]any{"balance_fen": 500_00 - 60})
	a := s.charge("capped", 50, "cap-charge-2")
	expectJSON(t, a, http.StatusUnprocessableEntity, map[string]any{"error": "limit_reached"})
	if got := s.walletBalance(t, id); got != 500_00-60 {
		t.Fatalf("balance %s after the refusal; want ¥499.40", got)
	}
	// The refusal used no key: tomorrow (Beijing) the same key is charged.
	s.clock.Advance(24 * time.Hour)
	expectJSON(t, s.charge("capped", 50, "cap-charge-2"), http.StatusCreated, map[string]any{"balance_fen": 500_00 - 110})
	// And a replay of the first key is its first answer, cap or not.
	a = s.charge("capped", 60, "cap-charge-1")
	if a.status != http.StatusCreated || a.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay after the cap: %d %s", a.status, a.body)
	}
}

// The page shows a cap in force, and a raise waiting with when it takes
// effect; a spend right after the raise still meets the old cap.
func TestTheProtectionPageShowsWhenARaiseTakesEffect(t *testing.T) {
	s := newSite(t)
	b, _ := protectedPerson(t, s, "raiser")
	caps := func(day string) answer {
		return b.post("/account/protection", "/account/protection/caps",
			url.Values{"spend_day": {day}, "spend_month": {""}, "topup_day": {""}, "topup_month": {""}})
	}
	expectRedirect(t, caps("2.00"), "/account/protection")
	expectRedirect(t, caps("300"), "/account/protection")
	page := b.get("/account/protection")
	expectStatus(t, page, http.StatusOK)
	when := s.clock.Now().Add(limits.RaiseDelay).In(shanghai(t)).Format("2006-01-02 15:04")
	if !strings.Contains(page.body, "将于 "+when+"（北京时间）生效：¥300.00") || !strings.Contains(page.body, "当前：¥2.00") {
		t.Fatalf("the page does not say the raise waits until %s:\n%.3000s", when, page.body)
	}
	a := b.post("/shop", "/shop/buy", url.Values{"product": {"stickers_cat"}, "confirmed": {"1"}, "price": {"6.00"}, "key": {"raise-buy-key-00000001"}})
	expectStatus(t, a, http.StatusUnprocessableEntity)
	if !strings.Contains(a.body, "这笔消费会超过你设置的每日消费上限 ¥2.00") {
		t.Fatalf("the shop did not say which cap refused:\n%.3000s", a.body)
	}
	a = caps("-1")
	expectStatus(t, a, http.StatusUnprocessableEntity)
	if !strings.Contains(a.body, "请输入大于 0 的金额") {
		t.Fatalf("a negative cap:\n%.2000s", a.body)
	}
}

// Minors' mode from the page: a gift posted directly is refused with
// nothing moved, a top-up above ¥50 is refused, and turning it off needs
// the PIN.
func TestMinorsModeRefusesGiftsAndLargeTopUpsAndNeedsThePINToEnd(t *testing.T) {
	s := newPaySite(t).site
	b, id := protectedPerson(t, s, "teen")
	_, _ = giftPerson(t, s, "buddy", 0)
	expectRedirect(t, b.post("/account/protection", "/account/protection/minors", url.Values{"pin": {"864209"}, "pin_again": {"864209"}}), "/account/protection")
	if page := b.get("/account/protection"); !strings.Contains(page.body, `data-on="true"`) {
		t.Fatal("the page does not show minors' mode on")
	}
	// The recharge page says what minors' mode still allows before it matters.
	if page := b.get("/recharge"); !strings.Contains(page.body, `data-testid="own-left"`) || !strings.Contains(page.body, "按你的消费保护设置，现在还可充值 ¥50.00") {
		t.Fatalf("the recharge page in minors' mode does not show the ¥50.00 still allowed:\n%.3000s", page.body)
	}
	before := s.walletBalance(t, id)
	a := giftSendOne(t, b, "buddy", "rose", "1", "")
	expectStatus(t, a, http.StatusUnprocessableEntity)
	if !strings.Contains(a.body, "青少年模式下不能给他人送礼物") || s.walletBalance(t, id) != before {
		t.Fatalf("a gift in minors' mode: %d\n%.2000s", a.status, a.body)
	}
	a = b.post("/recharge", "/recharge/orders", url.Values{"method": {"alipay"}, "amount": {"60"}, "key": {"teen-order-key-0000001"}})
	if a.status < 400 || !strings.Contains(a.body, "青少年模式下单笔充值不能超过 ¥50.00") {
		t.Fatalf("a ¥60 top-up in minors' mode: %d\n%.3000s", a.status, a.body)
	}
	var orders int
	if err := s.store.DB().Get(&orders, `SELECT count(*) FROM recharge_orders WHERE user_id = $1`, id); err != nil || orders != 0 {
		t.Fatalf("%d orders created in minors' mode (%v)", orders, err)
	}
	// ¥50 is allowed, and so three more; the month's fifth passes ¥200.
	for i, want := range []int{http.StatusSeeOther, http.StatusSeeOther, http.StatusSeeOther, http.StatusSeeOther, http.StatusUnprocessableEntity} {
		a = b.post("/recharge", "/recharge/orders", url.Values{"method": {"alipay"}, "amount": {"50"}, "key": {fmt.Sprintf("teen-order-key-%08d", i)}})
		if a.status != want && !(want == http.StatusSeeOther && a.status/100 == 3) {
			t.Fatalf("top-up %d of ¥50: %d, want %d\n%.2000s", i+1, a.status, want, a.body)
		}
	}
	if !strings.Contains(a.body, "青少年模式下每月充值不能超过 ¥200.00") {
		t.Fatalf("the fifth ¥50 in a month:\n%.3000s", a.body)
	}
	if page := b.get("/recharge"); !strings.Contains(page.body, `data-testid="own-reached"`) {
		t.Fatalf("the recharge page after the month's ¥200 does not say the limit is reached:\n%.3000s", page.body)
	}
	for _, pin := range []string{"", "000000"} {
		a = b.post("/account/protection", "/account/protection/minors/off", url.Values{"pin": {pin}})
		expectStatus(t, a, http.StatusUnprocessableEntity)
		if !strings.Contains(a.body, "监护人密码不正确") {
			t.Fatalf("off with PIN %q:\n%.2000s", pin, a.body)
		}
	}
	expectRedirect(t, b.post("/account/protection", "/account/protection/minors/off", url.Values{"pin": {"864209"}}), "/account/protection")
	expectRedirect(t, giftSendOne(t, b, "buddy", "rose", "1", ""), "/gifts")
}

// A gift above the threshold shows its total and asks; the confirmation
// sends it once; a confirmation of another total asks again.
func TestALargeGiftIsConfirmedBeforeItLeaves(t *testing.T) {
	s := newSite(t)
	b, id := protectedPerson(t, s, "bigspender")
	_, _ = giftPerson(t, s, "star", 0)
	form := giftForm(t, b, "star", "castle", "3", "")
	a := b.do(http.MethodPost, "/gifts", form)
	expectStatus(t, a, http.StatusOK)
	if !strings.Contains(a.body, `data-testid="gift-confirm-total">¥394.20`) || !strings.Contains(a.body, "确认赠送 ¥394.20") {
		t.Fatalf("no confirmation of ¥394.20:\n%.4000s", a.body)
	}
	if s.walletBalance(t, id) != 500_00 {
		t.Fatal("money left before the confirmation")
	}
	form.Set("confirmed", "1")
	form.Set("price", "131.40")
	expectStatus(t, b.do(http.MethodPost, "/gifts", form), http.StatusConflict)
	form.Set("price", "394.20")
	expectRedirect(t, b.do(http.MethodPost, "/gifts", form), "/gifts")
	expectRedirect(t, b.do(http.MethodPost, "/gifts", form), "/gifts") // a double click sends once
	if got := s.walletBalance(t, id); got != 500_00-394_20 {
		t.Fatalf("balance %s; want ¥105.80", got)
	}
}

// The agreement and support pages answer, and the result page carries the
// support entry.
func TestTheAgreementAndSupportPagesAnswer(t *testing.T) {
	s := newSite(t, func(c *handlers.Config) { c.Support.Contact = "400-000-0000（9:00–21:00）" })
	b := s.browser()
	for path, want := range map[string]string{"/recharge/agreement": "充值协议", "/support": "400-000-0000"} {
		a := b.get(path)
		expectStatus(t, a, http.StatusOK)
		if !strings.Contains(a.body, want) {
			t.Fatalf("%s lacks %q", path, want)
		}
	}
}
