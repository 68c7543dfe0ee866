package e2e

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"im2pay/payment"
	"im2pay/recharge"
	"im2pay/staff"
	"im2pay/wallet"
)

// promotionJourney: an admin changes the first top-up bonus in the
// console, watching the live preview, and publishes it. A person who had
// the confirm page open before the change pays under the terms they were
// shown; a new quote shows the new bonus. The zh-CN and en variants share
// one site, so every figure comes from the rules in force when the variant
// starts, never from the seed.
func promotionJourney(t *testing.T, s *paySite, p *page, v variant) {
	ctx := context.Background()
	before, err := s.recharge.CurrentRules(ctx)
	if err != nil {
		t.Fatalf("rules in force: %v", err)
	}
	const amount = wallet.Money(68_00)
	if !slices.Contains(before.Rules.Presets, amount) {
		t.Fatalf("¥68 is no preset of the rules in force (version %d)", before.ID)
	}
	next := before.Rules
	next.FirstBonus = before.Rules.FirstBonus + 5_00
	oldQuote := recharge.Preview(before.Rules, amount, payment.Alipay, true)
	newQuote := recharge.Preview(next, amount, payment.Alipay, true)

	// The person, in a tab of their own, reaches the confirm page first.
	tab, probs := openTab(t, p.ctx, v.dev, v.accept)
	person := &payPage{page: &page{t: t, ctx: tab, base: s.url, width: v.dev.width, out: p.out, probs: probs},
		s: s, browserCtx: p.ctx}
	excuseSandboxFavicon(s, probs)
	t.Cleanup(person.checkProblems)
	name := person.signUp(v, "promo")
	person.openRecharge()
	person.markDocument()
	person.chooseMethod("alipay")
	person.choosePreset(amount.Yuan())
	person.waitPreview("the preview", payLang(v).youReceive)
	person.wantText(byTestID("quote-receive"), oldQuote.Total().String())
	person.snap("person-recharge-before")

	// The admin opens the promotions page and sees the preview.
	p.staffLogin(s.site, staff.Admin, v, "promo")
	p.follow(chromedp.CSS(`nav a[href="/ops/promotions"]`), "/ops/promotions")
	p.wantText(byTestID("promo-first-bonus"), before.Rules.FirstBonus.String())
	if !p.present(byTestID("promo-preview")) {
		p.fail("the promotions page shows no preview")
	}
	// As a first top-up, with the new first bonus typed in: the preview
	// shows the bonus now and under the new rules, without a reload.
	p.markDocument()
	p.press(chromedp.CSS(`input[name="preview_first"]`))
	p.do("clear the first bonus", chromedp.Clear(chromedp.CSS(`input[name="first_bonus"]`)))
	p.fill(chromedp.CSS(`input[name="first_bonus"]`), next.FirstBonus.Yuan())
	row := byTestID("preview-" + amount.Yuan())
	p.waitFor("the preview of the new first bonus", fmt.Sprintf(
		`(e => e && e.innerText.includes(%q) && e.innerText.includes(%q))(document.querySelector(%q))`,
		"+"+oldQuote.Bonus().String(), "+"+newQuote.Bonus().String(), string(row)))
	if !p.sameDocument() {
		p.fail("the preview reloaded the page instead of updating in place")
	}
	p.snap("promo-preview")
	p.follow(byTestID("rules-publish"), "/ops/promotions")
	p.wantText(byTestID("promo-first-bonus"), next.FirstBonus.String())
	after, err := s.recharge.CurrentRules(ctx)
	if err != nil || after.ID == before.ID || after.Rules.FirstBonus != next.FirstBonus {
		p.fail("rules in force after the publish: version %d (was %d), first bonus %s (%v)",
			after.ID, before.ID, after.Rules.FirstBonus, err)
	}
	p.wantText(chromedp.CSS(`[data-testid="promo-version-`+strconv.FormatInt(after.ID, 10)+`"][data-state="current"]`), strconv.FormatInt(after.ID, 10))
	p.snap("promo-published")

	// The page the person had open keeps the terms it showed.
	person.pressAndLeave(byTestID("recharge-next"))
	person.waitCashier(cashierAmountOf68("alipay"), false)
	no := s.latestOrder(t, name)
	for col, want := range map[string]wallet.Money{"first_bonus": oldQuote.FirstBonus, "tier_bonus": oldQuote.TierBonus} {
		if got := s.orderColumn(t, no, col); got != strconv.FormatInt(int64(want), 10) {
			t.Fatalf("order %s: %s = %s, want %d (the terms shown before the change)", no, col, got, want)
		}
	}
	if got := s.orderColumn(t, no, "rules_version"); got != strconv.FormatInt(before.ID, 10) {
		t.Fatalf("order %s was priced under version %s, want %d", no, got, before.ID)
	}
	// A new quote shows the new bonus.
	person.visit("/recharge")
	person.markDocument()
	person.chooseMethod("alipay")
	person.choosePreset(amount.Yuan())
	person.waitFor("the new quote", fmt.Sprintf(`(e => e && e.innerText.trim() === %q)(document.querySelector(%q))`,
		newQuote.Total().String(), string(byTestID("quote-receive"))))
	person.wantText(byTestID("quote-first-bonus"), next.FirstBonus.String())
	person.snap("person-new-quote")
}
