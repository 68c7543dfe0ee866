package console

import (
	"bytes"
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"

	"im2pay/payment"
	"im2pay/people"
	"im2pay/recharge"
	"im2pay/views/i18n"
	"im2pay/wallet"
)

// renderOrdersPage renders c for a reader of lang in Beijing time.
func renderOrdersPage(t *testing.T, lang i18n.Lang, c templ.Component) string {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := c.Render(i18n.WithLocale(context.Background(), lang, loc), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func sampleTimeline() recharge.Timeline {
	at := time.Date(2026, 11, 24, 6, 5, 9, 0, time.UTC) // 14:05:09 in Beijing
	o := recharge.Order{ID: 7, OutTradeNo: "20261124060509ABCDEFGH", UserID: 42, Method: "alipay", Amount: 68_00,
		TierBonus: 3_40, FirstBonus: 6_00, Currency: "CNY", PayCurrency: "CNY", State: recharge.OrderPaid,
		ProviderTradeNo: sql.NullString{String: "2026112422001", Valid: true}, CreatedAt: at, ExpiresAt: at.Add(30 * time.Minute)}
	return recharge.Timeline{
		Order:  recharge.FoundOrder{Order: o, Username: "alice"},
		States: []recharge.StateChange{{To: "awaiting", At: at}, {From: "awaiting", To: "paid", At: at.Add(time.Minute)}},
		Events: []recharge.PaymentEvent{
			{Kind: "start", Verified: true, CreatedAt: at},
			{Kind: "notify", Verified: false, Detail: "bad signature", Body: `<script>alert(1)</script>&sign=x`, CreatedAt: at},
		},
		Transactions: []recharge.LedgerTransaction{{ID: 3, Key: "topup:" + o.OutTradeNo, Kind: "topup", At: at,
			Entries: []recharge.LedgerEntry{{Account: "clearing:alipay", Amount: -68_00},
				{Account: "wallet:alice", Amount: 68_00, BalanceAfter: sql.NullInt64{Int64: 68_00, Valid: true}}}}},
		Others: []recharge.Order{{OutTradeNo: "20261120010101ZZZZZZZZ", Method: "wechat", Amount: 6_00, State: "closed", CreatedAt: at}},
	}
}

func TestTheOrderPageShowsTheTimelineInBothLanguagesWithThePayloadEscaped(t *testing.T) {
	for _, c := range []struct {
		lang  i18n.Lang
		words []string
	}{
		{i18n.ZH, []string{"状态变化", "支付机构往来记录", "未通过验证", "补单", "已向支付宝查询：已付款，已入账（2026-11-24 14:05:09）"}},
		{i18n.EN, []string{"State changes", "Provider timeline", "not verified", "Re-query", "Asked Alipay: paid, credited (2026-11-24 14:05:09)"}},
	} {
		at := time.Date(2026, 11, 24, 6, 5, 9, 0, time.UTC)
		v := OrderView{Timeline: sampleTimeline(), CanRequery: true, CSRF: "tok-123",
			Answer: &recharge.Answer{Method: "alipay", Said: "paid", At: at, Provider: payment.Result{Status: payment.StatusPaid}}}
		page := renderOrdersPage(t, c.lang, Order(v))
		for _, w := range append(c.words, `data-testid="ops-order-payload"`, `name="_csrf" value="tok-123"`,
			`action="/ops/orders/20261124060509ABCDEFGH/requery"`, `data-said="paid"`, `data-to="paid"`, `data-state="paid"`,
			"wallet:alice", "¥68.00", "¥3.40", "¥6.00", "14:05:09") {
			if !strings.Contains(page, w) {
				t.Errorf("%s: %q missing", c.lang, w)
			}
		}
		if strings.Contains(page, "<script>alert") || strings.Contains(page, "@OrderStateLabel") || strings.Contains(page, "ops.order.") {
			t.Errorf("%s: raw payload, template text or a missing string in the page", c.lang)
		}
	}
	// A viewer has no 补单 button.
	if page := renderOrdersPage(t, i18n.ZH, Order(OrderView{Timeline: sampleTimeline()})); strings.Contains(page, "ops-order-requery-button") {
		t.Error("the 补单 button is shown to a role that may not use it")
	}
}

func TestTheOrdersPageKeepsTheFilterInItsNextPageAndCSVLinks(t *testing.T) {
	f := recharge.OrderFilter{Username: "alice", State: "paid", From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	o := sampleTimeline().Order
	v := OrdersView{Query: f.Query(), Filter: f, Page: &recharge.OrderPage{Orders: []recharge.FoundOrder{o}, Next: 77}}
	page := renderOrdersPage(t, i18n.EN, Orders(v))
	for _, w := range []string{
		`href="/ops/orders?before=77&amp;from=2026-11-01&amp;state=paid&amp;username=alice"`,
		`href="/ops/orders.csv?from=2026-11-01&amp;state=paid&amp;username=alice"`,
		`href="/ops/orders/20261124060509ABCDEFGH"`, `href="/ops/people/42"`, "Provider trade number", `value="alice"`,
	} {
		if !strings.Contains(page, w) {
			t.Errorf("%q missing", w)
		}
	}
	if q := QueryFromURL(SearchQuery(recharge.OrderQuery{Username: "a", Before: "9"})); q.Username != "a" || q.Before != "9" {
		t.Errorf("round trip: %+v", q)
	}
}

func TestThePersonAndMaintenancePagesSpeakBothLanguages(t *testing.T) {
	now := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	p := people.Person{ID: 42, Username: "alice", Balance: 89_60, Since: now, MemberUntil: now.AddDate(0, 1, 0), Member: true,
		Lines:    []wallet.Record{{ID: 1, At: now, Kind: "topup", Description: "topup_alipay", Amount: 68_00, BalanceAfter: 68_00}},
		Sessions: []people.Session{{PublicID: 5, ClientIP: "203.0.113.7", UserAgent: "Firefox", LastSeenAt: now}}}
	ended := 2
	for _, lang := range []i18n.Lang{i18n.ZH, i18n.EN} {
		page := renderOrdersPage(t, lang, Person(PersonView{Person: &p, CanEndSessions: true, CSRF: "tok", Ended: &ended}))
		for _, w := range []string{`action="/ops/people/42/sessions/end"`, `data-testid="ops-person-ended"`, "¥89.60", "203.0.113.7"} {
			if !strings.Contains(page, w) {
				t.Errorf("%s person: %q missing", lang, w)
			}
		}
		mv := MaintenanceView{CanEdit: true, CSRF: "tok", Switches: MaintenanceSwitches([]recharge.Maintenance{
			{Method: "card", Message: "银联升级", MessageEN: "UnionPay upgrade", Until: sql.NullTime{Time: now, Valid: true}}})}
		page += renderOrdersPage(t, lang, Maintenance(mv))
		for _, w := range []string{`data-testid="ops-maintenance-card" data-on="true"`, `data-testid="ops-maintenance-all" data-on="false"`,
			`value="UnionPay upgrade"`, `value="2026-11-24T14:00"`, `action="/ops/maintenance/all-off"`} {
			if !strings.Contains(page, w) {
				t.Errorf("%s maintenance: %q missing", lang, w)
			}
		}
		if strings.Contains(page, "ops.person.") || strings.Contains(page, "ops.maintenance.") {
			t.Errorf("%s: a string is missing from the catalog", lang)
		}
	}
}

// TestTheOrderTimelineNamesOurRefundCalls: package refund's calls to the
// provider (recharge.EventRefund, EventRefundQuery) show on the order page
// under their own names, in both languages.
func TestTheOrderTimelineNamesOurRefundCalls(t *testing.T) {
	tl := sampleTimeline()
	at := tl.Events[0].CreatedAt
	tl.Events = append(tl.Events,
		recharge.PaymentEvent{Kind: recharge.EventRefund, Status: "error", Detail: "request R1 amount 2000 CNY: connection lost", CreatedAt: at},
		recharge.PaymentEvent{Kind: recharge.EventRefundQuery, Verified: true, Status: "succeeded", Body: `{"request":{}}`, CreatedAt: at})
	for lang, words := range map[i18n.Lang][]string{
		i18n.ZH: {"退款请求", "退款查询"},
		i18n.EN: {"Refund request", "Refund query"},
	} {
		page := renderOrdersPage(t, lang, Order(OrderView{Timeline: tl}))
		for _, w := range append(words, `data-kind="refund"`, `data-kind="refund_query"`, "request R1 amount 2000 CNY: connection lost") {
			if !strings.Contains(page, w) {
				t.Errorf("%s: %q missing", lang, w)
			}
		}
		if strings.Contains(page, "ops.order.") {
			t.Errorf("%s: a missing string in the page", lang)
		}
	}
}
