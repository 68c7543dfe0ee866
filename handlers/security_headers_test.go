package handlers_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"im2pay/internal/figures"
	"im2pay/payment/sandbox/sim"
)

// missingHeaders lists what a production (HTTPS) answer lacks of the
// security headers.
func missingHeaders(h http.Header) []string {
	var out []string
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			out = append(out, "CSP "+want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		out = append(out, "CSP without unsafe-inline/unsafe-eval")
	}
	hsts := h.Get("Strict-Transport-Security")
	if age, _ := strconv.Atoi(strings.TrimPrefix(strings.Split(hsts, ";")[0], "max-age=")); age < 31536000 {
		out = append(out, "HSTS of a year or more")
	}
	if h.Get("X-Content-Type-Options") != "nosniff" {
		out = append(out, "X-Content-Type-Options")
	}
	switch h.Get("Referrer-Policy") {
	case "no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin":
	default:
		out = append(out, "Referrer-Policy")
	}
	if h.Get("X-Frame-Options") != "DENY" {
		out = append(out, "X-Frame-Options")
	}
	return out
}

// TestSecurityEveryAnswerCarriesTheSecurityHeaders asks a site configured as
// production (Secure) for every route, as a visitor and logged in, and for
// every kind of error page, static file, API answer and provider callback.
func TestSecurityEveryAnswerCarriesTheSecurityHeaders(t *testing.T) {
	t.Parallel()
	const token = "header-test-service-token"
	p := newSecurePaySite(t, token)
	alice := p.looseBrowser()
	expectRedirect(t, alice.register("alice", goodPassword), "/account")
	if _, err := p.wallet.Grant(t.Context(), userID(t, p.site, "alice"), 100_00, "sec-a6", "welcome_grant"); err != nil {
		t.Fatal(err)
	}
	paid := p.order(alice, "alipay", "30")
	p.pay(alice, paid)
	p.settle(alice, paid, sim.Success)
	pending := p.order(alice, "wechat", "30")
	visitor := p.looseBrowser()

	covered := map[string]bool{}
	attempts, through := 0, 0
	check := func(route string, b *browser, method, path string, form url.Values, extra ...string) answer {
		t.Helper()
		covered[route] = true
		if form != nil && b == alice && method == http.MethodPost && form.Get("_csrf") == "" {
			form.Set("_csrf", csrfOf(t, alice, "/account"))
		}
		a := b.do(method, path, form, extra...)
		attempts++
		if miss := missingHeaders(a.header); len(miss) > 0 {
			through++
			t.Errorf("%s %s (%d) lacks: %s", method, path, a.status, strings.Join(miss, ", "))
		}
		return a
	}
	for _, k := range routeKeys(t) {
		method, route, _ := strings.Cut(k, " ")
		path := strings.NewReplacer(":no", paid, ":method", "alipay", "*", "/css/app.css").Replace(route)
		if method == http.MethodGet {
			check(k, alice, method, path, nil)
			check(k, visitor, method, path, nil)
			check(k, alice, http.MethodHead, path, nil)
			continue
		}
		if k != "POST /logout" { // alice stays logged in for what follows
			check(k, alice, method, path, url.Values{})
		}
		check(k, visitor, method, path, url.Values{})
	}
	// Every kind of answer that is not a page.
	check("GET /recharge/orders/:no/pay", alice, http.MethodGet, "/recharge/orders/"+pending+"/pay", nil)
	check("GET /recharge/orders/:no/status", alice, http.MethodGet, "/recharge/orders/"+pending+"/status?qr=1", nil, "HX-Request", "true")
	check("GET /history", alice, http.MethodGet, "/history", nil, "HX-Request", "true")
	check("GET /api/v1/balance", visitor, http.MethodGet, "/api/v1/balance?user=alice", nil, "Authorization", "Bearer "+token)
	check("404", visitor, http.MethodGet, "/no-such-page", nil)
	check("404", alice, http.MethodGet, "/recharge/orders/0000000000000000/pay", nil)
	check("404 static", visitor, http.MethodGet, "/static/js/nope.js", nil)
	check("404 api", visitor, http.MethodGet, "/api/v1/nope", nil)
	check("405", alice, http.MethodGet, "/logout", nil)
	check("405", alice, http.MethodPut, "/account", url.Values{})
	check("405", visitor, http.MethodOptions, "/account", nil)
	check("403 csrf", alice, http.MethodPost, "/gifts", url.Values{"to": {"x"}})
	check("400", alice, http.MethodPost, "/lang", url.Values{"lang": {"klingon"}})
	check("413", alice, http.MethodPost, "/account/settings", url.Values{"confirm_above": {strings.Repeat("9", 70_000)}})
	check("422", visitor, http.MethodPost, "/login", url.Values{"username": {"alice"}, "password": {"wrong-wrong"},
		"_csrf": {csrfOf(t, visitor, "/login")}})
	check("400 api", visitor, http.MethodPost, "/api/v1/charges", url.Values{"x": {"y"}}, "Authorization", "Bearer "+token)
	check("notify refusal", visitor, http.MethodPost, "/pay/notify/wechat", url.Values{})
	check("notify unknown", visitor, http.MethodPost, "/pay/notify/nope", url.Values{})
	// A 5xx: the database goes away under a logged-in browser.
	p.store.DB().Close()
	if a := check("500", alice, http.MethodGet, "/account", nil); a.status < 500 {
		t.Errorf("with the database closed /account answered %d, want a 5xx", a.status)
	}
	check("503", visitor, http.MethodGet, "/healthz", nil)

	expectEveryRoute(t, "A6 headers", covered)
	figures.Record(t, "security", "A6 answers checked for CSP, HSTS, nosniff, Referrer-Policy, frame-ancestors/X-Frame-Options", attempts, through)
	if through != 0 {
		t.Fatalf("%d of %d answers lack a security header", through, attempts)
	}
}
