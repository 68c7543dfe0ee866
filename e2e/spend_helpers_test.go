package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"im2pay/wallet"
)

// spendLanguage is what a person spending money reads: the shop, the
// shortfall box, gifts and the statement. Written out here, not looked up in
// the catalog, so that a wrong or missing translation fails.
type spendLanguage struct {
	navShop, navGifts, navHistory string
	shopTitle                     string
	premium1m                     string // the product's name
	bought                        string // the flash after a purchase
	memberUntil                   string // followed by the date
	notMember                     string
	purchaseKind, purchaseDesc    string // the ledger line of premium_1m
	shortfallTitle                string
	shortfallDetail               string // for ¥7.00
	topUp7, topUp30               string
	confirm12                     string
	backToPurchase                string
	giftsTitle                    string
	receivedTitle                 string
	from, to                      string
	roseTimes3                    string
	giftSent                      string
	receivedTotal3                string // ¥3.00 received in all
	giftKind                      string
	exportCSV, summaryLink        string
	summaryTitle                  string
	csvHeader                     []string
}

var spendLanguages = map[string]spendLanguage{
	"zh-CN": {
		navShop: "商城", navGifts: "礼物", navHistory: "余额明细",
		shopTitle:       "增值服务",
		premium1m:       "高级会员 · 1 个月",
		bought:          "购买成功！",
		memberUntil:     "高级会员，有效期至 ",
		notMember:       "还不是高级会员。",
		purchaseKind:    "购买",
		purchaseDesc:    "购买高级会员 1 个月",
		shortfallTitle:  "余额不足",
		shortfallDetail: "还差 ¥7.00。充值后会回到这里，购买尚未确认。",
		topUp7:          "充值 ¥7.00",
		topUp30:         "充值 ¥30.00",
		confirm12:       "确认支付 ¥12.00",
		backToPurchase:  "返回继续购买",
		giftsTitle:      "礼物",
		receivedTitle:   "收到的礼物",
		from:            "来自",
		to:              "送给",
		roseTimes3:      "玫瑰 × 3",
		giftSent:        "礼物已送出。",
		receivedTotal3:  "累计收到价值 ¥3.00 的礼物",
		giftKind:        "礼物",
		exportCSV:       "导出 CSV",
		summaryLink:     "月度汇总",
		summaryTitle:    "月度汇总",
		csvHeader:       []string{"时间", "类型", "说明", "金额（元）", "变动后余额（元）", "关联单号"},
	},
	"en": {
		navShop: "Shop", navGifts: "Gifts", navHistory: "History",
		shopTitle:       "Shop",
		premium1m:       "Premium · 1 month",
		bought:          "Purchase complete!",
		memberUntil:     "Premium member until ",
		notMember:       "Not a premium member yet.",
		purchaseKind:    "Purchase",
		purchaseDesc:    "Premium · 1 month",
		shortfallTitle:  "Not enough balance",
		shortfallDetail: "You need ¥7.00 more. After topping up you come back here; nothing is bought yet.",
		topUp7:          "Top up ¥7.00",
		topUp30:         "Top up ¥30.00",
		confirm12:       "Confirm and pay ¥12.00",
		backToPurchase:  "Back to your purchase",
		giftsTitle:      "Gifts",
		receivedTitle:   "Gifts received",
		from:            "From",
		to:              "To",
		roseTimes3:      "Rose × 3",
		giftSent:        "Your gift has been sent.",
		receivedTotal3:  "Gifts worth ¥3.00 received in total",
		giftKind:        "Gift",
		exportCSV:       "Export CSV",
		summaryLink:     "Monthly summary",
		summaryTitle:    "Monthly summary",
		csvHeader:       []string{"Time", "Kind", "Description", "Amount (CNY)", "Balance after (CNY)", "Reference"},
	},
}

// spendPage is one person's tab in the spending journeys: a payPage (for
// the top-up through the sandbox) that also notices JavaScript dialogs.
type spendPage struct {
	*payPage
	v       variant
	l       spendLanguage
	dialogs *dialogWatch
}

func newSpendPage(t *testing.T, s *paySite, browserCtx context.Context, v variant) *spendPage {
	t.Helper()
	l, ok := spendLanguages[v.lang.tag]
	if !ok {
		t.Fatalf("no spend strings for %s", v.lang.tag)
	}
	p := &spendPage{payPage: newPayPage(t, s, browserCtx, v), v: v, l: l}
	p.dialogs = watchDialogs(p.page)
	return p
}

// otherPerson is a second person at the same kind of device, in a browser
// context of their own (no shared cookies). Their screenshots go with this
// subtest's, numbered on from the first person's.
func (p *spendPage) otherPerson() *spendPage {
	p.t.Helper()
	ctx, probs := openTab(p.t, p.browserCtx, p.v.dev, p.v.accept)
	excuseSandboxFavicon(p.s, probs)
	q := &page{t: p.t, ctx: ctx, base: p.s.url, phone: p.v.dev.mobile, width: p.v.dev.width, out: p.out, shots: p.shots, probs: probs}
	p.t.Cleanup(q.checkProblems)
	o := &spendPage{payPage: &payPage{page: q, s: p.s, browserCtx: p.browserCtx}, v: p.v, l: p.l}
	o.dialogs = watchDialogs(q)
	return o
}

// person registers a new person (through the wallet, as a seed would) with
// balance fen granted, and returns the name.
func (p *spendPage) person(journey string, fen wallet.Money) string {
	p.t.Helper()
	name := uniqueName(p.t, p.v, journey)
	p.s.register(p.t, name)
	if fen > 0 {
		p.s.grant(p.t, p.s.userID(p.t, name), fen, name+":fund", "welcome_grant")
	}
	return name
}

// logIn logs name in through the login page and lands in the account
// center, in the variant's language.
func (p *spendPage) logIn(name string) {
	p.t.Helper()
	p.visit("/login")
	if got := p.attr(chromedp.CSS("html"), "lang"); got != p.v.lang.tag {
		p.fail("login page language is %q, want %q", got, p.v.lang.tag)
	}
	p.fill(byID("username"), name)
	p.fill(byID("password"), password)
	p.follow(byTestID("login-submit"), "/account")
}

// navTo follows the navigation bar's link to path, checking its label.
func (p *spendPage) navTo(path, label string) {
	p.t.Helper()
	link := chromedp.CSS(`nav a[href="` + path + `"]`)
	if got := p.text(link); got != label {
		p.fail("the navigation's link to %s says %q, want %q", path, got, label)
	}
	p.follow(link, path)
	if got := p.attr(link, "aria-current"); got != "page" {
		p.fail("the navigation does not mark %s as the current page (aria-current=%q)", path, got)
	}
}

// wantMoney checks a money element's amount (data-fen) and how it reads.
func (p *spendPage) wantMoney(sel chromedp.CSS, fen wallet.Money) {
	p.t.Helper()
	if got := p.attr(sel, "data-fen"); got != strconv.FormatInt(int64(fen), 10) {
		p.fail("%s data-fen = %q, want %d (shows %q)", sel, got, fen, p.text(sel))
	}
	if got := p.text(sel); got != fen.String() {
		p.fail("%s shows %q, want %q", sel, got, fen.String())
	}
}

// shopBalance is the balance beside the shop's title.
var shopBalance = chromedp.CSS(`main h1 + p [data-fen]`)

// shotsAfter carries the screenshot numbering on from q, so that two
// people's screenshots of one subtest stay in the order they were taken.
func (p *spendPage) shotsAfter(q *spendPage) { p.shots = q.shots }

// dateTimeRE is a date and time as the pages print them.
var dateTimeRE = regexp.MustCompile(`\d{4}-\d{2}-\d{2} \d{2}:\d{2}`)

// shownTime reads the date and time in text, in the site's zone.
func (p *spendPage) shownTime(text string) time.Time {
	p.t.Helper()
	m := dateTimeRE.FindString(text)
	if m == "" {
		p.fail("%q shows no date and time", text)
	}
	at, err := time.ParseInLocation("2006-01-02 15:04", m, shanghai())
	if err != nil {
		p.fail("read the time in %q: %v", text, err)
	}
	return at
}

func shanghai() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}

// download is a file fetched within the page, with the person's session:
// what a click on the link would save.
type download struct {
	Status      int
	Type        string
	Disposition string
	Body        []byte
}

// fetch GETs path from the page, as the page's own script would, and
// returns the raw bytes (not decoded text, which would hide a BOM).
func (p *spendPage) fetch(path string) download {
	p.t.Helper()
	type raw struct {
		Status      int
		Type        string
		Disposition string
		B64         string
	}
	js := fmt.Sprintf(`fetch(%q, {credentials: "same-origin"}).then(async r => {
		const bytes = new Uint8Array(await r.arrayBuffer());
		let bin = "";
		for (const b of bytes) bin += String.fromCharCode(b);
		return {Status: r.status, Type: r.headers.get("Content-Type") || "", Disposition: r.headers.get("Content-Disposition") || "", B64: btoa(bin)};
	})`, path)
	ctx, cancel := p.timeout()
	defer cancel()
	r, err := chromedp.Run(ctx, chromedp.Evaluate[raw](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.fail("fetch %s: %v", path, err)
	}
	body, err := base64.StdEncoding.DecodeString(r.B64)
	if err != nil {
		p.fail("decode the body of %s: %v", path, err)
	}
	return download{Status: r.Status, Type: r.Type, Disposition: r.Disposition, Body: body}
}

// parseYuan reads an amount as the CSV writes it ("12.50", "-3.05") into
// fen, refusing anything else (a currency sign, a thousands separator).
func parseYuan(s string) (wallet.Money, bool) {
	neg := strings.HasPrefix(s, "-")
	whole, frac, ok := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	if !ok || len(frac) != 2 || whole == "" {
		return 0, false
	}
	w, err1 := strconv.ParseUint(whole, 10, 63)
	f, err2 := strconv.ParseUint(frac, 10, 8)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	m := wallet.Money(w*100 + f)
	if neg {
		m = -m
	}
	return m, true
}

// dialogWatch notices JavaScript dialogs (alert, confirm, prompt) in a tab,
// answers them so the page is not left stalled, and remembers them: on our
// pages a dialog means script we did not write ran.
type dialogWatch struct {
	mu   sync.Mutex
	seen []string
}

func watchDialogs(p *page) *dialogWatch {
	p.t.Helper()
	d := &dialogWatch{}
	opened := make(chan struct{}, 16)
	err := chromedp.Listen(p.ctx, func(ev any) {
		if e, ok := ev.(*cdppage.EventJavascriptDialogOpening); ok {
			d.mu.Lock()
			d.seen = append(d.seen, fmt.Sprintf("%s(%q) on %s", e.Type, e.Message, e.URL))
			d.mu.Unlock()
			select {
			case opened <- struct{}{}:
			default:
			}
		}
	})
	if err != nil {
		p.t.Fatalf("listen for dialogs: %v", err)
	}
	// The listener must not call the browser; this goroutine closes the
	// dialogs, and ends with the tab.
	go func() {
		for {
			select {
			case <-p.ctx.Done():
				return
			case <-opened:
				ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
				_ = chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
					_, err := cdp.Call(ctx, tgt, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: true})
					return err
				}))
				cancel()
			}
		}
	}()
	p.t.Cleanup(func() {
		for _, s := range d.take() {
			p.t.Errorf("a JavaScript dialog opened: %s", s)
		}
	})
	return d
}

// take returns the dialogs seen so far and forgets them.
func (d *dialogWatch) take() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.seen
	d.seen = nil
	return out
}

// checkDialogDetection proves the dialog watch hears a dialog and closes
// it: without it, "no dialog opened" would prove nothing.
func (p *spendPage) checkDialogDetection() {
	p.t.Helper()
	eval[chromedp.Void](p.page, `setTimeout(() => alert("e2e dialog self-check"), 0)`)
	deadline := time.Now().Add(stepTimeout)
	for {
		if seen := p.dialogs.take(); len(seen) > 0 {
			if !strings.Contains(seen[0], "e2e dialog self-check") {
				p.fail("the dialog watch heard %v, want the self-check", seen)
			}
			break
		}
		if time.Now().After(deadline) {
			p.fail("the dialog watch missed an alert()")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The page goes on once the dialog is answered.
	p.waitFor("the page to run again after the dialog", `true`)
}
