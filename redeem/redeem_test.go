package redeem_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/audit"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/internal/figures"
	"im2pay/ledger"
	"im2pay/redeem"
	"im2pay/wallet"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type fixture struct {
	t      *testing.T
	ctx    context.Context
	store  *db.Store
	ledger *ledger.Ledger
	svc    *redeem.Service
	staff  int64
	mu     sync.Mutex
	now    time.Time
}

func newFixture(t *testing.T, limits redeem.Limits) *fixture {
	t.Helper()
	conn := dbtest.New(t)
	conn.SetMaxOpenConns(20) // as in production: a thousand requests queue in Go
	store := db.New(conn)
	f := &fixture{t: t, ctx: context.Background(), store: store, ledger: ledger.New(store),
		now: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	f.svc = redeem.NewService(store, redeem.Options{Ledger: f.ledger, Now: f.clock, Limits: limits})
	err := store.DB().GetContext(f.ctx, &f.staff, `INSERT INTO staff (name, role, password_hash, created_at)
		VALUES ('op', 'operator', 'x', now()) RETURNING id`)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) clock() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func (f *fixture) user(name string) account.User {
	f.t.Helper()
	var u account.User
	err := f.store.InTx(f.ctx, func(tx *sqlx.Tx) error {
		var err error
		u, err = account.CreateUser(f.ctx, tx, name, "x")
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

// batch makes count codes of amount yuan, perPerson each, expiring at the
// end of the fixture's next day.
func (f *fixture) batch(amount string, count, perPerson int) redeem.Created {
	f.t.Helper()
	c, err := f.svc.CreateBatch(f.ctx, redeem.BatchRequest{Amount: amount, Count: fmt.Sprint(count),
		PerPerson: fmt.Sprint(perPerson), Expires: f.clock().AddDate(0, 0, 1).Format("2006-01-02"), StaffID: f.staff,
		Key: newKey(f.t)},
		time.UTC, audit.Entry{StaffID: f.staff, StaffName: "op", ClientIP: "10.0.0.1"})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) balance(u account.User) wallet.Money {
	f.t.Helper()
	b, err := f.ledger.Balance(f.ctx, u.WalletID)
	if err != nil {
		f.t.Fatal(err)
	}
	return wallet.Money(b)
}

// refusal is the problem code of err, "" for none.
func refusal(err error) string {
	var p *wallet.Problem
	if errors.As(err, &p) {
		return p.Code
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

var unlimited = redeem.Limits{PerPerson: 100_000, PerClient: 100_000, Window: time.Hour}

func TestOneCodeRedeemedAThousandTimesAtOnceCreditsOnce(t *testing.T) {
	f := newFixture(t, unlimited)
	c := f.batch("8.88", 1, 1)
	users := make([]account.User, 20)
	for i := range users {
		users[i] = f.user(fmt.Sprintf("racer%02d", i))
	}
	const attempts = 1000
	var wg sync.WaitGroup
	var mu sync.Mutex
	credited, used := 0, 0
	for i := range attempts {
		wg.Go(func() {
			u := users[i%len(users)]
			_, err := f.svc.Redeem(f.ctx, u.ID, fmt.Sprintf("192.0.2.%d", i%50), c.Codes[0])
			mu.Lock()
			defer mu.Unlock()
			switch refusal(err) {
			case "":
				credited++
			case "redeem.used":
				used++
			default:
				t.Errorf("attempt %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	figures.Record(t, "security", "redemption code: 1,000 concurrent redemptions of one code", attempts, credited-1)
	if credited != 1 || used != attempts-1 {
		t.Fatalf("%d credited, %d refused as used; want 1 and %d", credited, used, attempts-1)
	}
	var total wallet.Money
	for _, u := range users {
		total += f.balance(u)
	}
	from, err := f.ledger.SystemAccountTotal(f.ctx, redeem.AccountCode(c.Batch.ID))
	if err != nil {
		t.Fatal(err)
	}
	var txns int
	if err := f.store.DB().GetContext(f.ctx, &txns, `SELECT count(*) FROM ledger_transactions WHERE kind = 'redeem'`); err != nil {
		t.Fatal(err)
	}
	if total != 8_88 || from != -8_88 || txns != 1 {
		t.Fatalf("wallets hold %s, the batch's account %d, %d transactions; want ¥8.88, -888, 1", total, from, txns)
	}
}

func TestThePerPersonLimitHoldsAcrossTheCodesOfABatch(t *testing.T) {
	f := newFixture(t, unlimited)
	c := f.batch("1", 3, 2)
	alice, bob := f.user("alice"), f.user("bob")
	for i, code := range c.Codes[:2] {
		if _, err := f.svc.Redeem(f.ctx, alice.ID, "192.0.2.1", code); err != nil {
			t.Fatalf("code %d: %v", i, err)
		}
	}
	if _, err := f.svc.Redeem(f.ctx, alice.ID, "192.0.2.1", c.Codes[2]); refusal(err) != "redeem.limit" {
		t.Fatalf("a third code of the batch: %v, want redeem.limit", err)
	}
	if r, err := f.svc.Redeem(f.ctx, bob.ID, "192.0.2.2", c.Codes[2]); err != nil || r.Balance != 1_00 {
		t.Fatalf("another person's first code: %+v, %v", r, err)
	}
	if got := f.balance(alice); got != 2_00 {
		t.Fatalf("alice holds %s, want ¥2.00", got)
	}

	// Two codes at once by one person with one left of the limit: one.
	c2 := f.batch("1", 2, 1)
	carol := f.user("carol")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() { _, errs[i] = f.svc.Redeem(f.ctx, carol.ID, fmt.Sprintf("192.0.2.%d", 10+i), c2.Codes[i]) })
	}
	wg.Wait()
	if got := f.balance(carol); got != 1_00 || refusal(errs[0])+refusal(errs[1]) != "redeem.limit" {
		t.Fatalf("two codes at once with a limit of one: balance %s, %v", got, errs)
	}
}

func TestEachRefusalSaysWhyAndTypingIsForgiven(t *testing.T) {
	f := newFixture(t, unlimited)
	if _, err := f.store.DB().ExecContext(f.ctx, `UPDATE webhook_settings SET enabled = true`); err != nil {
		t.Fatal(err)
	}
	u := f.user("dave")
	c := f.batch("5", 3, 3)
	// Lower case, no dashes, O for 0 and l for 1.
	typed := strings.ToLower(strings.ReplaceAll(c.Codes[0], "-", ""))
	typed = strings.NewReplacer("0", "o", "1", "l").Replace(typed)
	if _, err := f.svc.Redeem(f.ctx, u.ID, "192.0.2.1", " "+typed+" "); err != nil {
		t.Fatalf("the code as typed %q: %v", typed, err)
	}
	if _, err := f.svc.Redeem(f.ctx, u.ID, "192.0.2.1", c.Codes[0]); refusal(err) != "redeem.used" {
		t.Fatalf("again: %v, want redeem.used", err)
	}
	for _, unknown := range []string{"AAAA-AAAA-AAAA-AAAA", "not a code", strings.Repeat("Z", 5000)} {
		if _, err := f.svc.Redeem(f.ctx, u.ID, "192.0.2.1", unknown); refusal(err) != "redeem.unknown" {
			t.Fatalf("%.20q: %v, want redeem.unknown", unknown, err)
		}
	}
	if _, err := f.svc.Redeem(f.ctx, u.ID, "192.0.2.1", "  -- "); refusal(err) != "redeem.empty" {
		t.Fatalf("nothing typed: %v", err)
	}

	voided := f.batch("5", 1, 1)
	if _, err := f.svc.Void(f.ctx, voided.Batch.ID, f.staff, audit.Entry{StaffID: f.staff, StaffName: "op", ClientIP: "10.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Void(f.ctx, voided.Batch.ID, f.staff, audit.Entry{StaffID: f.staff}); !errors.Is(err, redeem.ErrAlreadyVoided) {
		t.Fatalf("voiding twice: %v", err)
	}
	if _, err := f.svc.Redeem(f.ctx, u.ID, "192.0.2.1", voided.Codes[0]); refusal(err) != "redeem.voided" {
		t.Fatalf("a voided batch's code: %v", err)
	}

	f.advance(49 * time.Hour) // past the end of the next day
	if _, err := f.svc.Redeem(f.ctx, u.ID, "192.0.2.1", c.Codes[1]); refusal(err) != "redeem.expired" {
		t.Fatalf("an expired code: %v", err)
	}
	if got := f.balance(u); got != 5_00 {
		t.Fatalf("balance %s, want ¥5.00 from the one code redeemed", got)
	}
	var event string
	if err := f.store.DB().GetContext(f.ctx, &event, `SELECT string_agg(type, ',') FROM webhook_events WHERE user_id = $1`, u.ID); err != nil || event != "redeem.credited" {
		t.Fatalf("webhook events %q, %v; want one redeem.credited", event, err)
	}
	var audits int
	_ = f.store.DB().GetContext(f.ctx, &audits, `SELECT count(*) FROM audit_log WHERE action LIKE 'redeem.batch_%'`)
	if audits != 3 { // two batches made... three: c, voided, and the void
		t.Fatalf("%d audit lines, want 3 (two batches created, one voided)", audits)
	}
}

func TestGuessingCodesIsThrottledPerPersonAndPerAddress(t *testing.T) {
	f := newFixture(t, redeem.Limits{PerPerson: 3, PerClient: 5, Window: time.Hour})
	c := f.batch("1", 1, 1)
	mallory, eve := f.user("mallory"), f.user("eve")
	const guesses = 50
	through := 0
	for i := range guesses {
		_, err := f.svc.Redeem(f.ctx, mallory.ID, fmt.Sprintf("198.51.100.%d", i), fmt.Sprintf("%016d", i))
		if refusal(err) == "redeem.unknown" {
			through++
		}
	}
	figures.Record(t, "security", "redemption code: guesses by one person from rotating addresses (limit 3/h)", guesses, through-3)
	if through != 3 {
		t.Fatalf("%d guesses were checked, want 3", through)
	}
	// The right code is refused too while throttled: the throttle does not
	// tell a guess from a hit.
	if _, err := f.svc.Redeem(f.ctx, mallory.ID, "198.51.100.1", c.Codes[0]); refusal(err) != "redeem.throttled" {
		t.Fatalf("a throttled person's real code: %v", err)
	}
	// One address, many people: the address's limit.
	through = 0
	for i := range guesses {
		u := f.user(fmt.Sprintf("sock%02d", i))
		if _, err := f.svc.Redeem(f.ctx, u.ID, "203.0.113.9", fmt.Sprintf("%016d", i)); refusal(err) == "redeem.unknown" {
			through++
		}
	}
	figures.Record(t, "security", "redemption code: guesses from one address by many accounts (limit 5/h)", guesses, through-5)
	if through != 5 {
		t.Fatalf("%d guesses from one address were checked, want 5", through)
	}
	// The window is the app's clock: an hour later the person may try.
	f.advance(time.Hour)
	if _, err := f.svc.Redeem(f.ctx, mallory.ID, "198.51.100.1", c.Codes[0]); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	if _, err := f.svc.Redeem(f.ctx, eve.ID, "203.0.113.9", c.Codes[0]); refusal(err) != "redeem.used" {
		t.Fatalf("eve: %v", err)
	}
}

func TestCodesAreRandomAndStoredOnlyAsHashes(t *testing.T) {
	f := newFixture(t, unlimited)
	c := f.batch("1", 500, 1)
	seen := map[string]bool{}
	for _, code := range c.Codes {
		canon, ok := redeem.Canonical(code)
		if !ok || len(code) != 19 || redeem.Format(canon) != code || seen[code] {
			t.Fatalf("code %q: canonical %q %v, or seen before", code, canon, ok)
		}
		seen[code] = true
	}
	var dump string
	err := f.store.DB().GetContext(f.ctx, &dump, `SELECT string_agg(t::text, ' ') FROM redeem_codes t`)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range c.Codes {
		canon, _ := redeem.Canonical(code)
		if strings.Contains(strings.ToUpper(dump), canon) {
			t.Fatalf("code %s is stored in plain text", code)
		}
	}
	var csv bytes.Buffer
	if err := redeem.WriteCSV(&csv, c); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(csv.String(), "\n"); lines != 501 || !strings.Contains(csv.String(), c.Codes[0]+",1.00,") {
		t.Fatalf("CSV has %d lines: %.200s", lines, csv.String())
	}
}
