package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"im2pay/spend"
	"im2pay/wallet"
)

// funded registers a person and grants them amount fen.
func funded(t *testing.T, s *site, name string, amount wallet.Money) *browser {
	t.Helper()
	b := s.browser()
	b.register(name, goodPassword)
	u, err := s.accounts.UserByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	if amount > 0 {
		if _, err := s.wallet.Grant(context.Background(), u.ID, amount, "fund:"+name, "welcome_grant"); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func buy(b *browser, product, key string, extra ...string) answer {
	form := url.Values{"product": {product}, "key": {key}}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	return b.post("/shop", "/shop/buy", form)
}

func TestBuyingMembershipExtendsItAndShowsInTheAccountCenter(t *testing.T) {
	s := newSite(t)
	b := funded(t, s, "member", 100_00)
	expectRedirect(t, buy(b, "premium_1m", "key-member-000001"), "/shop")
	expectContains(t, b.get("/shop"), "购买成功")
	account := b.get("/account")
	expectContains(t, account, `data-fen="8800"`, "高级会员，有效期至")
	expectRedirect(t, buy(b, "premium_1m", "key-member-000002"), "/shop")
	expectContains(t, b.get("/history"), "购买高级会员 1 个月", "-¥12.00")
	var months float64
	err := s.store.DB().GetContext(context.Background(), &months,
		`SELECT extract(epoch FROM expires_at - now()) / 86400 / 30 FROM memberships`)
	if err != nil || months < 1.9 || months > 2.1 {
		t.Fatalf("membership runs %.2f months after two purchases, want about 2 (%v)", months, err)
	}
}

func TestAStickerPackIsOwnedOnceAndADoubleClickBuysOnce(t *testing.T) {
	s := newSite(t)
	b := funded(t, s, "stickers", 20_00)
	expectRedirect(t, buy(b, "stickers_panda", "key-sticker-00001"), "/shop")
	expectRedirect(t, buy(b, "stickers_panda", "key-sticker-00001"), "/shop") // the same click again
	again := buy(b, "stickers_panda", "key-sticker-00002")
	expectStatus(t, again, http.StatusUnprocessableEntity)
	expectContains(t, again, "你已拥有这个贴纸包")
	expectContains(t, b.get("/account"), `data-fen="1400"`)
	expectContains(t, b.get("/shop"), `data-testid="owned"`)
}

func TestAPurchaseAboveTheThresholdAsksForConfirmation(t *testing.T) {
	s := newSite(t)
	b := funded(t, s, "confirmer", 200_00)
	ask := buy(b, "premium_12m", "key-confirm-00001")
	expectStatus(t, ask, http.StatusOK)
	expectContains(t, ask, `data-testid="confirm-purchase"`, "¥92.00") // balance after
	expectContains(t, b.get("/account"), `data-fen="20000"`)
	expectRedirect(t, buy(b, "premium_12m", "key-confirm-00001", "confirmed", "1", "price", "108.00"), "/shop")
	expectContains(t, b.get("/account"), `data-fen="9200"`)
	// A person may raise their threshold; then no confirmation is asked.
	expectRedirect(t, b.post("/account/settings", "/account/settings", url.Values{"confirm_above": {"500"}, "low_balance": {"1"}}), "/account")
	expectRedirect(t, buy(b, "premium_3m", "key-confirm-00002"), "/shop")
	bad := b.post("/account/settings", "/account/settings", url.Values{"confirm_above": {"-1"}, "low_balance": {"abc"}})
	expectStatus(t, bad, http.StatusUnprocessableEntity)
	expectContains(t, bad, "金额不能为负数", "金额格式不正确")
}

func TestTooLittleBalanceOffersTheShortfallAndComesBackUnbought(t *testing.T) {
	s := newSite(t)
	b := funded(t, s, "shortish", 5_00)
	a := buy(b, "premium_1m", "key-short-000001")
	expectStatus(t, a, http.StatusUnprocessableEntity)
	expectContains(t, a, "余额不足", "还差 ¥7.00", "充值 ¥7.00",
		`href="/recharge?amount=7.00&amp;return_to=%2Fshop%3Fproduct%3Dpremium_1m"`, "充值 ¥30.00")
	// The top-up page arrives with the shortfall preselected.
	expectContains(t, b.get("/recharge?amount=7.00&return_to=%2Fshop%3Fproduct%3Dpremium_1m"),
		`value="7.00"`, `name="return_to" value="/shop?product=premium_1m"`)
	u, _ := s.accounts.UserByName(context.Background(), "shortish")
	if _, err := s.wallet.Grant(context.Background(), u.ID, 7_00, "topup-stand-in", "welcome_grant"); err != nil {
		t.Fatal(err)
	}
	back := b.get("/shop?product=premium_1m")
	expectContains(t, back, `data-testid="confirm-purchase"`, "¥0.00")
	expectContains(t, b.get("/account"), `data-fen="1200"`) // nothing bought until confirmed
}

func TestAnEndedEventCannotBeBoughtEvenByACraftedRequest(t *testing.T) {
	s := newSite(t)
	b := funded(t, s, "crafty", 100_00)
	_, err := s.store.DB().ExecContext(context.Background(), `INSERT INTO events (code, kind, starts_at, ends_at, price, list_price, membership_days)
		VALUES ('old_bundle', 'bundle', now() - interval '20 days', now() - interval '10 days', 100, 200, 3)`)
	if err != nil {
		t.Fatal(err)
	}
	a := b.post("/events", "/events/buy", url.Values{"event": {"old_bundle"}, "key": {"key-crafted-00001"}, "confirmed": {"1"}})
	expectStatus(t, a, http.StatusUnprocessableEntity)
	expectContains(t, a, "活动已结束")
	expectRedirect(t, b.post("/events", "/events/buy", url.Values{"event": {"winter_bundle"}, "key": {"key-bundle-000001"}}), "/events")
	expectContains(t, b.get("/account"), `data-fen="8560"`, "高级会员，有效期至")
	expectContains(t, b.get("/events"), `data-testid="event-ended"`)
}

func TestTheSpendBonusIsCreditedOncePerPerson(t *testing.T) {
	s := newSite(t)
	b := funded(t, s, "spender", 100_00)
	for i, p := range []string{"premium_3m", "premium_1m", "stickers_cat"} { // ¥48: not yet
		expectRedirect(t, buy(b, p, fmt.Sprintf("key-spend-%07d", i)), "/shop")
	}
	expectContains(t, b.get("/events"), "已消费 ¥48.00 / ¥50.00")
	expectRedirect(t, buy(b, "stickers_panda", "key-spend-0000009"), "/shop") // ¥54
	u, _ := s.accounts.UserByName(context.Background(), "spender")
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.spend.AwardEventBonuses(context.Background(), u.ID) }()
	}
	wg.Wait()
	expectContains(t, b.get("/events"), "已获得活动奖励 ¥5.00")
	expectContains(t, b.get("/account"), `data-fen="5100"`) // 100 - 54 + 5
}

func TestTheSpendBonusCountsSpendingHoweverTheAppAndDatabaseClocksDisagree(t *testing.T) {
	for _, skew := range []time.Duration{-30 * time.Second, 30 * time.Second} {
		s := newSite(t)
		// The app's clock runs apart from PostgreSQL's, which stamps the
		// ledger entries: a frozen test clock on a slow machine, or two
		// servers whose clocks drift.
		s.clock.Advance(skew)
		b := funded(t, s, "skewed", 100_00)
		for i, p := range []string{"premium_3m", "premium_1m", "stickers_cat", "stickers_panda"} { // ¥54
			expectRedirect(t, buy(b, p, fmt.Sprintf("key-skew-%07d", i)), "/shop")
		}
		u, _ := s.accounts.UserByName(context.Background(), "skewed")
		if err := s.spend.AwardEventBonuses(context.Background(), u.ID); err != nil {
			t.Fatal(err)
		}
		if bal, _ := s.ledger.Balance(context.Background(), u.WalletID); bal != 51_00 {
			t.Fatalf("app clock %v from the database's: balance %d after spending ¥54 of ¥100, want 5100 (the ¥5 bonus)", skew, bal)
		}
	}
}

func TestTheAccountCenterAwardsASpendBonusHoweverTheClocksDisagree(t *testing.T) {
	s := newSite(t)
	s.clock.Advance(-30 * time.Second) // the app's clock behind PostgreSQL's
	b := funded(t, s, "skewed_api", 100_00)
	// Per-use charges count as spending, and charging awards nothing by
	// itself: the person's next look at the account center does.
	for i, fen := range []wallet.Money{30_00, 24_00} {
		if _, err := s.spend.ChargeUser(context.Background(), spend.ChargeRequest{User: "skewed_api", Amount: fen,
			Reason: "large_file", Key: fmt.Sprintf("skew-charge-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	expectContains(t, b.get("/account"), `data-fen="5100"`) // 100 - 54 + the ¥5 bonus
}

func TestTwoHundredPurchasesAgainstFiftysWorthSucceedExactlyFifty(t *testing.T) {
	s := newSite(t)
	funded(t, s, "crowd", 50*10_00)
	u, _ := s.accounts.UserByName(context.Background(), "crowd")
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, short := 0, 0
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.spend.Buy(context.Background(), spend.Purchase{UserID: u.ID, Product: "priority_100",
				Key: fmt.Sprintf("crowd-key-%08d", i)})
			var sf *spend.Shortfall
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.As(err, &sf):
				short++
			default:
				t.Errorf("purchase %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	// The running "spend ¥50, get ¥5" event credits ¥5 once along the way,
	// which buys nothing more at ¥10 apiece.
	bal, _ := s.ledger.Balance(context.Background(), u.WalletID)
	if ok != 50 || short != 150 || bal != 5_00 {
		t.Fatalf("%d bought, %d short, balance %d: want 50, 150, 500", ok, short, bal)
	}
	var units int
	_ = s.store.DB().GetContext(context.Background(), &units, `SELECT quantity FROM owned_items WHERE user_id = $1`, u.ID)
	if units != 50*100 {
		t.Fatalf("%d priority messages delivered, want 5000", units)
	}
}

func TestTheSamePurchaseKeySentTwentyTimesAtOnceBuysOnce(t *testing.T) {
	s := newSite(t)
	funded(t, s, "hammer", 100_00)
	u, _ := s.accounts.UserByName(context.Background(), "hammer")
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = s.spend.Buy(context.Background(), spend.Purchase{UserID: u.ID, Product: "priority_100", Key: "the-same-key-0001"})
		}()
	}
	wg.Wait()
	bal, _ := s.ledger.Balance(context.Background(), u.WalletID)
	if bal != 90_00 {
		t.Fatalf("balance %d after 20 copies of one purchase, want 9000", bal)
	}
}
