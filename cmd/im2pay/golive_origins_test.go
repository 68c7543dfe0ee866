package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	wechatsandbox "im2pay/payment/sandbox/wechat"
)

// Without web_origins a section gets its provider's documented production
// hosts, so a production configuration needs no FORM_ACTION_ORIGINS, and
// the checklist says what the pages' CSP will allow.
func TestTheDocumentedWebOriginsApplyWhenASectionListsNone(t *testing.T) {
	env := liveSetup(t)
	delete(env, "FORM_ACTION_ORIGINS")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check"}, envOf(env), &out); err != nil {
		t.Fatalf("the documented defaults failed the checklist: %v\n%s", err, out.String())
	}
	for _, o := range []string{"https://openapi.alipay.com", "https://unitradeprod.alipay.com", "https://excashier.alipay.com",
		"https://mclient.alipay.com", "https://wx.tenpay.com", "https://gateway.95516.com", "https://cashier.95516.com",
		"https://www.paypal.com"} {
		if !strings.Contains(out.String(), " "+o) {
			t.Errorf("the checklist does not say that pages may send the browser to %s:\n%s", o, out.String())
		}
	}
}

func TestTheChecklistNamesEveryDocumentedHostAListLeavesOut(t *testing.T) {
	env := liveSetup(t)
	delete(env, "FORM_ACTION_ORIGINS")
	editPayment(t, env, "alipay", "web_origins", []string{"https://excashier.alipay.com"})
	editPayment(t, env, "paypal", "web_origins", []string{})
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check"}, envOf(env), &out); err == nil {
		t.Fatalf("web origins without the documented hosts passed the checklist:\n%s", out.String())
	}
	for _, h := range []string{"https://unitradeprod.alipay.com", "https://mclient.alipay.com", "https://www.paypal.com"} {
		if !strings.Contains(out.String(), "the browser passes through "+h+" on its way to pay, but web_origins does not list it") {
			t.Errorf("the checklist does not name %s:\n%s", h, out.String())
		}
	}
	if strings.Contains(out.String(), "passes through https://excashier.alipay.com") {
		t.Errorf("the checklist names a listed host:\n%s", out.String())
	}
}

func TestProductionRefusesAWebOriginThatIsNotAPublicHTTPSSite(t *testing.T) {
	cases := []struct{ name, origin, want string }{
		{"plain http", "http://www.paypal.com", "is not https"},
		{"the loopback", "https://127.0.0.1:8091", "points at 127.0.0.1"},
		{"a private address", "https://192.168.1.9", "points at 192.168.1.9"},
		{"a local name", "https://cashier.localhost", "a name only a local network knows"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := liveSetup(t)
			editPayment(t, env, "card", "web_origins", []string{"https://cashier.95516.com", c.origin})
			_, err := startProduction(env)
			if err == nil || !strings.Contains(err.Error(), "web_origins lists \""+c.origin+"\"") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("start was not refused over %s: %v", c.origin, err)
			}
		})
	}
}

// A web origin with a path would make CSP allow something else than the
// operator meant; the app refuses to load the section at all.
func TestAWebOriginWithAPathIsRefused(t *testing.T) {
	env := liveSetup(t)
	editPayment(t, env, "paypal", "web_origins", []string{"https://www.paypal.com/checkoutnow"})
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check"}, envOf(env), &out); err == nil ||
		!strings.Contains(out.String(), "has more than an origin") {
		t.Fatalf("a web origin with a path: %v\n%s", err, out.String())
	}
}

// The sandbox's platform certificate, copied into a production
// configuration, is refused like the sandbox's keys.
func TestProductionRefusesTheSandboxsWeChatPlatformCertificate(t *testing.T) {
	env := liveSetup(t)
	wx, err := wechatsandbox.ProvisionMigrating(t.TempDir(), "http://127.0.0.1:8090")
	if err != nil {
		t.Fatal(err)
	}
	editPayment(t, env, "wechat", "wechatpay_platform_cert_serial_no", wx.PlatformCertSerialNo)
	editPayment(t, env, "wechat", "wechatpay_platform_cert_file", copyOut(t, wx.PlatformCertFile, false))
	_, err = startProduction(env)
	if err == nil || !strings.Contains(err.Error(), "wechatpay_platform_cert_file") || !strings.Contains(err.Error(), "is the sandbox's certificate") {
		t.Fatalf("start was not refused over the sandbox's platform certificate: %v", err)
	}
}
