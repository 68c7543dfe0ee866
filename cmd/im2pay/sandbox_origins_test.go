package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTheSandboxsPagesGetTheNextPortUnlessToldOtherwise(t *testing.T) {
	for _, c := range []struct{ api, web, want, bad string }{
		{"127.0.0.1:8090", "", "127.0.0.1:8091", ""},
		{"127.0.0.1:8090", "127.0.0.2:8090", "127.0.0.2:8090", ""},
		{"127.0.0.1:8090", "127.0.0.1:8090", "", "must differ from SANDBOX_ADDR"},
		{"127.0.0.1:8090", "127.0.0.1", "", "must be host:port"},
		{"", "", "", ""},
	} {
		cfg, err := loadConfig(envOf(map[string]string{"SANDBOX_ADDR": c.api, "SANDBOX_WEB_ADDR": c.web}))
		switch {
		case c.bad != "":
			if err == nil || !strings.Contains(err.Error(), "SANDBOX_WEB_ADDR: "+c.bad) {
				t.Errorf("SANDBOX_ADDR %q, SANDBOX_WEB_ADDR %q: %v, want %q", c.api, c.web, err, c.bad)
			}
		case err != nil || cfg.SandboxWebAddr != c.want:
			t.Errorf("SANDBOX_ADDR %q, SANDBOX_WEB_ADDR %q: %q, %v; want %q", c.api, c.web, cfg.SandboxWebAddr, err, c.want)
		}
	}
}

// The demo configuration names the sandbox's page origin as every
// section's only web origin, so the pages' CSP allows exactly the
// sandbox's two origins.
func TestTheDemoConfigurationNamesTheSandboxsPageOrigin(t *testing.T) {
	dir := t.TempDir()
	cfg, err := loadConfig(envOf(map[string]string{"SANDBOX_ADDR": "127.0.0.1:8090", "DATA_DIR": dir}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provisionSandbox(cfg); err != nil {
		t.Fatal(err)
	}
	pc, err := readPaymentConfig(filepath.Join(dir, "payment.json"))
	if err != nil {
		t.Fatal(err)
	}
	for name, web := range map[string][]string{"alipay": pc.Alipay.WebOrigins, "wechat": pc.WeChat.WebOrigins,
		"card": pc.Card.WebOrigins, "paypal": pc.PayPal.WebOrigins} {
		if !slices.Equal(web, []string{"http://127.0.0.1:8091"}) {
			t.Errorf("%s web_origins %v, want the sandbox's page origin", name, web)
		}
	}
	_, origins, err := openProviders(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"http://127.0.0.1:8090", "http://127.0.0.1:8091"}; !slices.Equal(origins, want) {
		t.Errorf("form-action origins %v, want %v", origins, want)
	}
}

// The running sandbox answers its pages on the page origin only and its
// APIs on the API origin only.
func TestTheSandboxServesItsPagesOnTheSecondOrigin(t *testing.T) {
	dir := t.TempDir()
	cfg, err := loadConfig(envOf(map[string]string{"SANDBOX_ADDR": "127.0.0.1:0", "DATA_DIR": dir}))
	if err != nil {
		t.Fatal(err)
	}
	sdir, err := provisionSandbox(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var out bytes.Buffer
	if err := startSandbox(ctx, cfg, sdir, slog.New(slog.NewTextHandler(io.Discard, nil)), &out); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`gateway on (http://\S+), its cashier pages on (http://\S+) `).FindStringSubmatch(out.String())
	if m == nil || m[1] == m[2] {
		t.Fatalf("the sandbox says %q", out.String())
	}
	api, web := m[1], m[2]
	get := func(u string) (int, string) {
		t.Helper()
		c := &http.Client{Timeout: 2 * time.Minute}
		res, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	for _, page := range []string{"/alipay/cashier/unknown", "/paypal/checkoutnow?token=UNKNOWN", "/wechat/h5/unknown",
		"/unionpay/gateway/cashier/unknown"} {
		if code, body := get(api + page); code != http.StatusNotFound || !strings.Contains(body, "served on the sandbox's web origin") {
			t.Errorf("API origin, %s: %d %.200s", page, code, body)
		}
		if _, body := get(web + page); strings.Contains(body, "is not a browser page") {
			t.Errorf("page origin, %s: %.200s", page, body)
		}
	}
	for _, endpoint := range []string{"/alipay/gateway.do", "/paypal/v1/notifications/certs/x", "/wechat/v3/pay/transactions/id/x"} {
		if code, body := get(web + endpoint); code != http.StatusNotFound || !strings.Contains(body, "the sandbox's API origin serves it") {
			t.Errorf("page origin, %s: %d %.200s", endpoint, code, body)
		}
	}
}
