package handlers_test

// Probes of an outsider on the person's redemption page (/account/redeem)
// that the tests above did not try yet, each kept with its figures.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"im2pay/internal/figures"
	"im2pay/redeem"
)

// TestProbeAForgedXForwardedForDoesNotResetTheAddressLimit: without
// TRUSTED_PROXIES, X-Forwarded-For (and X-Real-IP, Forwarded) from the
// peer are not believed: many accounts behind one peer share its limit
// however they label themselves.
func TestProbeAForgedXForwardedForDoesNotResetTheAddressLimit(t *testing.T) {
	s := newSite(t)
	per := redeem.DefaultLimits.PerClient
	people := per + 5
	checked, throttled := 0, 0
	for i := range people {
		b, _ := giftPerson(t, s, fmt.Sprintf("xff%02d", i), 0)
		token := csrfOf(t, b, "/account/redeem")
		fake := fmt.Sprintf("203.0.113.%d", i+1)
		a := b.do(http.MethodPost, "/account/redeem", url.Values{"_csrf": {token}, "code": {fmt.Sprintf("%016d", i)}},
			"X-Forwarded-For", fake, "X-Real-IP", fake, "Forwarded", "for="+fake)
		switch a.status {
		case http.StatusUnprocessableEntity:
			checked++
		case http.StatusTooManyRequests:
			throttled++
		default:
			t.Fatalf("person %d: %d", i, a.status)
		}
	}
	figures.Record(t, "security", fmt.Sprintf("probe redeem page: guesses by many accounts behind one peer with forged X-Forwarded-For (limit %d/h)", per),
		people, max(checked-per, 0))
	if checked != per || throttled != people-per {
		t.Fatalf("%d checked and %d throttled of %d, want %d checked", checked, throttled, people, per)
	}
	var clients int
	if err := s.store.DB().GetContext(context.Background(), &clients, `SELECT count(DISTINCT client_ip) FROM redeem_attempts`); err != nil {
		t.Fatal(err)
	}
	if clients != 1 {
		t.Errorf("attempts recorded under %d addresses, want the peer's one", clients)
	}
}

// TestProbeHostileCodesOnTheRedeemPage: what a script would type into the
// code field (look-alikes of a redeemed code, markup, bytes that are not
// UTF-8, the field twice, an extra field) is a refusal, never a 500, never
// a second credit, and never comes back unescaped.
func TestProbeHostileCodesOnTheRedeemPage(t *testing.T) {
	s := newSite(t)
	c := redeemBatch(t, s, "2", 1)
	b, id := giftPerson(t, s, "hostile", 0)
	token := csrfOf(t, b, "/account/redeem")
	expectRedirect(t, b.do(http.MethodPost, "/account/redeem", url.Values{"_csrf": {token}, "code": {c.Codes[0]}}), "/account/redeem")
	fullwidth := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' {
			return r + 0xFEE0
		}
		return r
	}, c.Codes[0])
	forms := []url.Values{
		{"code": {strings.ToLower(c.Codes[0])}},
		{"code": {fullwidth}},
		{"code": {strings.NewReplacer("A", "А", "C", "С", "E", "Е", "K", "К", "M", "М", "P", "Р", "T", "Т", "X", "Х").Replace(c.Codes[0])}},
		{"code": {`"><script>alert(1)</script>`}},
		{"code": {"\xff\xfe" + c.Codes[0]}},
		{"code": {c.Codes[0] + "\x00"}},
		{"code": {strings.Repeat("Z", 100_000)}},
		{"code": {c.Codes[0], c.Codes[0]}},
		{"code": {c.Codes[0]}, "user_id": {"1"}},
	}
	attempts, through := 0, 0
	for i, f := range forms {
		f.Set("_csrf", token)
		a := b.do(http.MethodPost, "/account/redeem", f)
		attempts++
		if a.status >= 500 || a.status == http.StatusSeeOther || strings.Contains(a.body, "<script>alert(1)") {
			through++
			t.Errorf("form %d: %d to %q", i, a.status, a.header.Get("Location"))
		}
	}
	w, err := s.ledger.WalletOf(context.Background(), s.store.DB(), id)
	if err != nil {
		t.Fatal(err)
	}
	bal, err := s.ledger.Balance(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	attempts++
	if bal != 2_00 {
		through++
		t.Errorf("balance %d fen, want 200 from the one redemption", bal)
	}
	figures.Record(t, "security", "probe redeem page: hostile and look-alike codes after a redemption", attempts, through)
}
