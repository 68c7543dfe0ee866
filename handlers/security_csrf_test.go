package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"im2pay/internal/figures"
)

// crossSite is one way a request can fail to prove it came from our own
// page: the extra form fields and headers it carries, given the real token.
type crossSite struct {
	what    string
	token   func(real string) string // the _csrf it sends ("" for none)
	headers []string
}

var crossSiteWays = []crossSite{
	{"A2 state change without a CSRF token", func(string) string { return "" }, nil},
	{"A2 state change with a wrong CSRF token", func(real string) string { return real[:len(real)-1] + "x" }, []string{"X-CSRF-Token", "forged"}},
	{"A2 state change with a valid token from a foreign Origin", func(real string) string { return real }, []string{"Origin", "https://evil.example"}},
	{"A2 state change with a valid token and Sec-Fetch-Site cross-site", func(real string) string { return real }, []string{"Sec-Fetch-Site", "cross-site"}},
}

// TestSecurityCrossSiteStateChangesAreForbidden posts to every state-changing
// route as a logged-in victim's browser would if another site made it: each
// must be 403 and change nothing. Provider callbacks are exempt from CSRF and
// must instead be refused for want of a signature.
func TestSecurityCrossSiteStateChangesAreForbidden(t *testing.T) {
	t.Parallel()
	p := newPaySite(t)
	v := newVictim(t, p)
	covered := map[string]bool{}
	for _, k := range routeKeys(t) {
		if !strings.HasPrefix(k, "POST ") {
			covered[k] = true
		}
	}
	forms := map[string]url.Values{
		"/login":                                {"username": {v.name}, "password": {goodPassword}},
		"/register":                             {"username": {"csrf_planted"}, "password": {goodPassword}},
		"/logout":                               {},
		"/lang":                                 {"lang": {"en"}, "next": {"/account"}},
		"/account/password":                     {"current_password": {goodPassword}, "password": {"planted-password-9"}},
		"/account/settings":                     {"confirm_above": {"0"}, "low_balance": {"0"}},
		"/account/redeem":                       {"code": {"AAAA-AAAA-AAAA-AAAA"}},
		"/account/protection/caps":              {"spend_day": {"1"}},
		"/account/protection/minors":            {"pin": {"135790"}, "pin_again": {"135790"}},
		"/account/protection/minors/off":        {"pin": {"135790"}},
		"/gifts":                                {"to": {v.carol}, "gift": {"rose"}, "quantity": {"1"}, "key": {"csrf-gift-key-00000001"}},
		"/shop/buy":                             {"product": {"stickers_cat"}, "confirmed": {"1"}, "price": {"6.00"}, "key": {"csrf-buy-key-000000001"}},
		"/events/buy":                           {"event": {"none"}, "confirmed": {"1"}, "key": {"csrf-event-key-0000001"}},
		"/recharge/orders":                      {"method": {"alipay"}, "amount": {"30"}, "key": {"csrf-order-key-0000001"}},
		"/recharge":                             {"method": {"alipay"}, "amount": {"30"}, "key": {"csrf-page-order-key-001"}},
		"/recharge/orders/" + v.paid + "/check": {},
		"/recharge/orders/" + v.pending + "/cancel": {},
		"/recharge/orders/" + v.pending + "/paid":   {},
		"/recharge/orders/" + v.paid + "/renew":     {},
		"/recharge/orders/" + v.paid + "/refund":    {"reason": {"cross-site"}},
		"/account/sessions/end-others":              {},
		"/account/sessions/" + v.session + "/end":   {},
	}
	routeOf := map[string]string{"/recharge/orders/" + v.paid + "/check": "POST /recharge/orders/:no/check",
		"/recharge/orders/" + v.pending + "/cancel": "POST /recharge/orders/:no/cancel",
		"/recharge/orders/" + v.pending + "/paid":   "POST /recharge/orders/:no/paid",
		"/recharge/orders/" + v.paid + "/renew":     "POST /recharge/orders/:no/renew",
		"/recharge/orders/" + v.paid + "/refund":    "POST /recharge/orders/:no/refund",
		"/account/sessions/" + v.session + "/end":   "POST /account/sessions/:id/end"}
	users := countRows(t, p.site, `SELECT count(*) FROM users`)
	before := fingerprint(t, p.site, v.id)
	for _, way := range crossSiteWays {
		attempts, through := 0, 0
		for path, form := range forms {
			route := routeOf[path]
			if route == "" {
				route = "POST " + path
			}
			covered[route] = true
			f := url.Values{}
			for k, vs := range form {
				f[k] = vs
			}
			if tok := way.token(csrfOf(t, v.browser, "/account")); tok != "" {
				f.Set("_csrf", tok)
			}
			a := v.browser.do(http.MethodPost, path, f, way.headers...)
			attempts++
			var why []string
			if a.status != http.StatusForbidden {
				why = append(why, "answered "+a.header.Get("Location")+" "+http.StatusText(a.status))
			}
			if fp := fingerprint(t, p.site, v.id); fp != before {
				why, before = append(why, "changed alice's data: "+fp), fp
			}
			if n := countRows(t, p.site, `SELECT count(*) FROM users`); n != users {
				why, users = append(why, "registered someone"), n
			}
			if v.browser.cookie("im2pay_lang") != nil {
				why = append(why, "set the language cookie")
			}
			if v.browser.get("/account").status != http.StatusOK {
				why = append(why, "ended alice's session")
			}
			if len(why) > 0 {
				through++
				t.Errorf("%s: POST %s: %s", way.what, path, strings.Join(why, "; "))
			}
		}
		figures.Record(t, "security", way.what, attempts, through)
		if through != 0 {
			t.Errorf("%s: %d of %d got through", way.what, through, attempts)
		}
	}

	// Provider callbacks and the service API carry no cookie to ride on:
	// CSRF lets them pass, their own proof (signature, bearer token) stops
	// them.
	attempts, through := 0, 0
	callbacks := []struct{ route, path string }{
		{"POST /recharge/orders/:no/return", "/recharge/orders/" + v.pending + "/return"},
		{"POST /api/v1/charges", "/api/v1/charges"},
		{"POST /api/v1/items/use", "/api/v1/items/use"},
	}
	for _, m := range []string{"alipay", "wechat", "card", "paypal"} {
		callbacks = append(callbacks, struct{ route, path string }{"POST /pay/notify/:method", "/pay/notify/" + m})
	}
	for _, cb := range callbacks {
		covered[cb.route] = true
		for _, way := range crossSiteWays {
			form := url.Values{"out_trade_no": {v.pending}, "trade_status": {"TRADE_SUCCESS"}, "total_amount": {"61.17"}}
			a := v.browser.do(http.MethodPost, cb.path, form, way.headers...)
			attempts++
			var why []string
			if a.status == http.StatusForbidden && strings.Contains(a.body, "页面已过期") {
				why = append(why, "stopped by CSRF, which must let callbacks through to their signature check")
			}
			if strings.HasPrefix(cb.path, "/api/") && a.status != http.StatusUnauthorized {
				why = append(why, "the API answered "+http.StatusText(a.status)+" without its token")
			}
			if fp := fingerprint(t, p.site, v.id); fp != before {
				why, before = append(why, "changed alice's data (credited?): "+fp), fp
			}
			if len(why) > 0 {
				through++
				t.Errorf("%s (%s): %s", cb.path, way.what, strings.Join(why, "; "))
			}
		}
	}
	figures.Record(t, "security", "A2 unsigned provider callback or tokenless API call (CSRF-exempt)", attempts, through)
	if through != 0 {
		t.Errorf("%d of %d unsigned callbacks got through", through, attempts)
	}
	expectEveryRoute(t, "A2 cross-site", covered)
}
