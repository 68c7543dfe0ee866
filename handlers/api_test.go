package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/handlers"
	"im2pay/recharge"
	"im2pay/spend"
	"im2pay/statement"
	"im2pay/views/i18n"
	"im2pay/wallet"
)

const serviceToken = "svc-token-for-tests-0123456789abcdef"

// newAPISite is newSite with the service API enabled by token ("" leaves
// it disabled).
func newAPISite(t *testing.T, token string) *site {
	t.Helper()
	conn := dbtest.New(t)
	conn.SetMaxOpenConns(20) // as in production: a burst of charges queues in Go
	store := db.New(conn)
	svc, _ := services(store, recharge.Options{})
	h := handlers.New(withStatement(svc, statement.New(store, nil, nil)), handlers.Config{ServiceToken: token, Logger: discardLogger(),
		IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 12 * time.Hour})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s := &site{t: t, srv: srv, store: store, accounts: svc.Accounts, wallet: svc.Wallet, spend: svc.Spend}
	if a := s.api(http.MethodGet, "/api/v1/balance?user=nobody", "", nil); a.status == http.StatusNotFound &&
		!strings.Contains(a.body, `"error"`) {
		t.Fatal("GET /api/v1/balance is a page 404: handlers/routes.go must call s.apiRoutes(e) after setting the error handler")
	}
	return s
}

// holder registers name through the browser (so history can be read) and
// grants them fen.
func holder(t *testing.T, s *site, name string, fen wallet.Money) *browser {
	t.Helper()
	b := s.browser()
	b.register(name, goodPassword)
	if fen > 0 {
		u, err := s.accounts.UserByName(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.wallet.Grant(context.Background(), u.ID, fen, "fund:"+name, "welcome_grant"); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// api sends one call as the IM backend would; body is sent as JSON.
func (s *site) api(method, path, token string, body io.Reader, header ...string) answer {
	s.t.Helper()
	var sent []byte
	if body != nil {
		sent, _ = io.ReadAll(body)
		body = bytes.NewReader(sent)
	}
	req, err := http.NewRequest(method, s.srv.URL+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := s.srv.Client().Do(req)
	if err != nil {
		s.t.Errorf("%s %s: %v", method, path, err) // not Fatal: concurrent callers run off the test goroutine
		return answer{}
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	// Every call the tests make is also a check of the OpenAPI document.
	c, err := loadContract()
	if err != nil {
		s.t.Errorf("the OpenAPI document: %v", err)
	} else if err := c.check(req, sent, res.StatusCode, res.Header, raw); err != nil {
		s.t.Errorf("%s %s answered %d %s, which breaks the OpenAPI document: %v", method, path, res.StatusCode, raw, err)
	}
	return answer{status: res.StatusCode, header: res.Header, body: string(raw)}
}

func (s *site) charge(user string, fen int, key string) answer {
	body := fmt.Sprintf(`{"user":%q,"amount_fen":%d,"reason":"priority_message","idempotency_key":%q}`, user, fen, key)
	return s.api(http.MethodPost, "/api/v1/charges", serviceToken, strings.NewReader(body))
}

func (s *site) balanceOf(name string) int64 {
	s.t.Helper()
	a := s.api(http.MethodGet, "/api/v1/balance?user="+name, serviceToken, nil)
	expectStatus(s.t, a, http.StatusOK)
	var got struct {
		User       string `json:"user"`
		BalanceFen *int64 `json:"balance_fen"`
	}
	if err := json.Unmarshal([]byte(a.body), &got); err != nil || got.BalanceFen == nil || !strings.EqualFold(got.User, name) {
		s.t.Fatalf("balance answer %s (%v)", a.body, err)
	}
	return *got.BalanceFen
}

func expectJSON(t *testing.T, a answer, status int, fields map[string]any) {
	t.Helper()
	expectStatus(t, a, status)
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || a.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("Content-Type %q, Cache-Control %q", ct, a.header.Get("Cache-Control"))
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(a.body), &got); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, a.body)
	}
	for k, want := range fields {
		if fmt.Sprint(got[k]) != fmt.Sprint(want) {
			t.Fatalf("%s = %v, want %v; body %s", k, got[k], want, a.body)
		}
	}
}

func TestAChargeTakesTheAmountAndShowsInTheHistory(t *testing.T) {
	s := newAPISite(t, serviceToken)
	b := holder(t, s, "alice", 1_00)
	a := s.charge("Alice", 10, "charge-0001")
	expectJSON(t, a, http.StatusCreated, map[string]any{"user": "alice", "balance_fen": 90, "amount_fen": 10})
	if !strings.Contains(a.body, `"charge_id":`) || a.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first answer %s, headers %v", a.body, a.header)
	}
	if got := s.balanceOf("alice"); got != 90 {
		t.Fatalf("balance = %d, want 90", got)
	}
	expectContains(t, b.get("/history"), "加急消息", "-¥0.10")
	var revenue int64
	err := s.store.DB().GetContext(context.Background(), &revenue, `
		SELECT sum(e.amount) FROM ledger_entries e JOIN accounts a ON a.id = e.account_id
		 WHERE a.code = 'revenue:charges'`)
	if err != nil || revenue != 10 {
		t.Fatalf("revenue:charges holds %d (%v), want 10", revenue, err)
	}
}

func TestAChargeTheBalanceCannotCoverAnswers402WithTheShortfall(t *testing.T) {
	s := newAPISite(t, serviceToken)
	holder(t, s, "bob", 5)
	expectJSON(t, s.charge("bob", 12, "short-0001"), http.StatusPaymentRequired,
		map[string]any{"error": "insufficient_funds", "shortfall_fen": 7, "balance_fen": 5})
	if got := s.balanceOf("bob"); got != 5 {
		t.Fatalf("balance = %d after a refused charge, want 5", got)
	}
}

func TestARepeatedKeyGetsTheFirstAnswerAgain(t *testing.T) {
	s := newAPISite(t, serviceToken)
	holder(t, s, "carol", 50)
	cases := []struct {
		name, key string
		fen       int
		status    int
	}{
		{"after a charge", "repeat-created", 30, http.StatusCreated},
		{"after too little balance, even once the balance would cover it", "repeat-402", 1_50, http.StatusPaymentRequired},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			first := s.charge("carol", c.fen, c.key)
			expectStatus(t, first, c.status)
			before := s.balanceOf("carol")
			u, _ := s.accounts.UserByName(context.Background(), "carol")
			if _, err := s.wallet.Grant(context.Background(), u.ID, 1_00, "topup:"+c.key, "welcome_grant"); err != nil {
				t.Fatal(err)
			}
			again := s.charge("carol", c.fen, c.key)
			if again.status != first.status || again.body != first.body || again.header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("repeat answered %d %s (replayed %q), first was %d %s",
					again.status, again.body, again.header.Get("Idempotent-Replayed"), first.status, first.body)
			}
			if got := s.balanceOf("carol"); got != before+1_00 {
				t.Fatalf("balance %d, want %d: the repeat moved money", got, before+1_00)
			}
		})
	}
}

func TestAKeyReusedWithAnotherBodyIsAConflict(t *testing.T) {
	s := newAPISite(t, serviceToken)
	holder(t, s, "dave", 1_00)
	holder(t, s, "erin", 1_00)
	expectStatus(t, s.charge("dave", 10, "reused-key"), http.StatusCreated)
	expectStatus(t, s.api(http.MethodPost, "/api/v1/charges", serviceToken, strings.NewReader(
		`{"user":"dave","amount_fen":10,"reason":"translation","idempotency_key":"reused-key"}`)), http.StatusConflict)
	expectJSON(t, s.charge("dave", 11, "reused-key"), http.StatusConflict, map[string]any{"error": "key_reused"})
	expectStatus(t, s.charge("erin", 10, "reused-key"), http.StatusConflict)
	if d, e := s.balanceOf("dave"), s.balanceOf("erin"); d != 90 || e != 1_00 {
		t.Fatalf("balances %d and %d, want 90 and 100", d, e)
	}
}

func TestEveryCallNeedsTheServiceToken(t *testing.T) {
	s := newAPISite(t, serviceToken)
	holder(t, s, "frank", 1_00)
	body := `{"user":"frank","amount_fen":10,"reason":"priority_message","idempotency_key":"tok-1"}`
	for _, path := range []string{"/api/v1/charges", "/api/v1/balance?user=frank"} {
		method := http.MethodGet
		if path == "/api/v1/charges" {
			method = http.MethodPost
		}
		send := func(auth string) answer {
			return s.api(method, path, "", strings.NewReader(body), "Authorization", auth)
		}
		for _, auth := range []string{"", "Bearer", "Bearer ", "Basic " + serviceToken, serviceToken} {
			a := send(auth)
			expectJSON(t, a, http.StatusUnauthorized, map[string]any{"error": "unauthorized"})
			if a.header.Get("WWW-Authenticate") == "" {
				t.Fatalf("%s with %q: no WWW-Authenticate", path, auth)
			}
		}
		for _, auth := range []string{"Bearer wrong", "Bearer " + serviceToken[:len(serviceToken)-1], "Bearer " + serviceToken + "x"} {
			expectJSON(t, send(auth), http.StatusForbidden, map[string]any{"error": "forbidden"})
		}
		expectStatus(t, send("bearer "+serviceToken), map[string]int{http.MethodGet: 200, http.MethodPost: 201}[method])
	}
	off := newAPISite(t, "")
	expectStatus(t, off.api(http.MethodGet, "/api/v1/balance?user=frank", serviceToken, nil), http.StatusUnauthorized)
}

func TestMalformedChargesAreRefusedWith400AndMoveNothing(t *testing.T) {
	s := newAPISite(t, serviceToken)
	holder(t, s, "gina", 1_00)
	ok := `"user":"gina","reason":"priority_message","idempotency_key":"bad-1"`
	cases := []struct{ name, body, code string }{
		{"a duplicated key", `{"amount_fen":10,"amount_fen":1,` + ok + `}`, "field_duplicate"},
		{"a duplicated key spelled with an escape", `{"amount_fen":10,"amount_fe\u006e":1,` + ok + `}`, "field_duplicate"},
		{"an exponent", `{"amount_fen":1e3,` + ok + `}`, "amount_integer"},
		{"a fraction", `{"amount_fen":10.0,` + ok + `}`, "amount_integer"},
		{"a negative amount", `{"amount_fen":-10,` + ok + `}`, "amount_range"},
		{"zero", `{"amount_fen":0,` + ok + `}`, "amount_range"},
		{"more than the cap", `{"amount_fen":10001,` + ok + `}`, "amount_range"},
		{"more than int64", `{"amount_fen":99999999999999999999999,` + ok + `}`, "amount_range"},
		{"an amount as a string", `{"amount_fen":"10",` + ok + `}`, "field_type"},
		{"an amount as null", `{"amount_fen":null,` + ok + `}`, "field_type"},
		{"a user as a number", `{"amount_fen":10,"user":7,"reason":"priority_message","idempotency_key":"k"}`, "field_type"},
		{"a user as an object", `{"amount_fen":10,"user":{"name":"gina"},"reason":"priority_message","idempotency_key":"k"}`, "field_type"},
		{"a missing field", `{"amount_fen":10,"user":"gina","reason":"priority_message"}`, "field_missing"},
		{"an unknown field", `{"amount_fen":10,"currency":"CNY",` + ok + `}`, "field_unknown"},
		{"an unknown reason", `{"amount_fen":10,"user":"gina","reason":"anything","idempotency_key":"k"}`, "reason_unknown"},
		{"an empty key", `{"amount_fen":10,"user":"gina","reason":"priority_message","idempotency_key":""}`, "key_invalid"},
		{"a key with a space", `{"amount_fen":10,"user":"gina","reason":"priority_message","idempotency_key":"a b"}`, "key_invalid"},
		{"a key too long", `{"amount_fen":10,"user":"gina","reason":"priority_message","idempotency_key":"` + strings.Repeat("k", 129) + `"}`, "key_invalid"},
		{"an empty user", `{"amount_fen":10,"user":"","reason":"priority_message","idempotency_key":"k"}`, "user_invalid"},
		{"invalid UTF-8", "{\"amount_fen\":10,\"user\":\"gi\xffna\",\"reason\":\"priority_message\",\"idempotency_key\":\"k\"}", "body_utf8"},
		{"an array", `[{"amount_fen":10,` + ok + `}]`, "body_json"},
		{"a second object after the first", `{"amount_fen":10,` + ok + `}{}`, "body_json"},
		{"a trailing comma", `{"amount_fen":10,` + ok + `,}`, "body_json"},
		{"an empty body", ``, "body_json"},
		{"a body just over 16 KB", `{"amount_fen":10,` + ok + `}` + strings.Repeat(" ", 16<<10), "body_too_large"},
		{"a 10 MB body", `{"amount_fen":10,"user":"` + strings.Repeat("g", 10<<20) + `"}`, "body_too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := s.api(http.MethodPost, "/api/v1/charges", serviceToken, bytes.NewReader([]byte(c.body)))
			expectJSON(t, a, http.StatusBadRequest, map[string]any{"error": c.code})
		})
	}
	t.Run("a body that is not declared as JSON", func(t *testing.T) {
		a := s.api(http.MethodPost, "/api/v1/charges", serviceToken, strings.NewReader(`{"amount_fen":10,`+ok+`}`),
			"Content-Type", "text/plain")
		expectJSON(t, a, http.StatusUnsupportedMediaType, map[string]any{"error": "media_type"})
	})
	if got := s.balanceOf("gina"); got != 1_00 {
		t.Fatalf("balance = %d, want 100: a malformed charge moved money", got)
	}
}

func TestTheBalanceAnswersByNameAndUnknownUsersAre404(t *testing.T) {
	s := newAPISite(t, serviceToken)
	holder(t, s, "hank", 2_50)
	expectJSON(t, s.api(http.MethodGet, "/api/v1/balance?user=HANK", serviceToken, nil), http.StatusOK,
		map[string]any{"user": "hank", "balance_fen": 250})
	expectJSON(t, s.api(http.MethodGet, "/api/v1/balance?user=nobody", serviceToken, nil), http.StatusNotFound,
		map[string]any{"error": "user_unknown"})
	expectJSON(t, s.charge("nobody", 10, "ghost-1"), http.StatusNotFound, map[string]any{"error": "user_unknown"})
	expectJSON(t, s.api(http.MethodGet, "/api/v1/balance", serviceToken, nil), http.StatusBadRequest,
		map[string]any{"error": "user_invalid"})
	expectJSON(t, s.api(http.MethodGet, "/api/v1/nothing", serviceToken, nil), http.StatusNotFound,
		map[string]any{"error": "not_found"})
	expectJSON(t, s.api(http.MethodDelete, "/api/v1/charges", serviceToken, nil), http.StatusMethodNotAllowed,
		map[string]any{"error": "method_not_allowed"})
}

func TestTheSameChargeKeySentTwentyTimesAtOnceChargesOnce(t *testing.T) {
	s := newAPISite(t, serviceToken)
	holder(t, s, "ivan", 1_00)
	answers := concurrently(20, func(int) answer { return s.charge("ivan", 30, "burst-key") })
	for _, a := range answers {
		if a.status != http.StatusCreated || a.body != answers[0].body {
			t.Fatalf("answers differ: %d %s vs %d %s", a.status, a.body, answers[0].status, answers[0].body)
		}
	}
	if got := s.balanceOf("ivan"); got != 70 {
		t.Fatalf("balance = %d, want 70: the key moved money more than once", got)
	}
	expectChargesBalance(t, s, 1, 0)
}

func TestFiftyChargesAgainstTwentysWorthSucceedExactlyTwenty(t *testing.T) {
	s := newAPISite(t, serviceToken)
	holder(t, s, "judy", 2_00)
	answers := concurrently(50, func(i int) answer { return s.charge("judy", 10, fmt.Sprintf("fifty-%02d", i)) })
	count := map[int]int{}
	for _, a := range answers {
		count[a.status]++
	}
	if count[http.StatusCreated] != 20 || count[http.StatusPaymentRequired] != 30 {
		t.Fatalf("answers by status: %v, want 20 × 201 and 30 × 402", count)
	}
	if got := s.balanceOf("judy"); got != 0 {
		t.Fatalf("balance = %d, want 0", got)
	}
	expectChargesBalance(t, s, 20, 30)
}

// expectChargesBalance checks the stored answers against the ledger: each
// 'charged' answer has its debit, the revenue holds exactly their sum, and
// every wallet's cached balance is the sum of its entries.
func expectChargesBalance(t *testing.T, s *site, charged, refused int) {
	t.Helper()
	var got struct {
		Charged   int   `db:"charged"`
		Refused   int   `db:"refused"`
		Debited   int   `db:"debited"`
		Amounts   int64 `db:"amounts"`
		Revenue   int64 `db:"revenue"`
		Drifted   int   `db:"drifted"`
		Unmatched int64 `db:"unmatched"`
	}
	err := s.store.DB().GetContext(context.Background(), &got, `
		SELECT (SELECT count(*) FROM api_charges WHERE outcome = 'charged') AS charged,
		       (SELECT count(*) FROM api_charges WHERE outcome = 'insufficient_funds') AS refused,
		       (SELECT count(*) FROM api_charges c JOIN ledger_entries e
		           ON e.transaction_id = c.transaction_id AND e.amount = -c.amount) AS debited,
		       (SELECT coalesce(sum(amount), 0) FROM api_charges WHERE outcome = 'charged') AS amounts,
		       (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e JOIN accounts a ON a.id = e.account_id
		         WHERE a.code = 'revenue:charges') AS revenue,
		       (SELECT count(*) FROM accounts a WHERE a.balance IS NOT NULL AND a.balance <>
		           (SELECT coalesce(sum(amount), 0) FROM ledger_entries WHERE account_id = a.id)) AS drifted,
		       (SELECT coalesce(sum(amount), 0) FROM ledger_entries) AS unmatched`)
	if err != nil {
		t.Fatal(err)
	}
	if got.Charged != charged || got.Refused != refused || got.Debited != charged || got.Revenue != got.Amounts ||
		got.Drifted != 0 || got.Unmatched != 0 {
		t.Fatalf("stored answers and ledger disagree: %+v (want %d charged, %d refused)", got, charged, refused)
	}
}

func concurrently(n int, call func(i int) answer) []answer {
	out := make([]answer, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() { <-start; out[i] = call(i) })
	}
	close(start)
	wg.Wait()
	return out
}

func TestEveryChargeReasonHasAHistoryDescription(t *testing.T) {
	for _, r := range spend.ChargeReasons {
		if !i18n.Has("desc.charge_" + r) {
			t.Errorf("desc.charge_%s is missing from the catalog", r)
		}
	}
}
