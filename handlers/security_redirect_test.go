package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"im2pay/internal/figures"
)

// offSitePayloads are the shapes browsers have been known to read as another
// site, or to run, when found in a redirect target.
var offSitePayloads = []string{
	"//evil.com", "///evil.com", "////evil.com", "/\\evil.com", "\\\\evil.com", "\\/\\/evil.com", "/\\/evil.com",
	"https://evil.com", "http://evil.com", "HTTPS://evil.com", "https:evil.com", "http:/evil.com", "https:/\\evil.com",
	"/%2F%2Fevil.com", "%2F%2Fevil.com", "/%5Cevil.com", "/%2F/evil.com", "/%09/evil.com", "/%0A/evil.com", "/%0D%0A/evil.com",
	"/\t/evil.com", "/\n/evil.com", "/\r\n/evil.com", " //evil.com", "\t//evil.com", "\x00//evil.com", "/\x00/evil.com",
	"javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:alert(1)", " javascript:alert(1)",
	"data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)",
	"@evil.com", "//@evil.com", "//good@evil.com", "//evil.com\\@good", "evil.com", "//evil%E3%80%82com", "//evil。com",
	"/.//evil.com/", "//evil.com/%2F..", "http://127.0.0.1.evil.com", strings.Repeat("/", 3000) + "evil.com",
}

var hrefAttr = regexp.MustCompile(`(?:href|action|hx-get|hx-post)="([^"]*)"`)

// offSiteLinks are the links and form targets of a page that leave the site.
func offSiteLinks(body string) []string {
	var out []string
	for _, m := range hrefAttr.FindAllStringSubmatch(body, -1) {
		if l := htmlUnescape(m[1]); offSite(l) {
			out = append(out, l)
		}
	}
	return out
}

// TestSecurityNextAndReturnParametersNeverLeadOffSite tries every payload on
// every parameter that says where to go next: the login and register forms
// (and the login page of someone already logged in), the language switch, the
// recharge return_to (page, order, result link), and the return links the app
// builds itself (gift shortfall, statement links, provider return).
func TestSecurityNextAndReturnParametersNeverLeadOffSite(t *testing.T) {
	t.Parallel()
	p := newPaySite(t)
	alice := p.browser()
	expectRedirect(t, alice.register("alice", goodPassword), "/account")
	kinds := map[string][2]int{}
	var order []string
	judge := func(kind, payload string, a answer) {
		t.Helper()
		k := kinds[kind]
		if k[0] == 0 {
			order = append(order, kind)
		}
		k[0]++
		var bad []string
		for _, h := range []string{"Location", "HX-Redirect", "HX-Location", "Refresh"} {
			if v := a.header.Get(h); offSite(v) || (h == "Refresh" && v != "") {
				bad = append(bad, h+": "+v)
			}
		}
		bad = append(bad, offSiteLinks(a.body)...)
		if a.status >= 500 {
			bad = append(bad, "status "+strconv.Itoa(a.status))
		}
		if len(bad) > 0 {
			k[1]++
			t.Errorf("%s with %q: %s", kind, payload, strings.Join(bad, "; "))
		}
		kinds[kind] = k
	}

	for i, next := range offSitePayloads {
		creds := url.Values{"username": {"alice"}, "password": {goodPassword}, "next": {next}}
		judge("B6 next on login", next, p.browser().post("/login", "/login", creds))
		judge("B6 next on login", next, p.browser().post("/login", "/login", creds, "HX-Request", "true"))
		judge("B6 next on login", next, p.browser().get("/login?next="+url.QueryEscape(next)))
		judge("B6 next on login", next, alice.get("/login?next="+url.QueryEscape(next)))
		judge("B6 next on register", next, p.browser().get("/register?next="+url.QueryEscape(next)))
		judge("B6 next on register", next, p.browser().post("/register", "/register",
			url.Values{"username": {"reg_" + strconv.Itoa(i)}, "password": {goodPassword}, "next": {next}}))
		judge("B6 next on the language switch", next, p.browser().post("/login", "/lang", url.Values{"lang": {"en"}, "next": {next}}))
		judge("B6 next on the language switch", next, alice.post("/account", "/lang", url.Values{"lang": {"zh-CN"}, "next": {next}}, "HX-Request", "true"))

		q := url.Values{"method": {"alipay"}, "amount": {"30"}, "return_to": {next}}.Encode()
		judge("B6 recharge return_to", next, alice.get("/recharge?"+q))
		judge("B6 recharge return_to", next, alice.get("/recharge/confirm?"+q))
		judge("B6 recharge return_to", next, alice.get("/recharge/preview?"+q, "HX-Request", "true"))
		created := alice.post("/recharge", "/recharge/orders", url.Values{"method": {"alipay"}, "amount": {"30"},
			"key": {"redirect-key-" + strconv.Itoa(1000+i) + "-padding"}, "return_to": {next}})
		judge("B6 recharge return_to", next, created)
		if no := orderPath.FindStringSubmatch(created.header.Get("Location")); no != nil {
			var stored string
			if err := p.store.DB().GetContext(context.Background(), &stored,
				`SELECT return_to FROM recharge_orders WHERE out_trade_no = $1`, no[1]); err != nil {
				t.Fatal(err)
			}
			judge("B6 recharge return_to", next, answer{header: http.Header{"Location": {stored}}})
			judge("B6 recharge return_to", next, alice.get("/recharge/orders/"+no[1]))
			judge("B6 recharge return_to", next, alice.get("/recharge/orders/"+no[1]+"/return?return_url="+url.QueryEscape(next)))
			judge("B6 recharge return_to", next, alice.get("/recharge/orders/"+no[1]+"/status?qr=1", "HX-Request", "true"))
		}

		judge("B6 derived return links", next, alice.post("/gifts", "/gifts", url.Values{"to": {next}, "gift": {"castle"},
			"quantity": {"1"}, "message": {next}, "key": {"redirect-gift-" + strconv.Itoa(1000+i) + "-padding"}}))
		judge("B6 derived return links", next, alice.get("/gifts?"+url.Values{"to": {next}, "message": {next}}.Encode()))
		judge("B6 derived return links", next, alice.get("/shop?product="+url.QueryEscape(next)))
		judge("B6 derived return links", next, alice.get("/history/links?"+url.Values{"kind": {next}, "from": {next}}.Encode()))
		judge("B6 derived return links", next, alice.get("/history?"+url.Values{"kind": {next}}.Encode()))
	}
	// A request whose own path looks like another site.
	for _, path := range []string{"//evil.com", "//evil.com/account", "/\\evil.com", "//evil.com/%2F..", "/account/..//evil.com"} {
		judge("B6 derived return links", path, p.browser().get(path))
	}

	for _, kind := range order {
		k := kinds[kind]
		figures.Record(t, "security", kind+" (off-site payloads)", k[0], k[1])
		if k[1] != 0 {
			t.Errorf("%s: %d of %d answers led off-site", kind, k[1], k[0])
		}
	}
}
