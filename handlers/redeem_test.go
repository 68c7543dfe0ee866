package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"im2pay/audit"
	"im2pay/redeem"
)

// redeemBatch makes a batch of count codes of amount yuan through the
// domain (the console's pages are not this package's).
func redeemBatch(t *testing.T, s *site, amount string, count int) redeem.Created {
	t.Helper()
	ctx := context.Background()
	var staffID int64
	err := s.store.DB().GetContext(ctx, &staffID, `INSERT INTO staff (name, role, password_hash, created_at)
		VALUES ('op' || (SELECT count(*) FROM staff), 'operator', 'x', now()) RETURNING id`)
	if err != nil {
		t.Fatal(err)
	}
	svc := redeem.NewService(s.store, redeem.Options{Ledger: s.ledger, Now: s.clock.Now})
	c, err := svc.CreateBatch(ctx, redeem.BatchRequest{Amount: amount, Count: strconv.Itoa(count),
		PerPerson: "5", Expires: s.clock.Now().AddDate(0, 0, 30).Format("2006-01-02"), StaffID: staffID,
		Key: "handlers-test-key-" + strconv.FormatInt(staffID, 10)}, // one batch per staff member here
		time.UTC, audit.Entry{StaffID: staffID, StaffName: "op", ClientIP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAPersonRedeemsACodeOnceFromTheAccountCenterInEitherLanguage(t *testing.T) {
	s := newSite(t)
	c := redeemBatch(t, s, "8.88", 3)
	b, id := giftPerson(t, s, "redeemer", 0)
	balance := func() int64 {
		t.Helper()
		w, err := s.ledger.WalletOf(context.Background(), s.store.DB(), id)
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.ledger.Balance(context.Background(), w)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	center := b.get("/account")
	expectStatus(t, center, http.StatusOK)
	if !strings.Contains(center.body, `href="/account/redeem"`) {
		t.Fatal("the account center has no link to the redeem page")
	}
	page := b.get("/account/redeem")
	expectStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, "输入兑换码") || !strings.Contains(page.body, `name="code"`) {
		t.Fatalf("the redeem page in Chinese:\n%.2000s", page.body)
	}

	// As a person types it: lower case, no dashes.
	typed := strings.ToLower(strings.ReplaceAll(c.Codes[0], "-", ""))
	expectRedirect(t, b.post("/account/redeem", "/account/redeem", url.Values{"code": {typed}}), "/account/redeem")
	if done := b.get("/account/redeem"); !strings.Contains(done.body, "兑换成功") {
		t.Fatalf("no notice after redeeming:\n%.2000s", done.body)
	}
	if got := balance(); got != 8_88 {
		t.Fatalf("balance %d fen, want 888", got)
	}
	if h := b.get("/history"); !strings.Contains(h.body, "兑换码") {
		t.Fatal("the history has no redemption code line")
	}

	again := b.post("/account/redeem", "/account/redeem", url.Values{"code": {c.Codes[0]}})
	expectStatus(t, again, http.StatusUnprocessableEntity)
	if !strings.Contains(again.body, "该兑换码已被使用。") {
		t.Fatalf("the same code again, in Chinese:\n%.2000s", again.body)
	}

	b.header.Set("Accept-Language", "en")
	used := b.post("/account/redeem", "/account/redeem", url.Values{"code": {c.Codes[0]}})
	expectStatus(t, used, http.StatusUnprocessableEntity)
	if !strings.Contains(used.body, "That code has already been used.") {
		t.Fatalf("the same code again, in English:\n%.2000s", used.body)
	}
	unknown := b.post("/account/redeem", "/account/redeem", url.Values{"code": {"AAAA-AAAA-AAAA-AAAA"}}, "HX-Request", "true")
	expectStatus(t, unknown, http.StatusUnprocessableEntity)
	if !strings.Contains(unknown.body, "That code is not valid.") || strings.Contains(unknown.body, "<html") {
		t.Fatalf("an unknown code to htmx: the form alone with the message:\n%.2000s", unknown.body)
	}
	ok := b.post("/account/redeem", "/account/redeem", url.Values{"code": {c.Codes[1]}})
	expectRedirect(t, ok, "/account/redeem")
	if done := b.get("/account/redeem"); !strings.Contains(done.body, "Redeemed") {
		t.Fatalf("no English notice:\n%.2000s", done.body)
	}
	if h := b.get("/history?kind=redeem"); strings.Count(h.body, "Redemption code") < 2 {
		t.Fatalf("the English history lacks its redemption lines:\n%.3000s", h.body)
	}
	if got := balance(); got != 17_76 {
		t.Fatalf("balance %d fen, want 1776", got)
	}
}

func TestRedeemingIsThrottledWithAnAnswerThatSaysSo(t *testing.T) {
	s := newSite(t)
	b, _ := giftPerson(t, s, "guesser", 0)
	b.header.Set("Accept-Language", "en")
	token := csrfOf(t, b, "/account/redeem")
	attempts, refused := 0, 0
	for range redeem.DefaultLimits.PerPerson + 5 {
		a := b.do(http.MethodPost, "/account/redeem", url.Values{"_csrf": {token}, "code": {"ZZZZ-ZZZZ-ZZZZ-ZZZZ"}})
		attempts++
		if a.status == http.StatusTooManyRequests && strings.Contains(a.body, "Too many tries") {
			refused++
		}
	}
	if refused != 5 {
		t.Fatalf("%d of %d guesses were throttled, want the last 5", refused, attempts)
	}
}
