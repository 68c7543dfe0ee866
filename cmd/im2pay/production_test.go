package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	alipaysandbox "im2pay/payment/sandbox/alipay"
	paypalsandbox "im2pay/payment/sandbox/paypal"
	unionpaysandbox "im2pay/payment/sandbox/unionpay"
	wechatsandbox "im2pay/payment/sandbox/wechat"
)

// startProduction runs `im2pay serve` with a context that is already over,
// so that a switch production failed to refuse ends in some other error
// instead of a running server.
func startProduction(env map[string]string) (string, error) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	err := run(ctx, []string{"serve"}, envOf(env), &out)
	return out.String(), err
}

// copyOut copies a file the sandbox wrote to somewhere outside its
// directory, as someone taking the sandbox's keys to production would.
func copyOut(t *testing.T, from string, reencode bool) string {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if reencode { // PKCS#1 → PKCS#8, so the bytes differ from every sandbox file
		block, _ := pem.Decode(b)
		key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKCS8PrivateKey(key)
		b = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	to := filepath.Join(t.TempDir(), "copied-"+filepath.Base(from))
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return to
}

func TestProductionRefusesToStartOnEachPlayMoneySwitch(t *testing.T) {
	sandbox := t.TempDir()
	ali, err := alipaysandbox.Provision(sandbox, "http://127.0.0.1:8090")
	if err != nil {
		t.Fatal(err)
	}
	wx, err := wechatsandbox.Provision(sandbox, "http://127.0.0.1:8090")
	if err != nil {
		t.Fatal(err)
	}
	pp, err := paypalsandbox.Provision(sandbox, "http://127.0.0.1:8090", "https://pay.example.com/pay/notify/paypal")
	if err != nil {
		t.Fatal(err)
	}
	card, err := unionpaysandbox.Provision(sandbox, "http://127.0.0.1:8090")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		change func(t *testing.T, env map[string]string)
		want   string
	}{
		{"the sandbox gateway is switched on", func(t *testing.T, env map[string]string) { env["SANDBOX_ADDR"] = "127.0.0.1:8090" }, "SANDBOX_ADDR is set"},
		{"the demo seed is switched on", func(t *testing.T, env map[string]string) { env["SEED_DEMO"] = "true" }, "SEED_DEMO is on"},
		{"no database server is named", func(t *testing.T, env map[string]string) { env["DATABASE_URL"] = "" }, "DATABASE_URL is empty"},
		{"the payment configuration is missing", func(t *testing.T, env map[string]string) { env["PAYMENT_CONFIG"] += ".gone" }, "does not exist"},
		{"the payment configuration configures no provider", func(t *testing.T, env map[string]string) {
			os.WriteFile(env["PAYMENT_CONFIG"], []byte("{}"), 0o600)
		}, "configures no provider"},
		{"the sandbox's Alipay key is copied elsewhere and re-encoded", func(t *testing.T, env map[string]string) {
			editPayment(t, env, "alipay", "app_private_key_file", copyOut(t, ali.AppPrivateKeyFile, true))
		}, "app_private_key_file"},
		{"the sandbox's Alipay public key is copied elsewhere", func(t *testing.T, env map[string]string) {
			editPayment(t, env, "alipay", "alipay_public_key_file", copyOut(t, ali.AlipayPublicKeyFile, false))
		}, "is the sandbox's generated key, not the provider's"},
		{"the sandbox's WeChat APIv3 key is copied elsewhere", func(t *testing.T, env map[string]string) {
			editPayment(t, env, "wechat", "apiv3_key_file", copyOut(t, wx.APIv3KeyFile, false))
		}, "apiv3_key_file"},
		{"the sandbox's PayPal secret is copied elsewhere", func(t *testing.T, env map[string]string) {
			editPayment(t, env, "paypal", "secret_file", copyOut(t, pp.SecretFile, false))
		}, "sandbox's generated secret"},
		{"the sandbox's UnionPay root is copied elsewhere", func(t *testing.T, env map[string]string) {
			editPayment(t, env, "card", "verify_root_cert_file", copyOut(t, card.VerifyRootCertFile, false))
		}, `is the sandbox's certificate "UnionPay Sandbox Root`},
		{"the sandbox's UnionPay middle is copied elsewhere", func(t *testing.T, env map[string]string) {
			editPayment(t, env, "card", "verify_middle_cert_file", copyOut(t, card.VerifyMiddleCertFile, false))
		}, `is the sandbox's certificate "UnionPay Sandbox OCA1`},
		{"the sandbox's UnionPay merchant key is copied elsewhere", func(t *testing.T, env map[string]string) {
			editPayment(t, env, "card", "sign_key_file", copyOut(t, card.SignKeyFile, false))
		}, "is the sandbox's generated key: generate your own"},
		{"a provider URL is plain http", func(t *testing.T, env map[string]string) {
			editPayment(t, env, "alipay", "gateway_url", "http://openapi.alipay.com/gateway.do")
		}, "gateway_url http://openapi.alipay.com/gateway.do is not https"},
		{"a provider URL points at a private address", func(t *testing.T, env map[string]string) {
			editPayment(t, env, "card", "query_url", "https://10.0.0.5/gateway/api/queryTrans.do")
		}, "query_url https://10.0.0.5/gateway/api/queryTrans.do points at 10.0.0.5"},
		{"a provider URL points at the loopback by name", func(t *testing.T, env map[string]string) {
			editPayment(t, env, "paypal", "api_base", "https://localhost:8443/paypal")
		}, "api_base https://localhost:8443/paypal points at localhost"},
		{"a provider URL points at IPv6 loopback", func(t *testing.T, env map[string]string) {
			editPayment(t, env, "wechat", "base_url", "https://[::1]:8090/wechat")
		}, "points at ::1"},
		{"a notify URL is http on a public host", func(t *testing.T, env map[string]string) {
			editPayment(t, env, "paypal", "notify_url", "http://pay.example.com/pay/notify/paypal")
		}, "notify_url http://pay.example.com/pay/notify/paypal is not https"},
		{"BASE_URL is https on a private address", func(t *testing.T, env map[string]string) { env["BASE_URL"] = "https://192.168.1.20" }, "BASE_URL https://192.168.1.20 points at 192.168.1.20"},
		{"a form-action origin is plain http", func(t *testing.T, env map[string]string) { env["FORM_ACTION_ORIGINS"] = "http://www.paypal.com" }, "FORM_ACTION_ORIGINS lists http://www.paypal.com"},
		{"APP_ENV is written with a capital", func(t *testing.T, env map[string]string) {
			env["APP_ENV"], env["SANDBOX_ADDR"] = "Production", "127.0.0.1:8090"
		}, "SANDBOX_ADDR is set"},
		{"APP_ENV is surrounded by spaces", func(t *testing.T, env map[string]string) {
			env["APP_ENV"], env["SEED_DEMO"] = " production\t", "1"
		}, "SEED_DEMO is on"},
		{"APP_ENV is neither value", func(t *testing.T, env map[string]string) { env["APP_ENV"] = "prod" }, "APP_ENV: must be development or production"},
		{"sealing is turned off", func(t *testing.T, env map[string]string) { env["SEAL_PERIOD"] = "0" }, "SEAL_PERIOD: must not be 0 in production"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := liveSetup(t)
			c.change(t, env)
			out, err := startProduction(env)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("start was not refused with %q: %v", c.want, err)
			}
			if strings.Contains(out, "serving") {
				t.Fatalf("the server started:\n%s", out)
			}
		})
	}
}

func TestProductionReportsEveryProblemAtOnce(t *testing.T) {
	env := liveSetup(t)
	env["SANDBOX_ADDR"], env["SEED_DEMO"], env["DATABASE_URL"] = "127.0.0.1:8090", "true", ""
	env["BASE_URL"], env["PG_PORT"] = "https://127.0.0.1", "99999"
	editPayment(t, env, "paypal", "api_base", "http://api-m.paypal.com")
	_, err := startProduction(env)
	if err == nil {
		t.Fatal("production started")
	}
	for _, want := range []string{"PG_PORT", "SANDBOX_ADDR", "SEED_DEMO", "DATABASE_URL", "BASE_URL https://127.0.0.1", "api_base http://api-m.paypal.com"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the report does not name %s:\n%v", want, err)
		}
	}
}

func TestProductionRefusesTheDemoSeedAndTheSandboxCommands(t *testing.T) {
	for _, cmd := range []string{"seed", "sandbox"} {
		var out bytes.Buffer
		err := run(context.Background(), []string{cmd}, envOf(liveSetup(t)), &out)
		if err == nil || !strings.Contains(err.Error(), "production refuses "+cmd) {
			t.Errorf("im2pay %s in production: %v", cmd, err)
		}
	}
}
