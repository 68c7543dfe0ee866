package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	unionpaysandbox "im2pay/payment/sandbox/unionpay"
)

func TestTheChecklistFindsNothingInAGoodConfiguration(t *testing.T) {
	env := liveSetup(t)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check"}, envOf(env), &out); err != nil {
		t.Fatalf("a good configuration failed the checklist: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Nothing a real provider would refuse") {
		t.Fatalf("checklist output:\n%s", out.String())
	}
}

func TestTheChecklistNamesEveryProblemOfABrokenConfigurationInPlainWords(t *testing.T) {
	env := liveSetup(t)
	dir := filepath.Dir(env["PAYMENT_CONFIG"])
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(small)
	smallFile := filepath.Join(dir, "small.pem")
	os.WriteFile(smallFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	pkcs1File := filepath.Join(dir, "pkcs1.pem")
	os.WriteFile(pkcs1File, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(liveKeys()[2])}), 0o600)
	shortKey := filepath.Join(dir, "apiv3-short.txt")
	os.WriteFile(shortKey, []byte("only-thirty-one-bytes-long-key!\n"), 0o600)
	editPayment(t, env, "alipay", "app_private_key_file", smallFile)
	editPayment(t, env, "alipay", "alipay_public_key_file", filepath.Join(dir, "missing.pem"))
	editPayment(t, env, "wechat", "merchant_private_key_file", pkcs1File)
	editPayment(t, env, "wechat", "apiv3_key_file", shortKey)
	editPayment(t, env, "card", "verify_middle_cert_file", env["PAYMENT_CONFIG"]) // a file with no certificate
	editPayment(t, env, "card", "verify_cert_owner", "中国银联股份有限公司 测试")
	editPayment(t, env, "card", "verify_cert_cn", "中国银联股份有限公司")
	editPayment(t, env, "paypal", "currency", "RMB")
	editPayment(t, env, "paypal", "rate", -1)
	editPayment(t, env, "paypal", "api_base", "https://api-m.sandbox.paypal.com")
	editPayment(t, env, "paypal", "notify_url", "http://pay.example.com/pay/notify/paypal")
	env["FORM_ACTION_ORIGINS"] = "http://www.paypal.com"
	// Listed, the web origins replace the documented ones: the sandbox's
	// loopback page origin, copied into a production file, is both refused
	// and missing WeChat's H5 host.
	editPayment(t, env, "wechat", "web_origins", []string{"http://127.0.0.1:8091"})

	var out bytes.Buffer
	err = run(context.Background(), []string{"check"}, envOf(env), &out)
	if err == nil {
		t.Fatalf("a broken configuration passed the checklist:\n%s", out.String())
	}
	for _, want := range []string{
		"app_private_key_file " + smallFile + " is a 1024-bit RSA key; the provider requires 2048 bits.",
		"alipay_public_key_file " + filepath.Join(dir, "missing.pem") + " cannot be read",
		`holds a "RSA PRIVATE KEY" block; a PKCS#8 "PRIVATE KEY" is expected.`,
		"apiv3_key_file holds 31 bytes; the APIv3 key is exactly 32.",
		"verify_middle_cert_file " + env["PAYMENT_CONFIG"] + " holds no PEM certificate.",
		`verify_cert_owner expects UnionPay to sign as "中国银联股份有限公司 测试"`,
		"verify_cert_cn is no longer read: verify_cert_owner",
		`currency "RMB" is not one PayPal takes`,
		"rate -1 is not a positive number",
		"api_base https://api-m.sandbox.paypal.com is the provider's own sandbox",
		"notify_url http://pay.example.com/pay/notify/paypal is not https",
		"FORM_ACTION_ORIGINS lists http://www.paypal.com, which is not https",
		"the browser passes through https://wx.tenpay.com",
		`web_origins lists "http://127.0.0.1:8091", which is not https`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the checklist does not say %q", want)
		}
	}
	// Grouped by provider: each heading once, problems under it.
	for _, heading := range []string{"\nenvironment:\n", "\nalipay:\n", "\nwechat:\n", "\ncard:\n", "\npaypal:\n"} {
		if strings.Count(out.String(), heading) != 1 {
			t.Errorf("heading %q appears %d times", strings.TrimSpace(heading), strings.Count(out.String(), heading))
		}
	}
	if t.Failed() {
		t.Logf("checklist output:\n%s", out.String())
	}
}

func TestTheChecklistStillSpeaksWhenAVariableIsBad(t *testing.T) {
	env := liveSetup(t)
	env["BASE_URL"] = "http://pay.example.com"
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check"}, envOf(env), &out); err == nil {
		t.Fatal("an http BASE_URL passed the checklist")
	}
	if !strings.Contains(out.String(), "BASE_URL: must use https in production.") || !strings.Contains(out.String(), "Going-live checklist") {
		t.Fatalf("checklist output:\n%s", out.String())
	}
}

func TestNoCommandAndHelpPrintUsageAndStartNothing(t *testing.T) {
	for _, args := range [][]string{nil, {"-h"}, {"help"}, {"sandbox", "-h"}, {"serve", "--help"}} {
		dataDir := filepath.Join(t.TempDir(), "data")
		env := envOf(map[string]string{"DATA_DIR": dataDir, "SANDBOX_ADDR": "127.0.0.1:0", "APP_ENV": "production"})
		var out bytes.Buffer
		if err := run(context.Background(), args, env, &out); err != nil {
			t.Errorf("im2pay %v: %v", args, err)
		}
		if !strings.HasPrefix(out.String(), "usage: im2pay <command>") {
			t.Errorf("im2pay %v printed %q", args, out.String())
		}
		if _, err := os.Stat(dataDir); err == nil {
			t.Errorf("im2pay %v created %s: it started something", args, dataDir)
		}
	}
}

// UnionPay's root and middle are checked link by link by the app's own rule:
// a swapped pair is named, and the sandbox's SHA-1 chain (like CFCA's)
// is refused only for being the sandbox's, never as a broken chain.
func TestTheChecklistChecksUnionPaysRootAndMiddle(t *testing.T) {
	env := liveSetup(t)
	raw, _ := os.ReadFile(env["PAYMENT_CONFIG"])
	var pc map[string]map[string]any
	if err := json.Unmarshal(raw, &pc); err != nil {
		t.Fatal(err)
	}
	editPayment(t, env, "card", "verify_root_cert_file", pc["card"]["verify_middle_cert_file"])
	editPayment(t, env, "card", "verify_middle_cert_file", pc["card"]["verify_root_cert_file"])
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check"}, envOf(env), &out); err == nil ||
		!strings.Contains(out.String(), "verify_root_cert_file and verify_middle_cert_file are not UnionPay's chain") {
		t.Fatalf("a swapped root and middle: %v\n%s", err, out.String())
	}

	env = liveSetup(t)
	card, err := unionpaysandbox.Provision(t.TempDir(), "http://127.0.0.1:8090")
	if err != nil {
		t.Fatal(err)
	}
	editPayment(t, env, "card", "verify_root_cert_file", copyOut(t, card.VerifyRootCertFile, false))
	editPayment(t, env, "card", "verify_middle_cert_file", copyOut(t, card.VerifyMiddleCertFile, false))
	out.Reset()
	if err := run(context.Background(), []string{"check"}, envOf(env), &out); err == nil {
		t.Fatal("the sandbox's root and middle passed the checklist")
	}
	if strings.Contains(out.String(), "not UnionPay's chain") || strings.Contains(out.String(), "cannot load") ||
		strings.Count(out.String(), "is the sandbox's certificate") != 2 {
		t.Fatalf("the sandbox's SHA-1 root and middle:\n%s", out.String())
	}
}
