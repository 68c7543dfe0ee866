package ops_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"im2pay/audit"
	"im2pay/payment"
	"im2pay/recharge"
	"im2pay/spend"
	"im2pay/staff"
	"im2pay/wallet"
)

// rulesValues is the publish form filled from r, as the page fills it.
func rulesValues(r recharge.Rules) url.Values {
	f := recharge.FormOfRules(r)
	v := url.Values{"presets": {f.Presets}, "tiers": {f.Tiers}, "first_bonus": {f.FirstBonus},
		"daily_max": {f.DailyMax}, "preview_method": {"alipay"}}
	for _, m := range payment.Methods {
		v.Set("limit_min_"+string(m), f.LimitMin[m])
		v.Set("limit_max_"+string(m), f.LimitMax[m])
	}
	return v
}

// quoteOnly is a provider that only names its method: quoting needs a
// configured method, nothing more.
type quoteOnly struct{ payment.Provider }

func (quoteOnly) Method() payment.Method { return payment.Alipay }

// eventValues is the new-event form for a spending bonus running from
// now (the app clock; the console's zone is UTC) for a month.
func eventValues(con *console, code string) url.Values {
	now := con.clock.Now().UTC()
	return url.Values{"code": {code}, "kind": {"spend_bonus"}, "starts_at": {now.Format(spend.LocalTimeLayout)},
		"ends_at": {now.AddDate(0, 1, 0).Format(spend.LocalTimeLayout)}, "threshold": {"100"}, "bonus": {"10"},
		"title_zh": {"春季奖励"}, "title_en": {"Spring bonus"}}
}

// auditLines are the audit lines of action, newest first.
func auditLines(t *testing.T, con *console, action string) []audit.Line {
	t.Helper()
	lines, err := audit.List(context.Background(), con.store.DB(), audit.Filter{Action: action, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

// A viewer and an operator read the page but every change is refused with
// the console's 403, a "denied" audit line, and nothing changed.
func TestPromotionChangesAreRefusedToViewersAndOperators(t *testing.T) {
	con := newConsole(t)
	ctx := context.Background()
	before, err := con.recharge.CurrentRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// An event an editor added, for the end attempts.
	admin := loginAs(t, con, staff.Admin)
	expectRedirect(t, admin.post("/ops/promotions", "/ops/promotions/events", eventValues(con, "spring_bonus")),
		"/ops/promotions?done=ops.events.added")
	richer := before.Rules
	richer.FirstBonus = 50_00
	for _, role := range []staff.Role{staff.Viewer, staff.Operator} {
		ag := loginAs(t, con, role)
		page := ag.get("/ops/promotions")
		expectStatus(t, page, http.StatusOK)
		expectContains(t, page, `data-testid="promo-current"`, `data-testid="promo-no-edit"`)
		if strings.Contains(page.body, `data-testid="rules-form"`) || strings.Contains(page.body, "event-end-") {
			t.Fatalf("%s is shown the forms", role)
		}
		denied := len(auditLines(t, con, "denied"))
		for _, try := range []struct {
			action string
			form   url.Values
		}{
			{"/ops/promotions/rules", rulesValues(richer)},
			{"/ops/promotions/events", eventValues(con, "viewer_bonus")},
			{"/ops/promotions/events/end", url.Values{"code": {"spring_bonus"}}},
		} {
			a := ag.post("/ops/promotions", try.action, try.form)
			expectStatus(t, a, http.StatusForbidden)
			lines := auditLines(t, con, "denied")
			if len(lines) != denied+1 || lines[0].StaffName != ag.member.Name || !strings.Contains(lines[0].Detail, try.action) {
				t.Fatalf("%s POST %s: no denied line of theirs (%d lines, want %d)", role, try.action, len(lines), denied+1)
			}
			denied++
		}
	}
	after, err := con.recharge.CurrentRules(ctx)
	if err != nil || after.ID != before.ID {
		t.Fatalf("rules changed by a refused publish: %d → %d (%v)", before.ID, after.ID, err)
	}
	evs, err := con.spend.EventRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Code == "viewer_bonus" || (e.Code == "spring_bonus" && !e.Running(con.clock.Now())) {
			t.Fatalf("a refused event change went through: %s", e.Code)
		}
	}
}

// An admin publishes: the page shows the new version in force, a new
// quote is priced under it, and the audit line has the before and after.
func TestAnAdminPublishesPromotionRulesThatNewQuotesUse(t *testing.T) {
	con := newConsole(t)
	ctx := context.Background()
	before, err := con.recharge.CurrentRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin := loginAs(t, con, staff.Admin)
	page := admin.get("/ops/promotions")
	expectStatus(t, page, http.StatusOK)
	expectContains(t, page, `data-testid="rules-form"`, `data-testid="promo-preview"`, `href="/ops/promotions"`)

	next := before.Rules
	next.FirstBonus = 20_00
	// The live preview (htmx) answers the table alone, the new bonus in it.
	form := rulesValues(next)
	form.Set("preview_first", "1")
	pv := admin.post("/ops/promotions", "/ops/promotions/preview", form, "HX-Request", "true")
	expectStatus(t, pv, http.StatusOK)
	expectContains(t, pv, `id="promo-preview"`, "+¥20.00")
	if strings.Contains(pv.body, "<html") {
		t.Fatal("the htmx preview came inside the whole page")
	}
	if v, _ := con.recharge.CurrentRules(ctx); v.ID != before.ID {
		t.Fatal("a preview published the rules")
	}

	a := admin.post("/ops/promotions", "/ops/promotions/rules", rulesValues(next))
	expectRedirect(t, a, "/ops/promotions?done=ops.promo.published")
	cur, err := con.recharge.CurrentRules(ctx)
	if err != nil || cur.ID == before.ID || cur.Rules.FirstBonus != 20_00 {
		t.Fatalf("rules in force after the publish: version %d, first bonus %s (%v)", cur.ID, cur.Rules.FirstBonus, err)
	}
	page = admin.get("/ops/promotions?done=ops.promo.published")
	expectContains(t, page, "新规则已发布", `data-testid="promo-first-bonus">¥20.00<`)
	expectContains(t, page, `data-testid="promo-version-`+itoa(int(cur.ID))+`" data-state="current"`,
		`data-testid="promo-version-`+itoa(int(before.ID))+`" data-state="past"`, admin.member.Name)

	u, err := con.accounts.Register(ctx, "promo_person", "a good long passphrase 7", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	// The console's harness configures no provider; an instance of the
	// recharge service that has one prices the quote, from the versions in
	// the database as every instance does.
	quoting := recharge.NewService(con.store, recharge.Options{Now: con.clock.Now,
		Providers: map[payment.Method]payment.Provider{payment.Alipay: quoteOnly{}}})
	q, err := quoting.Quote(ctx, u.ID, "alipay", "68")
	if err != nil || q.RulesVersion != cur.ID || q.Bonus() != wallet.Money(20_00+340) {
		t.Fatalf("a new quote: version %d, bonus %s (%v); want version %d, ¥23.40", q.RulesVersion, q.Bonus(), err, cur.ID)
	}

	lines := auditLines(t, con, "promotion.rules_publish")
	if len(lines) != 1 {
		t.Fatalf("%d publish lines, want 1", len(lines))
	}
	l := lines[0]
	if l.StaffName != admin.member.Name || l.ClientIP == "" || l.ObjectID != itoa(int(cur.ID)) {
		t.Fatalf("publish line: staff %q, address %q, object %q", l.StaffName, l.ClientIP, l.ObjectID)
	}
	var b, af struct {
		Version int64 `json:"version"`
		Rules   struct {
			FirstBonus int64 `json:"first_bonus"`
		} `json:"rules"`
	}
	if json.Unmarshal(l.Before, &b) != nil || json.Unmarshal(l.After, &af) != nil ||
		b.Version != before.ID || b.Rules.FirstBonus != int64(before.Rules.FirstBonus) ||
		af.Version != cur.ID || af.Rules.FirstBonus != 20_00 {
		t.Fatalf("publish line before/after:\n%s\n%s", l.Before, l.After)
	}
}

// Refusals show on the form, in the staff member's language, with 422 and
// the form as typed; nothing is published. Garbage never makes a 500.
func TestPromotionFormRefusalsAreShownInTheStaffLanguage(t *testing.T) {
	con := newConsole(t)
	ctx := context.Background()
	before, _ := con.recharge.CurrentRules(ctx)
	admin := loginAs(t, con, staff.Admin)
	for _, c := range []struct {
		lang       string
		presets    string
		tierSyntax string
		eventCode  string
	}{
		{"zh-CN", "档位格式不对", "奖励档位格式不对", "代码为 3–40 个小写字母"},
		{"en", "Presets must be amounts in yuan", "Bonus tiers must be amount:percent", "The code is 3–40 lower-case"},
	} {
		admin.header.Set("Accept-Language", c.lang)
		// The console's language follows the staff member's choice.
		expectStatus(t, admin.post("/ops/promotions", "/ops/lang", url.Values{"lang": {c.lang}, "next": {"/ops/promotions"}}), http.StatusSeeOther)
		form := rulesValues(before.Rules)
		form.Set("presets", "6, lots")
		form.Set("tiers", "68-5")
		a := admin.post("/ops/promotions", "/ops/promotions/rules", form)
		expectStatus(t, a, http.StatusUnprocessableEntity)
		expectContains(t, a, c.presets, c.tierSyntax, `value="6, lots"`)

		ev := eventValues(con, "X!")
		a = admin.post("/ops/promotions", "/ops/promotions/events", ev)
		expectStatus(t, a, http.StatusUnprocessableEntity)
		expectContains(t, a, c.eventCode)
	}
	admin.header.Set("Accept-Language", "en")
	// Rules that parse but break a rule: first bonus above its cap, a
	// daily limit below a per-order maximum; a bad start time.
	bad := before.Rules
	bad.FirstBonus = 100_000_00
	form := rulesValues(bad)
	form.Set("daily_max", "1")
	form.Set("valid_from", "tomorrow")
	a := admin.post("/ops/promotions", "/ops/promotions/rules", form)
	expectStatus(t, a, http.StatusUnprocessableEntity)
	expectContains(t, a, "The first top-up bonus must be between 0 and", "Enter a start time")
	// Hostile input: every field empty, unknown methods, huge numbers, an
	// unknown event to end, an end time that does not parse.
	for _, try := range []struct {
		action string
		form   url.Values
	}{
		{"/ops/promotions/rules", url.Values{}},
		{"/ops/promotions/rules", url.Values{"presets": {strings.Repeat("9", 400)}, "tiers": {"1:999999999999"}, "limit_min_bitcoin": {"1"}}},
		{"/ops/promotions/preview", url.Values{"preview_method": {"bitcoin"}, "presets": {"-1"}}},
		{"/ops/promotions/events", url.Values{"kind": {"lottery"}, "sticker": {"99999999999999999999"}}},
		{"/ops/promotions/events/end", url.Values{"code": {"no_such_event"}}},
		{"/ops/promotions/events/end", url.Values{"code": {"no_such_event"}, "ends_at": {"soon"}}},
	} {
		a := admin.post("/ops/promotions", try.action, try.form)
		if a.status >= 500 {
			t.Fatalf("POST %s %v: %d\n%.1500s", try.action, try.form, a.status, a.body)
		}
	}
	if v, _ := con.recharge.CurrentRules(ctx); v.ID != before.ID {
		t.Fatal("a refused form published rules")
	}
	if n := len(auditLines(t, con, "promotion.rules_publish")); n != 0 {
		t.Fatalf("%d publish lines after refusals only", n)
	}
}

// A POST without the session's CSRF token is refused before the handler.
func TestPromotionChangesWithoutCSRFAreRefused(t *testing.T) {
	con := newConsole(t)
	before, _ := con.recharge.CurrentRules(context.Background())
	admin := loginAs(t, con, staff.Admin)
	next := before.Rules
	next.FirstBonus = 30_00
	for _, path := range []string{"/ops/promotions/rules", "/ops/promotions/events"} {
		form := rulesValues(next)
		if path == "/ops/promotions/events" {
			form = eventValues(con, "csrf_bonus")
		}
		a := admin.do(http.MethodPost, path, form)
		if a.status != http.StatusForbidden && a.status != http.StatusBadRequest {
			t.Fatalf("POST %s without a token: %d", path, a.status)
		}
		form.Set("_csrf", "forged-token")
		if a = admin.do(http.MethodPost, path, form); a.status != http.StatusForbidden && a.status != http.StatusBadRequest {
			t.Fatalf("POST %s with a forged token: %d", path, a.status)
		}
	}
	if v, _ := con.recharge.CurrentRules(context.Background()); v.ID != before.ID {
		t.Fatal("rules published without a CSRF token")
	}
	evs, _ := con.spend.EventRecords(context.Background())
	for _, e := range evs {
		if e.Code == "csrf_bonus" {
			t.Fatal("an event added without a CSRF token")
		}
	}
}
