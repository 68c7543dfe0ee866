package handlers_test

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// formActionOf is the origins a page's CSP form-action allows.
func formActionOf(t *testing.T, h http.Header) []string {
	t.Helper()
	for _, d := range strings.Split(h.Get("Content-Security-Policy"), ";") {
		if f := strings.Fields(d); len(f) > 0 && f[0] == "form-action" {
			return f[1:]
		}
	}
	t.Fatalf("no form-action in %q", h.Get("Content-Security-Policy"))
	return nil
}

func TestTheCSPAllowsFormsToEveryConfiguredAPIAndWebOrigin(t *testing.T) {
	t.Parallel()
	p := newPaySite(t)
	got := formActionOf(t, p.browser().get("/login").header)
	want := append([]string{"'self'"}, p.gw.FormOrigins()...)
	if !slices.Equal(got, want) {
		t.Errorf("form-action %v, want %v", got, want)
	}
	for _, o := range []string{p.gw.URL, p.gw.WebURL} {
		if !slices.Contains(got, o) {
			t.Errorf("form-action %v does not allow the sandbox's %s", got, o)
		}
	}
}

// Every hop the browser makes from our pay step to the provider's page
// must be allowed by form-action (Chrome checks each redirect after a form
// submission), and the last hop must be the sandbox's page origin, not its
// API origin: the same chain a browser walks in production, from
// openapi.alipay.com to excashier.alipay.com, say.
func TestThePayStepWalksThroughTheSandboxsSecondOriginAndCSPAllowsEveryHop(t *testing.T) {
	t.Parallel()
	p := newPaySite(t)
	const iPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
	cases := []struct{ method, userAgent string }{
		{"alipay", ""}, {"alipay", iPhone}, {"wechat", iPhone}, {"card", ""}, {"card", iPhone}, {"paypal", ""},
	}
	for i, c := range cases {
		t.Run(c.method+map[bool]string{true: "/phone", false: "/desktop"}[c.userAgent != ""], func(t *testing.T) {
			s := p.with(t)
			b := s.browser()
			if c.userAgent != "" {
				b.header.Set("User-Agent", c.userAgent)
			}
			expectRedirect(t, b.register("origins"+string(rune('a'+i)), goodPassword), "/account")
			no := s.order(b, c.method, "30")
			first := b.get("/recharge/orders/" + no + "/pay")
			allowed := formActionOf(t, first.header)
			hops, final := walk(t, first)
			for _, h := range hops {
				if !slices.Contains(allowed, h) {
					t.Errorf("the browser passes through %s, which form-action %v does not allow", h, allowed)
				}
			}
			if final.status != http.StatusOK || !strings.Contains(final.body, "SANDBOX") {
				t.Fatalf("the chain ended in %d:\n%.800s", final.status, final.body)
			}
			if last := hops[len(hops)-1]; last != p.gw.WebURL {
				t.Errorf("the provider's page is on %s, want the sandbox's page origin %s (hops %v)", last, p.gw.WebURL, hops)
			}
		})
	}
}

// walk follows our pay step to the provider's page as a browser would: a
// redirect, or the provider form posted, then the provider's redirects. It
// returns the origin of every request after ours, and the last answer.
func walk(t *testing.T, a answer) ([]string, answer) {
	t.Helper()
	var hops []string
	client := &http.Client{Timeout: 2 * time.Minute, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		hops = append(hops, r.URL.Scheme+"://"+r.URL.Host)
		return nil
	}}
	var req *http.Request
	switch {
	case a.status == http.StatusSeeOther:
		req, _ = http.NewRequest(http.MethodGet, a.header.Get("Location"), nil)
	case formAction.MatchString(a.body):
		action := htmlUnescape(formAction.FindStringSubmatch(a.body)[1])
		start := formAction.FindStringIndex(a.body)[0]
		providerForm, _, _ := strings.Cut(a.body[start:], "</form>")
		form := url.Values{}
		for _, f := range hiddenField.FindAllStringSubmatch(providerForm, -1) {
			form.Add(f[1], htmlUnescape(f[2]))
		}
		req, _ = http.NewRequest(http.MethodPost, action, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	default:
		t.Fatalf("the pay step neither redirects nor posts a form: %d\n%.800s", a.status, a.body)
	}
	hops = append(hops, req.URL.Scheme+"://"+req.URL.Host)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return hops, answer{status: res.StatusCode, header: res.Header, body: string(body)}
}
