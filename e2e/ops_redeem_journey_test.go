package e2e

import (
	"strings"
	"testing"

	"im2pay/staff"
)

// redeemJourney: an operator generates a batch of three codes and reads
// one from the page that shows them once; a person redeems it at
// /account/redeem (credited, the balance up) and is refused the second
// time with the "used" message, in the variant's language.
func redeemJourney(t *testing.T, s *paySite, p *page, v variant) {
	l := moneyLang(v)
	name := uniqueName(t, v, "redeem")
	s.register(t, name)

	p.staffLogin(s.site, staff.Operator, v, "codes")
	p.follow(`nav a[href="/ops/redeem"]`, "/ops/redeem")
	p.fill(byID("batch-amount"), "8.88")
	p.fill(byID("batch-count"), "3")
	p.snap("batch-form")
	p.follow(byTestID("batch-submit"), "/ops/redeem/batches")
	if n := p.count(byTestID("code")); n != 3 {
		p.fail("the codes page shows %d codes, want 3", n)
	}
	if href := p.attr(byTestID("codes-csv"), "href"); !strings.HasPrefix(href, "data:text/csv") {
		p.fail("the CSV link is %.40q, want the file in the link", href)
	}
	code := p.text(byTestID("code"))
	p.snap("codes-shown")
	// The page's address opened again shows the list, no code.
	p.visit("/ops/redeem/batches")
	p.wantPath("/ops/redeem")
	if p.present(byTestID("code")) {
		p.fail("a code is shown again")
	}

	who := p.otherTab(s.site, v, 20)
	who.personLogIn(name)
	before := who.text(byTestID("balance"))
	who.visit("/account/redeem")
	who.fill(byTestID("redeem-code"), strings.ToLower(code))
	who.follow(byTestID("redeem-submit"), "/account/redeem")
	who.wantText(byTestID("flash"), l.redeemed)
	who.snap("redeemed")
	who.visit("/account")
	if after := who.text(byTestID("balance")); after == before || !strings.Contains(after, "8.88") {
		who.fail("balance %q after redeeming ¥8.88 (it was %q)", after, before)
	}

	// The same code again: refused in place (htmx swaps the 422's form).
	who.visit("/account/redeem")
	who.fill(byTestID("redeem-code"), code)
	who.probs.expect("the refused code's 422", 1, func(pr problem) bool {
		return pr.kind == "log.network" && strings.HasSuffix(pr.url, "/account/redeem") && strings.Contains(pr.text, "422")
	})
	who.markDocument()
	who.press(byTestID("redeem-submit"))
	who.waitFor("the refusal", existsJS(byTestID("code-error")))
	who.wantText(byTestID("code-error"), l.used)
	if !who.sameDocument() {
		who.fail("the refusal reloaded the page")
	}
	who.snap("redeem-used")
}
