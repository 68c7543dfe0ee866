package spend

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/ledger"
	"im2pay/limits"
	"im2pay/wallet"
)

// protectFixture is a spend service whose people start with ¥1,000.00,
// under a clock the test moves.
type protectFixture struct {
	s     *Service
	store *db.Store
	acc   *account.Service
	now   *time.Time
}

func newProtectFixture(t *testing.T) protectFixture {
	t.Helper()
	store := db.New(dbtest.New(t))
	// 10:00 in Beijing.
	now := time.Date(2030, 6, 10, 2, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	led := ledger.New(store)
	acc := account.NewService(store, account.Options{Now: clock, Ledger: led, SignupGrant: 1000_00,
		Hasher: account.PasswordHasher{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32}})
	lim := limits.New(store, limits.Config{Now: clock, Hasher: account.PasswordHasher{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32}})
	s := NewService(store, Options{Now: clock, Ledger: led, Accounts: acc, Limits: lim})
	return protectFixture{s: s, store: store, acc: acc, now: &now}
}

func (f protectFixture) user(t *testing.T, name string) account.User {
	t.Helper()
	u, err := f.acc.Register(context.Background(), name, "a-long-password-1", "127.0.0.1")
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	return u
}

func (f protectFixture) balance(t *testing.T, u account.User) wallet.Money {
	t.Helper()
	b, err := f.s.ledger.Balance(context.Background(), u.WalletID)
	if err != nil {
		t.Fatal(err)
	}
	return wallet.Money(b)
}

// The outsider's first try: many spends at once, each under the cap alone,
// together far above it. The protection row's lock decides them one after
// another, so the day's total never passes the cap.
func TestFiftyConcurrentSpendsNeverPassADailyCap(t *testing.T) {
	f := newProtectFixture(t)
	ctx := context.Background()
	u := f.user(t, "racer")
	if err := f.s.Limits().SetCaps(ctx, u.ID, map[limits.Cap]string{limits.SpendDay: "30.00"}); err != nil {
		t.Fatal(err)
	}
	before := f.balance(t, u)
	var wg sync.WaitGroup
	var mu sync.Mutex
	charged, refused := 0, 0
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch, err := f.s.ChargeUser(ctx, ChargeRequest{User: "racer", Amount: 1_00, Reason: "translation", Key: fmt.Sprintf("race-%d", i)})
			var r *limits.Refused
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && ch.Charged:
				charged++
			case errors.As(err, &r) && r.Cap == limits.SpendDay:
				refused++
			default:
				t.Errorf("charge %d: %+v, %v", i, ch, err)
			}
		}()
	}
	wg.Wait()
	if charged != 30 || refused != 20 {
		t.Fatalf("%d charged, %d refused; want 30 and 20", charged, refused)
	}
	if spent := before - f.balance(t, u); spent != 30_00 {
		t.Fatalf("the wallet lost %s; the cap is ¥30.00", spent)
	}
	st, err := f.s.Limits().StatusOf(ctx, u.ID)
	if err != nil || st.SpentDay != 30_00 {
		t.Fatalf("counted %s today, %v", st.SpentDay, err)
	}
}

// Raising a cap and spending at once still meets the old cap: the raise
// waits 24 hours by the app's clock; lowering is at once.
func TestARaisedCapWaitsADayALoweredOneIsAtOnce(t *testing.T) {
	f := newProtectFixture(t)
	ctx := context.Background()
	u := f.user(t, "cooler")
	_ = f.user(t, "friend")
	caps := func(day string) {
		t.Helper()
		if err := f.s.Limits().SetCaps(ctx, u.ID, map[limits.Cap]string{limits.SpendDay: day}); err != nil {
			t.Fatal(err)
		}
	}
	gift := func(key, qty string) error {
		_, err := f.s.SendGift(ctx, GiftRequest{SenderID: u.ID, To: "friend", Gift: "rose", Quantity: qty, Key: key})
		return err
	}
	caps("5.00")
	caps("50.00")
	st, _ := f.s.Limits().StatusOf(ctx, u.ID)
	if got := st.Caps[limits.SpendDay]; got.Amount != 5_00 || !got.Pending || got.Next != 50_00 || !got.NextAt.Equal(f.now.Add(limits.RaiseDelay)) {
		t.Fatalf("after the raise: %+v", got)
	}
	var r *limits.Refused
	if err := gift("gift-over-old-cap-1", "6"); !errors.As(err, &r) || r.Limit != 5_00 {
		t.Fatalf("¥6 right after raising ¥5 to ¥50: %v", err)
	}
	if err := gift("gift-under-old-cap", "5"); err != nil {
		t.Fatalf("¥5 under the old cap: %v", err)
	}
	// A second before the raise, on the next Beijing day: the old cap still.
	*f.now = f.now.Add(limits.RaiseDelay - time.Second)
	if err := gift("gift-next-day-under", "5"); err != nil {
		t.Fatalf("¥5 on the next day: %v", err)
	}
	if err := gift("gift-over-old-cap-2", "1"); !errors.As(err, &r) || r.Limit != 5_00 {
		t.Fatalf("a second before the raise: %v", err)
	}
	*f.now = f.now.Add(time.Second)
	if err := gift("gift-after-raise", "6"); err != nil {
		t.Fatalf("the raise in force: %v", err)
	}
	// Lowering is at once, and removing a cap is a raise.
	caps("1.00")
	if err := gift("gift-after-lowering", "2"); !errors.As(err, &r) || r.Limit != 1_00 {
		t.Fatalf("after lowering to ¥1: %v", err)
	}
	caps("")
	if err := gift("gift-after-removing", "2"); !errors.As(err, &r) {
		t.Fatalf("right after removing the cap: %v", err)
	}
}

// A monthly cap counts the Beijing month: the first day of the next month
// starts afresh, by the app's clock.
func TestAMonthlyCapCountsTheBeijingMonth(t *testing.T) {
	f := newProtectFixture(t)
	ctx := context.Background()
	u := f.user(t, "monthly")
	*f.now = time.Date(2030, 6, 30, 15, 0, 0, 0, time.UTC) // 23:00 on June 30th in Beijing
	if err := f.s.Limits().SetCaps(ctx, u.ID, map[limits.Cap]string{limits.SpendMonth: "12.00"}); err != nil {
		t.Fatal(err)
	}
	buy := func(key string) error {
		_, err := f.s.Buy(ctx, Purchase{UserID: u.ID, Product: "premium_1m", Key: key})
		return err
	}
	if err := buy("month-buy-first-0001"); err != nil {
		t.Fatal(err)
	}
	var r *limits.Refused
	if err := buy("month-buy-second-001"); !errors.As(err, &r) || r.Cap != limits.SpendMonth {
		t.Fatalf("a second ¥12 in June: %v", err)
	}
	*f.now = f.now.Add(time.Hour) // 00:00 on July 1st in Beijing
	if err := buy("month-buy-july-00001"); err != nil {
		t.Fatalf("in July: %v", err)
	}
}

// Minors' mode: gifts to others are refused however they are sent, and
// turning it off needs the PIN; wrong PINs are throttled.
func TestMinorsModeTurnsGiftsOffAndOnlyThePINTurnsItOff(t *testing.T) {
	f := newProtectFixture(t)
	ctx := context.Background()
	u := f.user(t, "young")
	_ = f.user(t, "friend")
	lim := f.s.Limits()
	if err := lim.MinorsOn(ctx, u.ID, "12345", "12345"); !isProblem(err, "pin", "protect.pin_format") {
		t.Fatalf("a five-digit PIN: %v", err)
	}
	if err := lim.MinorsOn(ctx, u.ID, "135790", "135791"); !isProblem(err, "pin_again", "protect.pin_mismatch") {
		t.Fatalf("PINs that differ: %v", err)
	}
	if err := lim.MinorsOn(ctx, u.ID, "135790", "135790"); err != nil {
		t.Fatal(err)
	}
	before := f.balance(t, u)
	_, err := f.s.SendGift(ctx, GiftRequest{SenderID: u.ID, To: "friend", Gift: "rose", Quantity: "1", Key: "minor-gift-0000001"})
	var r *limits.Refused
	if !errors.As(err, &r) || r.Cap != "minors_gifts" {
		t.Fatalf("a gift in minors' mode: %v", err)
	}
	// Past the early check too: the spend's own hold refuses it.
	err = f.store.InTx(ctx, func(tx *sqlx.Tx) error {
		_, err := f.s.DebitTx(ctx, tx, Debit{UserID: u.ID, Amount: 1_00, To: u.WalletID + 1, Key: "minor-direct", Kind: ledger.Gift,
			Reference: "x", Description: "gift_sent"})
		return err
	})
	if !errors.As(err, &r) || r.Cap != "minors_gifts" {
		t.Fatalf("a gift debit in minors' mode: %v", err)
	}
	if f.balance(t, u) != before {
		t.Fatal("money left in minors' mode")
	}
	if err := lim.MinorsOff(ctx, u.ID, ""); !isProblem(err, "pin", "protect.pin_wrong") {
		t.Fatalf("off without a PIN: %v", err)
	}
	for i := 2; i < limits.MaxPINFailures; i++ {
		if err := lim.MinorsOff(ctx, u.ID, "000000"); !isProblem(err, "pin", "protect.pin_wrong") {
			t.Fatalf("wrong PIN %d: %v", i, err)
		}
	}
	if err := lim.MinorsOff(ctx, u.ID, "000000"); !isProblem(err, "pin", "protect.pin_locked") {
		t.Fatalf("the fifth wrong PIN: %v", err)
	}
	// Locked: even the right PIN waits.
	if err := lim.MinorsOff(ctx, u.ID, "135790"); !isProblem(err, "pin", "protect.pin_locked") {
		t.Fatalf("the right PIN while locked: %v", err)
	}
	if on, _ := lim.Minors(ctx, u.ID); !on {
		t.Fatal("minors' mode went off without the PIN")
	}
	*f.now = f.now.Add(limits.PINLockout)
	if err := lim.MinorsOff(ctx, u.ID, "135790"); err != nil {
		t.Fatalf("the right PIN after the lockout: %v", err)
	}
	if _, err := f.s.SendGift(ctx, GiftRequest{SenderID: u.ID, To: "friend", Gift: "rose", Quantity: "1", Key: "minor-gift-0000002"}); err != nil {
		t.Fatalf("a gift after minors' mode: %v", err)
	}
}

// A gift above the sender's threshold asks first, like the shop; a
// confirmation of another total asks again.
func TestALargeGiftAsksForConfirmation(t *testing.T) {
	f := newProtectFixture(t)
	ctx := context.Background()
	u := f.user(t, "generous")
	_ = f.user(t, "friend")
	req := GiftRequest{SenderID: u.ID, To: "friend", Gift: "castle", Quantity: "2", Key: "large-gift-000001"}
	before := f.balance(t, u)
	_, err := f.s.SendGift(ctx, req)
	var need *NeedsConfirmation
	if !errors.As(err, &need) || need.Price != 262_80 || need.BalanceAfter != before-262_80 {
		t.Fatalf("¥262.80 unconfirmed: %v", err)
	}
	req.Confirmed, req.Quoted = true, 131_40
	if _, err := f.s.SendGift(ctx, req); !errors.As(err, &need) || !need.Repriced {
		t.Fatalf("confirmed at another total: %v", err)
	}
	if f.balance(t, u) != before {
		t.Fatal("money left before the confirmation")
	}
	req.Quoted = 262_80
	sent, err := f.s.SendGift(ctx, req)
	if err != nil || sent.Gift.Amount != 262_80 || f.balance(t, u) != before-262_80 {
		t.Fatalf("confirmed: %+v, %v", sent, err)
	}
	// Under the threshold, nothing is asked.
	if _, err := f.s.SendGift(ctx, GiftRequest{SenderID: u.ID, To: "friend", Gift: "rose", Quantity: "3", Key: "small-gift-000001"}); err != nil {
		t.Fatal(err)
	}
}
