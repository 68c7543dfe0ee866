package redeem_test

// Probes of an outsider on redemption codes that the tests above did not
// try yet, each kept with its figures.

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"im2pay/audit"
	"im2pay/internal/figures"
	"im2pay/redeem"
)

// TestProbeOneIPv6SubscriberCannotStepThroughItsAddresses: a machine with
// a /64 (every IPv6 subscriber has 2^64 addresses) guesses codes from many
// accounts, a new address each time. The per-address limit counts the /64,
// as the login limits do.
func TestProbeOneIPv6SubscriberCannotStepThroughItsAddresses(t *testing.T) {
	f := newFixture(t, redeem.Limits{PerPerson: 100, PerClient: 5, Window: time.Hour})
	const guesses = 40
	checked := 0
	for i := range guesses {
		u := f.user(fmt.Sprintf("v6sock%02d", i))
		ip := fmt.Sprintf("2001:db8:1:2:%x::%x", i, i+1)
		if _, err := f.svc.Redeem(f.ctx, u.ID, ip, fmt.Sprintf("%016d", i)); refusal(err) == "redeem.unknown" {
			checked++
		}
	}
	figures.Record(t, "security", "probe redeem: guesses by many accounts from one IPv6 /64 (limit 5/h)", guesses, max(checked-5, 0))
	if checked != 5 {
		t.Fatalf("%d guesses from one /64 were checked, want 5", checked)
	}
	// Another /64, and an IPv4 address written as IPv4-mapped IPv6, count
	// on their own and as the IPv4 address.
	other := f.user("v6other")
	if _, err := f.svc.Redeem(f.ctx, other.ID, "2001:db8:1:3::1", "0000000000000000"); refusal(err) != "redeem.unknown" {
		t.Fatalf("another /64: %v", err)
	}
	mapped := f.user("v4mapped")
	for i := range 5 {
		if _, err := f.svc.Redeem(f.ctx, mapped.ID, "192.0.2.77", fmt.Sprintf("%016d", i)); refusal(err) != "redeem.unknown" {
			t.Fatalf("IPv4 guess %d: %v", i, err)
		}
	}
	if _, err := f.svc.Redeem(f.ctx, mapped.ID, "::ffff:192.0.2.77", "0000000000000000"); refusal(err) != "redeem.throttled" {
		t.Fatalf("the same IPv4 address, mapped: %v, want redeem.throttled", err)
	}
}

// TestProbeLookAlikeSpellingsOfACodeNeverCreditTwice: case, dashes,
// spaces, fullwidth digits and letters, Cyrillic and Greek look-alikes,
// zero-width characters, Unicode case folds (ſ, ı, K) and control bytes
// around a code already redeemed: none credits again, none crashes.
func TestProbeLookAlikeSpellingsOfACodeNeverCreditTwice(t *testing.T) {
	f := newFixture(t, unlimited)
	c := f.batch("3", 2, 2)
	u, v := f.user("lookalike"), f.user("lookalike2")
	code := c.Codes[0]
	if _, err := f.svc.Redeem(f.ctx, u.ID, "192.0.2.1", code); err != nil {
		t.Fatal(err)
	}
	canon, _ := redeem.Canonical(code)
	fullwidth := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' {
			return r + 0xFEE0
		}
		return r
	}, code)
	cyrillic := strings.NewReplacer("A", "А", "B", "В", "C", "С", "E", "Е", "H", "Н", "K", "К", "M", "М", "P", "Р", "T", "Т", "X", "Х").Replace(code)
	greek := strings.NewReplacer("A", "Α", "B", "Β", "E", "Ε", "Z", "Ζ", "H", "Η", "K", "Κ", "M", "Μ", "N", "Ν", "P", "Ρ", "T", "Τ", "X", "Χ", "Y", "Υ").Replace(code)
	variants := []string{
		code, strings.ToLower(code), canon, " " + code + "\t", strings.ReplaceAll(code, "-", " "),
		strings.Join(strings.Split(canon, ""), "-"),
		fullwidth, cyrillic, greek,
		strings.Join(strings.Split(canon, ""), "\u200b"), // zero-width spaces
		"\ufeff" + code, code + "\x00", "\x00" + code, code + "\n", code + "\u00a0",
		strings.ReplaceAll(code, "S", "ſ"), strings.ReplaceAll(code, "1", "ı"), strings.ReplaceAll(code, "K", "\u212a"),
		code + code, "\xff" + code, strings.Repeat(code, 1000),
	}
	credited := 0
	for i, typed := range variants {
		for _, who := range []int64{u.ID, v.ID} {
			r, err := f.svc.Redeem(f.ctx, who, fmt.Sprintf("192.0.2.%d", 10+i), typed)
			switch refusal(err) {
			case "":
				credited++
				t.Errorf("variant %d %.40q credited again: %+v", i, typed, r)
			case "redeem.used", "redeem.unknown":
			default:
				t.Errorf("variant %d %.40q: %v", i, typed, err)
			}
		}
	}
	figures.Record(t, "security", "probe redeem: look-alike spellings of a redeemed code by its redeemer and another person", 2*len(variants), credited)
	if got, other := f.balance(u), f.balance(v); got != 3_00 || other != 0 {
		t.Fatalf("balances %s and %s, want ¥3.00 and ¥0.00", got, other)
	}
	// The batch's other code still works for the other person: the
	// variants spent nothing but attempts.
	if _, err := f.svc.Redeem(f.ctx, v.ID, "192.0.2.200", strings.ToLower(c.Codes[1])); err != nil {
		t.Fatalf("the other code: %v", err)
	}
}

// TestProbeACodeRacingItsBatchsVoidCreditsAtMostBeforeTheVoid: people
// redeem a batch's codes while an operator voids it; every code credited
// was credited before the void, and none after.
func TestProbeACodeRacingItsBatchsVoidCreditsAtMostBeforeTheVoid(t *testing.T) {
	f := newFixture(t, unlimited)
	c := f.batch("1", 40, 1)
	users := make([]int64, len(c.Codes))
	for i := range users {
		users[i] = f.user(fmt.Sprintf("voidrace%02d", i)).ID
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	credited := 0
	for i, code := range c.Codes {
		wg.Go(func() {
			_, err := f.svc.Redeem(f.ctx, users[i], fmt.Sprintf("192.0.2.%d", i), code)
			mu.Lock()
			defer mu.Unlock()
			switch refusal(err) {
			case "":
				credited++
			case "redeem.voided":
			default:
				t.Errorf("code %d: %v", i, err)
			}
		})
		if i == len(c.Codes)/2 {
			wg.Go(func() {
				if _, err := f.svc.Void(f.ctx, c.Batch.ID, f.staff, audit.Entry{StaffID: f.staff, StaffName: "op", ClientIP: "10.0.0.1"}); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	b, err := f.svc.Batch(f.ctx, c.Batch.ID)
	if err != nil {
		t.Fatal(err)
	}
	total, err := f.ledger.SystemAccountTotal(f.ctx, redeem.AccountCode(c.Batch.ID))
	if err != nil {
		t.Fatal(err)
	}
	var late int
	if err := f.store.DB().GetContext(f.ctx, &late, `SELECT count(*) FROM redeem_codes c JOIN redeem_batches b ON b.id = c.batch_id
		WHERE b.id = $1 AND c.redeemed_at > b.voided_at`, c.Batch.ID); err != nil {
		t.Fatal(err)
	}
	figures.Record(t, "security", "probe redeem: codes redeemed while their batch is voided (credited after the void)", len(c.Codes), late)
	if b.Redeemed != credited || total != -int64(credited)*1_00 || late != 0 {
		t.Fatalf("%d credited, the batch counts %d, its account %d, %d after the void", credited, b.Redeemed, total, late)
	}
	// After the void, every remaining code says so.
	for i, code := range c.Codes {
		if _, err := f.svc.Redeem(f.ctx, f.user(fmt.Sprintf("after%02d", i)).ID, "192.0.2.250", code); refusal(err) != "redeem.voided" && refusal(err) != "redeem.used" {
			t.Fatalf("code %d after the void: %v", i, err)
		}
	}
}
