package recharge

import (
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"im2pay/audit"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/payment"
	"im2pay/problem"
	"im2pay/wallet"
)

// namedProvider is a provider that only says which method it is: quoting
// and creating orders need a configured method, nothing more.
type namedProvider struct {
	payment.Provider
	m payment.Method
}

func (p namedProvider) Method() payment.Method { return p.m }

// testClock is the app clock the rules tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time                  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration)             { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func (c *testClock) set(t time.Time)                 { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *testClock) since(d time.Duration) time.Time { return c.now().Add(d) }

func newRulesFixture(t *testing.T) (*fixture, *testClock) {
	t.Helper()
	clk := &testClock{t: time.Date(2030, 3, 1, 10, 0, 0, 0, time.UTC)}
	store := db.New(dbtest.New(t))
	f := &fixture{t: t, store: store, service: NewService(store, Options{Now: clk.now,
		Providers: map[payment.Method]payment.Provider{payment.Alipay: namedProvider{m: payment.Alipay}}})}
	f.ctx = t.Context()
	return f, clk
}

// richer is DefaultRules with larger bonuses: 20% from ¥68, ¥20 first bonus.
func richer() Rules {
	r := DefaultRules()
	r.Tiers = []BonusTier{{Min: 68_00, BasisPoints: 2000}}
	r.FirstBonus = 20_00
	return r
}

func TestTheSeedVersionIsDefaultRules(t *testing.T) {
	f, _ := newRulesFixture(t)
	rv, err := f.service.CurrentRules(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := DefaultRules(); !reflect.DeepEqual(rv.Rules, want) || rv.CreatedBy.Valid {
		t.Fatalf("seed version %d = %+v, want DefaultRules %+v", rv.ID, rv.Rules, want)
	}
}

func TestAPublishedVersionAppliesToNewQuotesOnly(t *testing.T) {
	f, clk := newRulesFixture(t)
	u := f.user("quoted")
	before, err := f.service.Quote(f.ctx, u.ID, "alipay", "68")
	if err != nil || before.TierBonus != 3_40 || before.FirstBonus != 6_00 {
		t.Fatalf("quote under the seed: %+v, %v", before, err)
	}
	pub, err := f.service.PublishRules(f.ctx, richer(), time.Time{}, 0, audit.Entry{StaffName: "ops", ClientIP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if pub.Before.ID != before.RulesVersion || !pub.After.ValidFrom.Equal(clk.now()) {
		t.Fatalf("published %+v over %d", pub, before.RulesVersion)
	}
	after, err := f.service.Quote(f.ctx, u.ID, "alipay", "68")
	if err != nil || after.TierBonus != 13_60 || after.FirstBonus != 20_00 || after.RulesVersion != pub.After.ID {
		t.Fatalf("a new quote after the publish: %+v, %v", after, err)
	}
	// The publish and its before and after values are in the audit log.
	var row struct {
		Action string `db:"action"`
		Before []byte `db:"before"`
		After  []byte `db:"after"`
	}
	if err := f.store.DB().GetContext(f.ctx, &row, `SELECT action, before, after FROM audit_log`); err != nil {
		t.Fatal(err)
	}
	var a struct {
		Version int64 `json:"version"`
		Rules   Rules `json:"rules"`
	}
	if err := json.Unmarshal(row.After, &a); err != nil || row.Action != "promotion.rules_publish" ||
		a.Version != pub.After.ID || a.Rules.FirstBonus != 20_00 {
		t.Fatalf("audit line %s %s %s: %v", row.Action, row.Before, row.After, err)
	}
}

func TestAnOrderQuotedBeforeAChangeKeepsItsTermsWithinTheQuoteLifetime(t *testing.T) {
	f, clk := newRulesFixture(t)
	u := f.user("kept")
	q, err := f.service.Quote(f.ctx, u.ID, "alipay", "328")
	if err != nil {
		t.Fatal(err)
	}
	clk.add(time.Minute)
	// Staff make the bonuses smaller after the person saw the quote.
	poorer := DefaultRules()
	poorer.Tiers, poorer.FirstBonus = nil, 0
	if _, err := f.service.PublishRules(f.ctx, poorer, time.Time{}, 0, audit.Entry{StaffName: "ops"}); err != nil {
		t.Fatal(err)
	}
	clk.add(QuoteLifetime - time.Second)
	o, err := f.service.CreateOrder(f.ctx, NewOrder{UserID: u.ID, Method: "alipay", Amount: "328",
		Device: payment.Desktop, RequestKey: "kept-key-000000000", RulesVersion: q.RulesVersion})
	if err != nil {
		t.Fatal(err)
	}
	if o.TierBonus != 32_80 || o.FirstBonus != 6_00 || o.RulesVersion.Int64 != q.RulesVersion {
		t.Fatalf("order under the first version: %+v", o)
	}
	// Crediting pays the order's own bonus, not the rules now in force.
	paid, err := f.service.Settle(f.ctx, payment.Alipay, payment.Result{OutTradeNo: o.OutTradeNo, TradeNo: "T-kept",
		Status: payment.StatusPaid, Amount: o.PayAmount, Currency: o.PayCurrency, Final: true}, nil)
	if err != nil || paid.State != OrderPaid {
		t.Fatalf("settle: %+v, %v", paid, err)
	}
	walletID, err := f.service.ledger.WalletOf(f.ctx, f.store.DB(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if bal, err := f.service.ledger.Balance(f.ctx, walletID); err != nil || bal != 328_00+32_80+6_00 {
		t.Fatalf("balance %d, %v; want the amount with the first version's bonuses", bal, err)
	}

	// Past the lifetime the old version is refused: the person is told.
	clk.add(2 * time.Second)
	_, err = f.service.CreateOrder(f.ctx, NewOrder{UserID: u.ID, Method: "alipay", Amount: "328",
		Device: payment.Desktop, RequestKey: "late-key-000000000", RulesVersion: q.RulesVersion})
	if !errors.Is(err, ErrTermsChanged) {
		t.Fatalf("an order on a stale quote: %v, want ErrTermsChanged", err)
	}
	// ...while a repeated submit of the order already made still finds it.
	again, err := f.service.CreateOrder(f.ctx, NewOrder{UserID: u.ID, Method: "alipay", Amount: "328",
		Device: payment.Desktop, RequestKey: "kept-key-000000000", RulesVersion: q.RulesVersion})
	if err != nil || again.ID != o.ID {
		t.Fatalf("the same request key: %+v, %v", again, err)
	}
}

// The outsider's first try: edit the hidden version to an old generous one,
// or to one that is only scheduled.
func TestAFormCannotPickAnOldOrScheduledVersion(t *testing.T) {
	f, clk := newRulesFixture(t)
	u := f.user("forger")
	generous, err := f.service.PublishRules(f.ctx, richer(), time.Time{}, 0, audit.Entry{StaffName: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	clk.add(time.Hour)
	if _, err := f.service.PublishRules(f.ctx, DefaultRules(), time.Time{}, 0, audit.Entry{StaffName: "ops"}); err != nil {
		t.Fatal(err)
	}
	clk.add(QuoteLifetime)
	scheduled, err := f.service.PublishRules(f.ctx, richer(), clk.since(24*time.Hour), 0, audit.Entry{StaffName: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []int64{generous.After.ID, scheduled.After.ID, 999_999, -1} {
		_, err := f.service.CreateOrder(f.ctx, NewOrder{UserID: u.ID, Method: "alipay", Amount: "68",
			Device: payment.Desktop, RequestKey: "forged-key-00000000" + string(rune('a'+i)), RulesVersion: v})
		if !errors.Is(err, ErrTermsChanged) {
			t.Errorf("version %d: %v, want ErrTermsChanged", v, err)
		}
	}
}

func TestAScheduledVersionAppliesOnlyWhenTheClockReachesIt(t *testing.T) {
	f, clk := newRulesFixture(t)
	u := f.user("scheduled")
	start := clk.since(2 * time.Hour)
	pub, err := f.service.PublishRules(f.ctx, richer(), start, 0, audit.Entry{StaffName: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	q, err := f.service.Quote(f.ctx, u.ID, "alipay", "68")
	if err != nil || q.TierBonus != 3_40 || q.RulesVersion == pub.After.ID {
		t.Fatalf("a quote before the start: %+v, %v", q, err)
	}
	clk.set(start.Add(-time.Microsecond)) // the database keeps microseconds
	if q, _ = f.service.Quote(f.ctx, u.ID, "alipay", "68"); q.RulesVersion == pub.After.ID {
		t.Fatalf("in force a microsecond early: %+v", q)
	}
	clk.set(start) // within the cache's TTL: the scheduled start still counts
	q, err = f.service.Quote(f.ctx, u.ID, "alipay", "68")
	if err != nil || q.TierBonus != 13_60 || q.FirstBonus != 20_00 || q.RulesVersion != pub.After.ID {
		t.Fatalf("a quote at the start: %+v, %v", q, err)
	}
	// The first-recharge bonus goes away with a paid top-up; the tier stays.
	o, err := f.service.CreateOrder(f.ctx, NewOrder{UserID: u.ID, Method: "alipay", Amount: "68",
		Device: payment.Desktop, RequestKey: "sched-key-00000000", RulesVersion: q.RulesVersion})
	if err != nil || o.FirstBonus != 20_00 || o.TierBonus != 13_60 {
		t.Fatalf("order: %+v, %v", o, err)
	}
	if _, err := f.service.Settle(f.ctx, payment.Alipay, payment.Result{OutTradeNo: o.OutTradeNo, TradeNo: "T-s",
		Status: payment.StatusPaid, Amount: o.PayAmount, Currency: o.PayCurrency, Final: true}, nil); err != nil {
		t.Fatal(err)
	}
	if q, err = f.service.Quote(f.ctx, u.ID, "alipay", "328"); err != nil || q.FirstBonus != 0 || q.TierBonus != 65_60 {
		t.Fatalf("a second top-up: %+v, %v", q, err)
	}
}

func TestPublishRefusesRulesThatDoNotHoldTogether(t *testing.T) {
	f, _ := newRulesFixture(t)
	cases := []struct {
		name  string
		edit  func(*Rules)
		field string
		code  string
	}{
		{"presets out of order", func(r *Rules) { r.Presets = []wallet.Money{30_00, 6_00} }, "presets", "rules.presets_order"},
		{"no presets", func(r *Rules) { r.Presets = nil }, "presets", "rules.presets_count"},
		{"a preset no method accepts", func(r *Rules) { r.Presets = []wallet.Money{6_00, 90_000_00} }, "presets", "rules.preset_limits"},
		{"a limit with min above max", func(r *Rules) { r.Limits[payment.WeChat] = Limit{Min: 100_00, Max: 10_00} }, "limit_wechat", "rules.limit_order"},
		{"a zero minimum", func(r *Rules) { r.Limits[payment.Card] = Limit{Min: 0, Max: 10_00} }, "limit_card", "rules.limit_range"},
		{"a method left out", func(r *Rules) { delete(r.Limits, payment.PayPal) }, "limit_paypal", "rules.limit_missing"},
		{"a daily limit below one order", func(r *Rules) { r.DailyMax = 10_000_00 }, "daily_max", "rules.daily_max"},
		{"tiers out of order", func(r *Rules) { r.Tiers = []BonusTier{{328_00, 1000}, {68_00, 500}} }, "tiers", "rules.tiers_order"},
		{"a larger tier at a smaller rate", func(r *Rules) { r.Tiers = []BonusTier{{68_00, 1000}, {328_00, 500}} }, "tiers", "rules.tiers_rate"},
		{"a 500% bonus", func(r *Rules) { r.Tiers = []BonusTier{{68_00, 50_000}} }, "tiers", "rules.tier_percent"},
		{"a negative first bonus", func(r *Rules) { r.FirstBonus = -1 }, "first_bonus", "rules.first_bonus"},
	}
	for _, c := range cases {
		r := DefaultRules()
		r.Limits = map[payment.Method]Limit{}
		for m, l := range DefaultRules().Limits {
			r.Limits[m] = l
		}
		c.edit(&r)
		_, err := f.service.PublishRules(f.ctx, r, time.Time{}, 0, audit.Entry{StaffName: "ops"})
		var p *problem.Problem
		if !errors.As(err, &p) || !hasProblem(err, c.field, c.code) {
			t.Errorf("%s: %v, want %s on %s", c.name, err, c.code, c.field)
		}
	}
	vs, err := f.service.RuleVersions(f.ctx, 10)
	if err != nil || len(vs) != 1 {
		t.Fatalf("refusals published something: %d versions, %v", len(vs), err)
	}
	var n int
	if err := f.store.DB().GetContext(f.ctx, &n, `SELECT count(*) FROM audit_log`); err != nil || n != 0 {
		t.Fatalf("refusals audited as publishes: %d, %v", n, err)
	}
}

// hasProblem finds a problem with field and code in a joined error.
func hasProblem(err error, field, code string) bool {
	if p, ok := err.(*problem.Problem); ok {
		return p.Field == field && p.Code == code
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if hasProblem(e, field, code) {
				return true
			}
		}
	}
	return false
}

func TestVersionsCannotBeEditedOrDeleted(t *testing.T) {
	f, _ := newRulesFixture(t)
	for _, q := range []string{`UPDATE recharge_rule_versions SET rules = '{}'`, `DELETE FROM recharge_rule_versions`} {
		if _, err := f.store.DB().ExecContext(f.ctx, q); err == nil {
			t.Errorf("%s: accepted", q)
		}
	}
}

func TestTheRulesFormRoundTrips(t *testing.T) {
	r := DefaultRules()
	r.Tiers = append(r.Tiers, BonusTier{Min: 648_00, BasisPoints: 1250})
	got, err := ParseRulesForm(FormOfRules(r))
	r.Lifetime = 0
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("round trip: %+v, %v; want %+v", got, err, r)
	}
	bad := FormOfRules(r)
	bad.Tiers, bad.Presets = "68:abc", "6, x"
	_, err = ParseRulesForm(bad)
	if !hasProblem(err, "tiers", "rules.tiers_syntax") || !hasProblem(err, "presets", "rules.presets_syntax") {
		t.Fatalf("unreadable form: %v", err)
	}
}
