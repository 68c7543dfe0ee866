package console

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/recharge"
	"im2pay/spend"
	"im2pay/views/i18n"
)

func render(t *testing.T, lang i18n.Lang, v PromotionsView) string {
	t.Helper()
	var b bytes.Buffer
	ctx := i18n.WithLocale(context.Background(), lang, time.UTC)
	if err := Promotions(v).Render(ctx, &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestThePreviewShowsWhatAPersonWouldSeeUnderBothRuleSets(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	cur := recharge.RuleVersion{ID: 1, Rules: recharge.DefaultRules()}
	next := recharge.DefaultRules()
	next.Tiers = []recharge.BonusTier{{Min: 68_00, BasisPoints: 2000}}
	v := PromotionsView{CSRF: "tok", CanEdit: true, Current: cur,
		Versions: VersionRows([]recharge.RuleVersion{{ID: 2, ValidFrom: now.Add(time.Hour), Rules: next}, cur}, 1, now, nil),
		Rules: RulesFormView{Action: "/ops/promotions/rules", PreviewAction: "/ops/promotions/preview",
			Form: recharge.FormOfRules(next), Preview: Preview(cur.Rules, &next, payment.Alipay, false)},
		Events: EventRows([]spend.EventRecord{{Event: spend.Event{Code: "spring_bonus", Kind: "spend_bonus",
			StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Hour), Threshold: 100_00, Bonus: 10_00,
			TitleZH: "春季奖励", TitleEN: "Spring bonus"}}}, now),
		EventForm: EventFormView{Action: "/ops/promotions/events", EndAction: "/ops/promotions/events/end"}}
	for _, lang := range i18n.Langs {
		html := render(t, lang, v)
		for _, want := range []string{`data-testid="preview-68.00"`, "¥71.40", "¥81.60", `data-state="scheduled"`,
			`data-testid="event-end-spring_bonus"`} {
			if !strings.Contains(html, want) {
				t.Errorf("%s: %s missing", lang, want)
			}
		}
		if strings.Contains(html, "ops.") || strings.Contains(html, "%!") {
			t.Errorf("%s: an untranslated key or a bad format in the page", lang)
		}
	}
	if html := render(t, i18n.EN, v); !strings.Contains(html, "Spring bonus") {
		t.Error("the staff-given English title is missing")
	}
	v.CanEdit = false
	if html := render(t, i18n.ZH, v); strings.Contains(html, `data-testid="rules-form"`) || strings.Contains(html, "event-end-") {
		t.Error("a viewer is shown the forms")
	}
}
