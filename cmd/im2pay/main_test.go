package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"im2pay/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestEveryBadSettingIsReportedAtOnce(t *testing.T) {
	_, err := loadConfig(envOf(map[string]string{
		"PG_PORT": "99999", "APP_ENV": "staging", "TIME_ZONE": "Mars/Olympus", "SIGNUP_GRANT": "1e3",
		"TRUSTED_PROXIES": "10.0.0.0/33", "SESSION_IDLE_TIMEOUT": "soon", "LOG_FORMAT": "xml", "METRICS_ADDR": "9464",
		"SEAL_PERIOD": "-1s",
	}))
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for _, name := range []string{"PG_PORT", "APP_ENV", "TIME_ZONE", "SIGNUP_GRANT", "TRUSTED_PROXIES", "SESSION_IDLE_TIMEOUT",
		"LOG_FORMAT", "METRICS_ADDR", "SEAL_PERIOD"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("the report does not name %s:\n%v", name, err)
		}
	}
	if _, err := loadConfig(envOf(map[string]string{"APP_ENV": "production", "BASE_URL": "http://pay.example"})); err == nil {
		t.Error("production over plain http accepted")
	}
	if _, err := loadConfig(envOf(map[string]string{"WEBHOOK_URL": "https://im.example/hooks"})); err == nil || !strings.Contains(err.Error(), "WEBHOOK_SECRET") {
		t.Errorf("a webhook URL without a secret: %v", err)
	}
	if _, err := loadConfig(envOf(map[string]string{"APP_ENV": "production", "BASE_URL": "https://pay.example",
		"WEBHOOK_URL": "http://im.example/hooks", "WEBHOOK_SECRET": strings.Repeat("k", 32)})); err == nil {
		t.Error("a plain-http webhook URL accepted in production")
	}
	for _, p := range []string{"1ns", "50ms", "31s", "1h", "soon"} {
		if _, err := loadConfig(envOf(map[string]string{"SEAL_PERIOD": p})); err == nil || !strings.Contains(err.Error(), "SEAL_PERIOD") {
			t.Errorf("SEAL_PERIOD=%s: %v, want a refusal (a spinning sealer, or one that misses the minute)", p, err)
		}
	}
	for _, p := range []string{"0", "100ms", "1s", "30s"} {
		if _, err := loadConfig(envOf(map[string]string{"SEAL_PERIOD": p})); err != nil {
			t.Errorf("SEAL_PERIOD=%s refused: %v", p, err)
		}
	}
	if _, err := loadConfig(envOf(map[string]string{"LISTEN_ADDR": "127.0.0.1:8080", "METRICS_ADDR": "127.0.0.1:8080"})); err == nil {
		t.Error("metrics on the public listener accepted")
	}
}

func TestMaintenanceIsSwitchedWithoutARestart(t *testing.T) {
	url := dbtest.NewURL(t)
	env := envOf(map[string]string{"DATABASE_URL": url, "DATA_DIR": t.TempDir()})
	var out bytes.Buffer
	ctx := context.Background()
	if err := run(ctx, []string{"maintenance", "on", "alipay", "--message", "系统升级", "--until", "2026-11-25T06:00"}, env, &out); err != nil {
		t.Fatal(err)
	}
	var methods []string
	err := withDatabase(ctx, mustConfig(t, env), &out, func(a *app) error {
		ms, err := a.recharge.Maintenances(ctx)
		for _, m := range ms {
			methods = append(methods, m.Method+":"+m.Message)
		}
		return err
	})
	if err != nil || strings.Join(methods, ",") != "alipay:系统升级" {
		t.Fatalf("maintenance rows = %v, %v", methods, err)
	}
	if err := run(ctx, []string{"maintenance", "off", "alipay"}, env, &out); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"maintenance", "on", "bitcoin"}, env, &out); err == nil {
		t.Fatal("an unknown method was accepted")
	}
}

func TestSeedingTwiceGrantsTheWelcomeCreditOnce(t *testing.T) {
	env := envOf(map[string]string{"DATABASE_URL": dbtest.NewURL(t), "DATA_DIR": t.TempDir()})
	var out bytes.Buffer
	for range 2 {
		if err := run(context.Background(), []string{"seed"}, env, &out); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Count(out.String(), "balance ¥100.00") != 2 {
		t.Fatalf("seed output:\n%s", out.String())
	}
}

func mustConfig(t *testing.T, env func(string) string) config {
	t.Helper()
	c, err := loadConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTheReadmeDocumentsEverySettingAndNoOther(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	inReadme := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Z_]+)` \\|").FindAllStringSubmatch(string(raw), -1) {
		inReadme[m[1]] = true
	}
	read := map[string]bool{}
	for _, s := range settings {
		read[s.name] = true
		if !inReadme[s.name] {
			t.Errorf("the README's configuration table lacks %s", s.name)
		}
	}
	for name := range inReadme {
		if !read[name] {
			t.Errorf("the README documents %s, which im2pay does not read", name)
		}
	}
}

func TestAnOperatorListsAndResendsWebhookEvents(t *testing.T) {
	url := dbtest.NewURL(t)
	env := envOf(map[string]string{"DATABASE_URL": url, "DATA_DIR": t.TempDir()})
	ctx := context.Background()
	var out bytes.Buffer
	err := withDatabase(ctx, mustConfig(t, env), &out, func(a *app) error {
		if err := a.store.SetWebhooksEnabled(ctx, true); err != nil {
			return err
		}
		u, err := a.accounts.EnsureUser(ctx, "hooked", "hooked-pass-2026")
		if err != nil {
			return err
		}
		_, err = a.wallet.Grant(ctx, u.ID, 12_34, "grant:hooked", "welcome_grant")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"webhooks", "list", "--pending"}, env, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "grant.credited") || !strings.Contains(lines[1], "hooked") ||
		!strings.Contains(lines[1], "1234") || !strings.Contains(lines[1], "pending") {
		t.Fatalf("webhooks list:\n%s", out.String())
	}
	id := strings.Fields(lines[1])[0]
	if err := run(ctx, []string{"webhooks", "resend", id}, env, &out); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"webhooks", "resend", "evt_0"}, env, &out); err == nil {
		t.Fatal("resent an unknown event")
	}
	if err := run(ctx, []string{"webhooks", "off"}, env, &out); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"webhooks", "delete", id}, env, &out); err == nil {
		t.Fatal("an unknown subcommand was accepted")
	}
}

// `maintenance off all` used to lift the "all" switch only, leaving a
// method switched off on its own closed.
func TestMaintenanceOffAllLiftsEverySwitch(t *testing.T) {
	env := envOf(map[string]string{"DATABASE_URL": dbtest.NewURL(t), "DATA_DIR": t.TempDir()})
	var out bytes.Buffer
	ctx := context.Background()
	for _, args := range [][]string{
		{"maintenance", "on", "alipay", "--message", "升级", "--message-en", "Upgrading"},
		{"maintenance", "on", "all", "--message", "全站维护"},
		{"maintenance", "off", "all"},
	} {
		if err := run(ctx, args, env, &out); err != nil {
			t.Fatal(args, err)
		}
	}
	err := withDatabase(ctx, mustConfig(t, env), &out, func(a *app) error {
		ms, err := a.recharge.Maintenances(ctx)
		if err == nil && len(ms) != 0 {
			t.Errorf("switches left on: %+v", ms)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
