package alipaysandbox

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"im2pay/payment/alipay"
)

func TestProvisionReusesItsKeysAndIDs(t *testing.T) {
	dir := t.TempDir()
	first, err := Provision(dir, "http://sandbox.test/")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := os.ReadFile(first.AppPrivateKeyFile)
	second, err := Provision(dir, "http://sandbox.test")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(second.AppPrivateKeyFile)
	if !reflect.DeepEqual(first, second) || string(key) != string(again) {
		t.Fatalf("second Provision changed things: %+v / %+v", first, second)
	}
	if first.GatewayURL != "http://sandbox.test/alipay/gateway.do" {
		t.Errorf("gateway %q", first.GatewayURL)
	}
	files, _ := filepath.Glob(filepath.Join(dir, keySubdir, "*"))
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", f, fi.Mode().Perm(), err)
		}
	}
	if len(files) != 5 {
		t.Errorf("files %v, want four keys and the ids", files)
	}
}

func TestMerchantConfigFailsClearly(t *testing.T) {
	cfg, err := Provision(t.TempDir(), "http://sandbox.test")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		change func(*alipay.Config)
		says   string
	}{
		{"a missing seller id is named", func(c *alipay.Config) { c.SellerID = "" }, "seller_id"},
		{"a gateway with a query is refused", func(c *alipay.Config) { c.GatewayURL += "?charset=utf-8" }, "gateway_url"},
		{"a missing key file is named", func(c *alipay.Config) { c.AlipayPublicKeyFile += ".gone" }, "Alipay public key"},
		{"a public key in place of the private key is refused", func(c *alipay.Config) {
			c.AppPrivateKeyFile = c.AlipayPublicKeyFile
		}, "app private key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := cfg
			c.change(&bad)
			if _, err := alipay.New(bad, nil); err == nil || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("New = %v, want an error about %s", err, c.says)
			}
		})
	}
}
