package payment

import (
	"slices"
	"strings"
	"testing"
)

func TestAWebOriginIsSchemeHostAndPortOnly(t *testing.T) {
	for _, c := range []struct{ raw, want, why string }{
		{"https://www.paypal.com", "https://www.paypal.com", ""},
		{"https://www.paypal.com/", "https://www.paypal.com", ""},
		{"HTTPS://WX.Tenpay.COM", "https://wx.tenpay.com", ""},
		{"http://127.0.0.1:8091", "http://127.0.0.1:8091", ""},
		{" https://excashier.alipay.com ", "https://excashier.alipay.com", ""},
		{"https://www.paypal.com/checkoutnow", "", "more than an origin"},
		{"https://www.paypal.com?token=1", "", "more than an origin"},
		{"https://www.paypal.com#x", "", "more than an origin"},
		{"https://user@www.paypal.com", "", "user name"},
		{"ftp://www.paypal.com", "", "not an http(s) origin"},
		{"www.paypal.com", "", "not an origin"},
		{"", "", "not an origin"},
		{"*", "", "not an origin"},
		{"'self'", "", "not an origin"},
	} {
		got, err := Origin(c.raw)
		switch {
		case c.why == "" && (err != nil || got != c.want):
			t.Errorf("Origin(%q) = %q, %v; want %q", c.raw, got, err, c.want)
		case c.why != "" && (err == nil || !strings.Contains(err.Error(), c.why)):
			t.Errorf("Origin(%q) = %q, %v; want an error saying %q", c.raw, got, err, c.why)
		}
	}
}

func TestLeftOutWebOriginsAreTheDefaultsAndAListReplacesThem(t *testing.T) {
	defaults := []string{"https://www.paypal.com"}
	if got, err := WebOrigins("paypal", nil, defaults); err != nil || !slices.Equal(got, defaults) {
		t.Errorf("nil: %v, %v; want the defaults", got, err)
	}
	if got, err := WebOrigins("paypal", []string{}, defaults); err != nil || len(got) != 0 {
		t.Errorf("[]: %v, %v; want none", got, err)
	}
	got, err := WebOrigins("paypal", []string{"https://www.sandbox.paypal.com/"}, defaults)
	if err != nil || !slices.Equal(got, []string{"https://www.sandbox.paypal.com"}) {
		t.Errorf("a list: %v, %v; want exactly it, normalised", got, err)
	}
	if _, err := WebOrigins("paypal", []string{"https://www.paypal.com/checkoutnow"}, defaults); err == nil ||
		!strings.Contains(err.Error(), "paypal: web_origins:") {
		t.Errorf("a URL with a path: %v, want an error naming the section and field", err)
	}
}

func TestFormOriginsAreTheAPIOriginThenTheWebOriginsOnce(t *testing.T) {
	got := FormOrigins("https://openapi.alipay.com/gateway.do",
		[]string{"https://unitradeprod.alipay.com", "https://openapi.alipay.com", "https://excashier.alipay.com"})
	want := []string{"https://openapi.alipay.com", "https://unitradeprod.alipay.com", "https://excashier.alipay.com"}
	if !slices.Equal(got, want) {
		t.Errorf("FormOrigins = %v, want %v", got, want)
	}
	if got := FormOrigins("", []string{"https://wx.tenpay.com"}); !slices.Equal(got, []string{"https://wx.tenpay.com"}) {
		t.Errorf("without an API URL: %v", got)
	}
}
