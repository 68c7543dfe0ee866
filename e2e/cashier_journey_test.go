package e2e

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"im2pay/payment"
	"im2pay/recharge"
)

// cashierLanguage is what the recharge page says, written out here (not
// looked up in the catalog) so that a wrong translation fails.
type cashierLanguage struct {
	tierBadge68  string // the ¥68 tile's 5%
	firstBadge   string // every tile of a person who never paid
	promo        string // the rules line
	leftToday    string
	reached      string
	purpose      string // a top-up for the premium month
	balanceLabel string
	large        string // the second look at a typed ¥6800
}

var cashierLanguages = map[string]cashierLanguage{
	"zh-CN": {
		tierBadge68:  "送¥3.40",
		firstBadge:   "首充+¥6",
		promo:        "充值优惠：满¥68送5%、满¥328送10%、首充送¥6",
		leftToday:    "今日还可充值 ¥100,000.00（每日上限 ¥100,000.00）",
		reached:      "已达每日上限 ¥100,000.00，明天再来充值吧。",
		purpose:      "本次充值用于购买：高级会员 · 1 个月。",
		balanceLabel: "当前余额",
		large:        "金额较大：¥6,800.00，高于最大档位 ¥648.00。",
	},
	"en": {
		tierBadge68:  "+¥3.40 bonus",
		firstBadge:   "+¥6 first top-up",
		promo:        "Bonuses: from ¥68, +5%; from ¥328, +10%; ¥6 extra on your first top-up",
		leftToday:    "You can top up ¥100,000.00 more today (daily limit ¥100,000.00).",
		reached:      "Daily limit of ¥100,000.00 reached: you can top up again tomorrow.",
		purpose:      "This top-up is for: Premium · 1 month.",
		balanceLabel: "Balance",
		large:        "A large amount: ¥6,800.00, above the largest preset of ¥648.00.",
	},
}

// TestCashierJourneys walks the recharge page as a new person at a desktop
// and a phone, in Chinese and English: the preset tiles with their bonus
// badges and the rules line, the highlight following a typed amount, the
// pay bar (fixed at the bottom of a phone, a tap target of at least 44px),
// today's allowance before and at the limit, the second look at a large
// amount, and what a shortfall top-up is for. Paying in one press is
// walked by the pay journeys.
func TestCashierJourneys(t *testing.T) {
	s := newPaySite(t)
	browserCtx := startBrowser(t)
	t.Run("cashier", func(t *testing.T) {
		for _, v := range []variant{
			{dev: desktop, lang: zhCN, accept: "zh-CN,zh;q=0.9"},
			{dev: phone, lang: zhCN, accept: "zh-CN,zh;q=0.9"},
			{dev: desktop, lang: en, accept: "en-US,en;q=0.9"},
			{dev: phone, lang: en, accept: "en-US,en;q=0.9"},
		} {
			t.Run(v.dev.name+"/"+v.lang.tag, func(t *testing.T) {
				cashierJourney(newPayPage(t, s, browserCtx, v), v)
			})
		}
	})
}

func cashierJourney(p *payPage, v variant) {
	l := cashierLanguages[v.lang.tag]
	name := p.signUp(v, "cash")
	p.openRecharge()

	// Amount first: the balance, the rules line, each tile's bonus.
	p.wantText(byTestID("recharge-balance"), l.balanceLabel)
	p.wantText(byTestID("recharge-balance"), "¥0.00")
	p.wantText(byTestID("promo-line"), l.promo)
	p.wantText(byTestID("badge-68.00"), l.tierBadge68)
	p.wantText(byTestID("first-badge-6.00"), l.firstBadge)
	if p.present(byTestID("badge-6.00")) {
		p.fail("the ¥6 tile shows a tier badge though no tier starts below ¥68")
	}
	p.wantText(byTestID("daily-left"), l.leftToday)
	if p.present(byTestID("daily-reached")) {
		p.fail("the page says the daily limit is reached before any top-up")
	}
	checkPayBar(p)
	p.snap("recharge")

	// A tile, then a typed amount equal to another tile, then one equal
	// to none: the highlight follows, and so does the bar.
	p.markDocument()
	p.choosePreset("68.00")
	p.waitBar("¥77.40")
	p.typeInto(byTestID("custom-amount"), "328")
	p.wantChosen("328.00")
	p.waitBar("¥366.80") // ¥328 + 10% + ¥6
	p.snap("typed-preset")
	p.retype(byTestID("custom-amount"), "100")
	p.wantChosen("")
	p.waitBar("¥111.00") // ¥100 + 5% + ¥6
	if !p.sameDocument() {
		p.fail("typing an amount reloaded the page")
	}
	p.snap("typed-custom")
	// Pressing a tile empties the typed box, which would otherwise win.
	p.choosePreset("30.00")
	if got := p.value(byTestID("custom-amount")); got != "" {
		p.fail("the typed box still holds %q after pressing the ¥30 tile", got)
	}
	p.waitBar("¥36.00")

	// A typed amount above every preset gets a second look before paying.
	p.retype(byTestID("custom-amount"), "6800")
	p.waitBar("¥7,486.00") // ¥6800 + 10% + ¥6
	p.follow(byTestID("recharge-next"), "/recharge/confirm")
	p.wantText(byTestID("second-look"), l.large)
	p.wantText(byTestID("quote-receive"), "¥7,486.00")
	if !p.present(byTestID("confirm-pay")) {
		p.fail("the second look offers no way to pay")
	}
	p.snap("second-look")

	// A top-up for a purchase says what it is for.
	p.visit("/recharge?amount=7.00&return_to=%2Fshop%3Fproduct%3Dpremium_1m")
	p.wantText(byTestID("recharge-purpose"), l.purpose)
	p.waitBar("¥13.00")
	p.snap("purpose")

	// Two open orders of ¥50,000 reach the day's limit: the page says so,
	// and only now.
	uid := p.s.userID(p.t, name)
	for i := range 2 {
		if _, err := p.s.recharge.CreateOrder(context.Background(), recharge.NewOrder{UserID: uid, Method: "alipay",
			Amount: "50000", Device: payment.Desktop, RequestKey: fmt.Sprintf("e2e-cashier-limit-%s-%d", name, i)}); err != nil {
			p.fail("order %d of ¥50000: %v", i, err)
		}
	}
	p.visit("/recharge")
	p.wantText(byTestID("daily-reached"), l.reached)
	if p.present(byTestID("daily-left")) {
		p.fail("the page still offers an allowance at the daily limit")
	}
	if !eval[bool](p.page, fmt.Sprintf(`document.querySelector(%q).disabled`, string(byTestID("recharge-next")))) {
		p.fail("the pay button works at the daily limit")
	}
	p.snap("limit-reached")
}

// retype empties a field as a person selecting its text and deleting it
// would (an input event), then types value.
func (p *payPage) retype(sel chromedp.CSS, value string) {
	p.t.Helper()
	eval[chromedp.Void](p.page, fmt.Sprintf(`(e => { e.value = ""; e.dispatchEvent(new Event("input", {bubbles: true})); })(document.querySelector(%q))`, string(sel)))
	p.typeInto(sel, value)
}

// waitBar waits for the pay bar to say what lands.
func (p *payPage) waitBar(receive string) {
	p.t.Helper()
	p.waitFor("the pay bar to show "+receive, fmt.Sprintf(`(e => e && e.innerText.trim() === %q)(document.querySelector(%q))`,
		receive, string(byTestID("bar-receive"))))
}

// wantChosen checks which tile is highlighted ("" none, and the typed box
// instead).
func (p *payPage) wantChosen(yuan string) {
	p.t.Helper()
	got := eval[string](p.page, `(e => e ? e.value : "")(document.querySelector('input[name="amount"]:checked'))`)
	if got != yuan {
		p.fail("tile %q is chosen, want %q", got, yuan)
	}
	active := p.attr(byTestID("custom-box"), "data-active")
	if want := fmt.Sprint(yuan == ""); active != want {
		p.fail("the typed box's highlight is %s, want %s", active, want)
	}
	if yuan != "" {
		border := eval[string](p.page, fmt.Sprintf(`getComputedStyle(document.querySelector(%q)).borderColor`, string(byTestID("tile-"+yuan))))
		if border == "rgb(226, 232, 240)" { // slate-200: not highlighted
			p.fail("tile %s is chosen but not highlighted (border %s)", yuan, border)
		}
	}
}

// checkPayBar: on a phone the bar is fixed to the bottom of the screen and
// its button is a tap target of at least 44px; on a desktop it sits in
// the page.
func checkPayBar(p *payPage) {
	p.t.Helper()
	type box struct {
		Position      string
		Bottom, Inner float64
		Button        float64
	}
	b := eval[box](p.page, fmt.Sprintf(`(bar => ({Position: getComputedStyle(bar).position,
		Bottom: bar.getBoundingClientRect().bottom, Inner: window.innerHeight,
		Button: document.querySelector(%q).getBoundingClientRect().height}))(document.querySelector(%q))`,
		string(byTestID("recharge-next")), string(byTestID("pay-bar"))))
	if b.Button < 44 {
		p.fail("the pay button is %.0fpx tall, want at least 44", b.Button)
	}
	if p.phone && (b.Position != "fixed" || b.Bottom < b.Inner-0.5 || b.Bottom > b.Inner+0.5) {
		p.fail("on a phone the pay bar is %s with its bottom at %.0f of %.0f, want fixed to the bottom", b.Position, b.Bottom, b.Inner)
	}
	if !p.phone && b.Position == "fixed" {
		p.fail("on a desktop the pay bar is fixed, want it in the page")
	}
	p.wantText(chromedp.CSS(string(byTestID("pay-bar"))), map[bool]string{true: "立即充值", false: "Top up now"}[p.attr(chromedp.CSS("html"), "lang") == "zh-CN"])
}
