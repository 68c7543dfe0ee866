package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"im2pay/payment/sandbox/sandboxtest"
)

// TestAPageOriginLeftOutOfThePaymentConfigurationStopsThePayment proves the
// other half of what TestPayJourneys shows. There, every method walks from
// our pages through the sandbox's API origin to its page origin (the
// cashier, H5 and approve pages), as a browser walks from
// openapi.alipay.com to excashier.alipay.com, and our CSP allows both
// because the payment configuration names both. Here the configuration
// names the API origins only (web_origins: [] in every section), and
// Chromium must refuse the redirect to the page origin with a form-action
// violation: our pages' CSP really covers the redirects after the pay
// button's form submission, so a missing web origin cannot pass unnoticed.
func TestAPageOriginLeftOutOfThePaymentConfigurationStopsThePayment(t *testing.T) {
	s := newPaySiteWith(t, func(c sandboxtest.Config) sandboxtest.Config {
		c.Alipay.WebOrigins, c.WeChat.WebOrigins, c.Card.WebOrigins, c.PayPal.WebOrigins = []string{}, []string{}, []string{}, []string{}
		return c
	})
	browserCtx := startBrowser(t)
	for _, c := range []struct {
		method string
		v      variant
	}{
		{"alipay", variant{dev: desktop, lang: zhCN, accept: "zh-CN,zh;q=0.9"}},
		{"alipay", variant{dev: phone, lang: zhCN, accept: "zh-CN,zh;q=0.9"}},
		{"wechat", variant{dev: phone, lang: zhCN, accept: "zh-CN,zh;q=0.9"}},
		{"card", variant{dev: desktop, lang: zhCN, accept: "zh-CN,zh;q=0.9"}},
		{"paypal", variant{dev: desktop, lang: zhCN, accept: "zh-CN,zh;q=0.9"}},
	} {
		t.Run(c.v.dev.name+"/"+c.method, func(t *testing.T) {
			blockedAtThePageOrigin(newPayPage(t, s, browserCtx, c.v), c.v, c.method)
		})
	}
}

// blockedAtThePageOrigin presses the pay button of a ¥68 top-up by method m
// and waits for Chromium's report that form-action stopped the redirect
// to the sandbox's page origin; the tab must never get there.
func blockedAtThePageOrigin(p *payPage, v variant, m string) {
	p.t.Helper()
	p.signUp(v, "csp_"+m)
	p.openRecharge()
	p.chooseMethod(m)
	p.choosePreset("68.00")
	p.waitFor("the preview to show ¥77.40", fmt.Sprintf(`(e => e && e.innerText.trim() === "¥77.40")(document.querySelector(%q))`, string(byTestID("quote-receive"))))

	// Chromium names the blocked request by the URL the form was sent to,
	// not by where the redirect went (it does not reveal a cross-origin
	// redirect's target to the page), so the report is recognised by its
	// directive: form-action, as our page sent it, without the page origin.
	web := p.s.webOrigin
	reported := make(chan problem, 1)
	p.probs.expect("the form-action violation at the page origin", 1, func(pr problem) bool {
		if pr.kind == "log.security" && strings.Contains(pr.text, `directive: "form-action 'self' `) &&
			strings.Contains(pr.text, p.s.gwOrigin) && !strings.Contains(pr.text, web) {
			select {
			case reported <- pr:
			default:
			}
			return true
		}
		return false
	})
	// Besides the violation, Chromium may log the blocked navigation itself.
	p.probs.expect("the navigation the CSP blocked", 5, func(pr problem) bool {
		return strings.HasPrefix(pr.url, web+"/") && strings.Contains(pr.text, "ERR_BLOCKED_BY_CSP")
	})
	p.press(byTestID("recharge-next"))
	select {
	case pr := <-reported:
		p.t.Logf("Chromium refused the page origin: %s", pr.text)
	case <-time.After(stepTimeout): // a hang guard, not a timing
		p.fail("no form-action violation for %s's page origin %s after pressing pay; the browser reported: %v",
			m, web, p.probs.take())
	}
	if origin := eval[string](p.page, `location.origin`); origin == web {
		p.fail("the tab reached the sandbox's page origin %s although our CSP does not allow it", web)
	}
	p.snap(fmt.Sprintf("blocked-%s", m))
}
