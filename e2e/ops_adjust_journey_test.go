package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"im2pay/staff"
)

// moneyLanguage is what the adjustment and redemption journeys read,
// written out here, not looked up in the catalog, so a missing
// translation fails.
type moneyLanguage struct {
	reason     string // the adjustment's reason, as a staff member types it
	requested  string // the notice on a request that waits
	ownRefused string // the asker's own approval refused
	approved   string // the second member's approval went through
	adjustDesc string // the person's history line, before the reason
	redeemed   string // the person's notice after redeeming
	used       string // the same code a second time
}

func moneyLang(v variant) moneyLanguage {
	if v.lang.tag == "en" {
		return moneyLanguage{reason: "Compensation for a late top-up", requested: "waiting for a second staff member",
			ownRefused: "You cannot decide an adjustment you requested.", approved: "Approved and posted.",
			adjustDesc: "Adjustment by support: ", redeemed: "Redeemed: the amount is in your balance.",
			used: "That code has already been used."}
	}
	return moneyLanguage{reason: "充值延迟到账补偿", requested: "等待另一名员工审批", ownRefused: "不能审批自己提交的调整。",
		approved: "已批准并入账。", adjustDesc: "客服调整：", redeemed: "兑换成功，金额已存入余额。", used: "该兑换码已被使用。"}
}

// otherTab opens a second tab of the variant with cookies of its own (a
// new browser context, as newPage's), from p's browser: another staff
// member, or the person. Its screenshots are numbered from first on, in
// p's folder.
func (p *page) otherTab(s *site, v variant, first int) *page {
	p.t.Helper()
	ctx, probs := openTab(p.t, p.ctx, v.dev, v.accept)
	q := &page{t: p.t, ctx: ctx, base: s.url, phone: v.dev.mobile, width: v.dev.width, out: p.out, shots: first,
		probs: probs}
	p.t.Cleanup(q.checkProblems)
	return q
}

// personLogIn logs name in on the person-facing login page.
func (p *page) personLogIn(name string) {
	p.t.Helper()
	p.visit("/login")
	p.fill(byID("username"), name)
	p.fill(byID("password"), password)
	p.follow(byTestID("login-submit"), "/account")
}

// adjustmentJourney: finance member A asks for a credit above
// OPS_APPROVAL_ABOVE; it waits, and A's own approval (forged, since the
// page offers none) is refused with the reason; finance member B, in a
// second tab, approves it; the person, in a third, reads the line with
// its reason in 余额明细 / Balance history.
func adjustmentJourney(t *testing.T, s *paySite, p *page, v variant) {
	l := moneyLang(v)
	name := uniqueName(t, v, "adj")
	s.register(t, name)

	p.staffLogin(s.site, staff.Finance, v, "adjA")
	p.follow(`nav a[href="/ops/adjustments"]`, "/ops/adjustments")
	p.fill(byID("adjust-user"), name)
	p.fill(byID("adjust-amount"), "600.00")
	p.fill(byID("adjust-reason"), l.reason)
	p.fill(byID("adjust-ticket"), "T-"+v.lang.tag)
	p.snap("adjust-form")
	p.follow(byTestID("adjust-submit"), "/ops/adjustments")
	p.wantText(byTestID("adjust-notice"), l.requested)
	item := fmt.Sprintf(`[...document.querySelectorAll('[data-testid="adjust-pending-item"]')].find(e => e.textContent.includes(%q))`, name)
	id := eval[string](p, item+`?.dataset.id ?? ""`)
	if id == "" {
		p.fail("the request for %s is not among the pending adjustments", name)
	}
	if !eval[bool](p, item+`.querySelector('[data-testid="adjust-own"]') !== null`) ||
		eval[bool](p, item+`.querySelector('[data-testid="adjust-approve"]') !== null`) {
		p.fail("the asker's own request offers them a decision")
	}
	p.snap("adjust-waiting")

	// A posts the approval anyway, as a form built in the page would.
	approve := "/ops/adjustments/" + id + "/approve"
	p.probs.expect("the refused approval's 409", 1, func(pr problem) bool {
		return pr.kind == "log.network" && strings.HasSuffix(pr.url, approve) && strings.Contains(pr.text, "409")
	})
	p.markDocument()
	eval[chromedp.Void](p, fmt.Sprintf(`(() => {
		const f = document.createElement("form");
		f.method = "post";
		f.action = %q;
		f.appendChild(document.querySelector('input[name="_csrf"]').cloneNode());
		document.body.appendChild(f);
		f.submit();
	})()`, approve))
	p.waitFor("the refused approval", fmt.Sprintf(`window.__e2eDocument === undefined && location.pathname === %q`, approve))
	p.ready()
	p.wantText(byTestID("adjust-refused"), l.ownRefused)
	p.snap("adjust-own-refused")

	// B, in a second tab, approves it.
	b := p.otherTab(s.site, v, 20)
	b.staffLogin(s.site, staff.Finance, v, "adjB")
	b.visit("/ops/adjustments")
	b.follow(chromedp.CSS(`form[action="`+approve+`"] button`), "/ops/adjustments")
	b.wantText(byTestID("adjust-decided"), l.approved)
	if b.present(chromedp.CSS(`[data-testid="adjust-pending-item"][data-id="` + id + `"]`)) {
		b.fail("the approved adjustment still waits")
	}
	b.snap("adjust-approved")

	// The person sees it, with its reason, in their history.
	who := p.otherTab(s.site, v, 40)
	who.personLogIn(name)
	who.wantText(byTestID("balance"), "600.00")
	who.visit("/history")
	who.wantText(chromedp.CSS("main h1"), v.lang.historyTitle)
	who.wantText(byTestID("history-list"), l.adjustDesc+l.reason)
	who.snap("history-adjustment")
}
