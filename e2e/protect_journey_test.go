package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// protectLanguage is what the protection journey reads, written out here
// so that a wrong or missing translation fails.
type protectLanguage struct {
	giftLarge   string // the confirmation of ¥394.20
	giftConfirm string
	giftSent    string
	protectLink string
	capsSaved   string
	capNow5     string
	shopRefused string // the daily cap of ¥5.00 refusing ¥12.00
	minorsOn    string
	minorsOff   string
	giftsOff    string
	pinWrong    string
}

var protectLanguages = map[string]protectLanguage{
	"zh-CN": {
		giftLarge:   "这份礼物合计 ¥394.20，超过你设置的确认金额，确认后才会送出。",
		giftConfirm: "确认赠送 ¥394.20",
		giftSent:    "礼物已送出。",
		protectLink: "消费保护：消费与充值上限、青少年模式",
		capsSaved:   "上限已保存。调高的上限 24 小时后生效。",
		capNow5:     "当前：¥5.00",
		shopRefused: "这笔消费会超过你设置的每日消费上限 ¥5.00（今日还可用 ¥5.00）。",
		minorsOn:    "青少年模式已开启",
		minorsOff:   "青少年模式已关闭。",
		giftsOff:    "青少年模式下不能给他人送礼物。",
		pinWrong:    "监护人密码不正确，还可再试 4 次",
	},
	"en": {
		giftLarge:   "This gift totals ¥394.20, above the amount you asked to confirm; it is sent only once you confirm.",
		giftConfirm: "Confirm and send ¥394.20",
		giftSent:    "Your gift has been sent.",
		protectLink: "Spending protection: caps and minors' mode",
		capsSaved:   "Caps saved. A raised cap takes effect after 24 hours.",
		capNow5:     "Now: ¥5.00",
		shopRefused: "This would pass the daily spending cap you set, ¥5.00 (¥5.00 left today).",
		minorsOn:    "Minors' mode is on",
		minorsOff:   "Minors' mode is off.",
		giftsOff:    "Gifts to others are off in minors' mode.",
		pinWrong:    "Wrong guardian PIN; 4 tries left",
	},
}

// TestProtectJourneys: a large gift shows its total live and is sent only
// after its confirmation; a daily cap set on the protection page refuses a
// purchase in the shop; minors' mode turns gifts off and is turned off
// only with the guardian PIN. Desktop and phone, Chinese and English, one
// browser, a site per variant. Screenshots: out/protect/<variant>/.
func TestProtectJourneys(t *testing.T) {
	browserCtx := startBrowser(t)
	start := time.Now()
	defer func() { t.Logf("protect journeys took %s", time.Since(start).Round(100*time.Millisecond)) }()
	t.Run("protect", func(t *testing.T) {
		for _, v := range []variant{
			{dev: desktop, lang: zhCN, accept: "zh-CN,zh;q=0.9"},
			{dev: desktop, lang: en, accept: "en-US,en;q=0.9"},
			{dev: phone, lang: zhCN, accept: "zh-CN,zh;q=0.9"},
			{dev: phone, lang: en, accept: "en-US,en;q=0.9"},
		} {
			t.Run(v.dev.name+"/"+v.lang.tag, func(t *testing.T) {
				s := newPaySite(t)
				protectJourney(newSpendPage(t, s, browserCtx, v), protectLanguages[v.lang.tag])
			})
		}
	})
}

func protectJourney(p *spendPage, l protectLanguage) {
	a := p.person("pa", 500_00)
	b := p.person("pb", 0)
	p.logIn(a)

	// A large gift: the total follows the choice and the quantity as they
	// are made, and the gift waits for its confirmation.
	p.visit("/gifts")
	castle := byTestID("gift-castle")
	p.press(chromedp.CSS(string(castle) + " + span"))
	p.waitFor("the castle to be chosen", `document.querySelector('[data-testid="gift-castle"]').checked`)
	p.fill(byTestID("gift-to"), b)
	p.typeInto(byTestID("gift-quantity"), "3")
	p.waitFor("the live total of 3 castles", `document.querySelector('[data-gift-total-sum]').textContent === "¥394.20"`)
	p.wantText(byTestID("gift-total"), "¥131.40")
	p.snap("gift-total")
	p.press(byTestID("gift-submit"))
	p.waitFor("the confirmation", `!!document.querySelector('[data-testid="gift-confirm-box"]')`)
	p.wantText(byTestID("gift-confirm-box"), l.giftLarge)
	p.wantText(byTestID("gift-confirm"), l.giftConfirm)
	p.wantMoney(chromedp.CSS(`[data-testid="gifts-balance"] [data-fen]`), 500_00)
	p.snap("gift-confirm")
	p.follow(byTestID("gift-confirm"), "/gifts")
	p.wantText(byTestID("flash"), l.giftSent)
	p.wantMoney(chromedp.CSS(`[data-testid="gifts-balance"] [data-fen]`), 105_80)

	// A daily cap of ¥5.00, set from the settings page, refuses ¥12.00 in
	// the shop on the server.
	p.visit("/account/settings")
	p.wantText(byTestID("protection-link"), l.protectLink)
	p.follow(byTestID("protection-link"), "/account/protection")
	p.fill(byTestID("cap-spend_day"), "5")
	p.follow(byTestID("caps-save"), "/account/protection")
	p.wantText(byTestID("flash"), l.capsSaved)
	p.wantText(byTestID("cap-now-spend_day"), l.capNow5)
	p.snap("caps")
	p.visit("/shop")
	p.refusal("/shop/buy")
	p.follow(byTestID("buy-premium_1m"), "/shop/buy")
	p.wantText(byTestID("pending"), l.shopRefused)
	p.wantMoney(shopBalance, 105_80)
	p.snap("shop-cap")

	// Minors' mode: on with a PIN, gifts off, off only with the PIN.
	p.visit("/account/protection")
	p.fill(byTestID("minors-pin"), "246801")
	p.fill(byTestID("minors-pin_again"), "246801")
	p.follow(byTestID("minors-on"), "/account/protection")
	p.wantText(byTestID("minors-state"), l.minorsOn)
	p.snap("minors-on")
	p.visit("/gifts")
	p.press(chromedp.CSS(`[data-testid="gift-rose"] + span`))
	p.fill(byTestID("gift-to"), b)
	p.refusal("/gifts")
	p.press(byTestID("gift-submit"))
	p.waitFor("the refusal", `!!document.querySelector('[data-testid="form-error"]')`)
	p.wantText(byTestID("form-error"), l.giftsOff)
	p.snap("minors-gift")
	p.visit("/account/protection")
	p.fill(byTestID("minors-pin"), "111111")
	p.refusal("/account/protection/minors/off")
	p.follow(byTestID("minors-off"), "/account/protection/minors/off")
	p.wantText(byTestID("pin-error"), l.pinWrong)
	p.wantText(byTestID("minors-state"), l.minorsOn)
	p.fill(byTestID("minors-pin"), "246801")
	p.follow(byTestID("minors-off"), "/account/protection")
	p.wantText(byTestID("flash"), l.minorsOff)
	p.snap("minors-off")
}

// refusal expects the 422 of a refused form at path, which the browser
// logs as a failed load.
func (p *spendPage) refusal(path string) {
	p.probs.expect("the refusal's 422 at "+path, 1, func(pr problem) bool {
		return pr.kind == "log.network" && strings.HasSuffix(pr.url, path) && strings.Contains(pr.text, "422")
	})
}
