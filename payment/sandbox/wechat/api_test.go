package wechatsandbox

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
	"im2pay/payment/wechat"
)

func TestUnacknowledgedNotificationIsRetriedUntilAccepted(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o := h.order(payment.Desktop, 30_00)
	h.start(o)
	h.hook.mu.Lock()
	h.hook.refuse[o.OutTradeNo] = 3
	h.hook.mu.Unlock()
	if _, _, err := h.sb.Simulate(context.Background(), o.OutTradeNo, sim.Success); err != nil {
		t.Fatal(err)
	}
	got := h.hook.waitFor(t, o.OutTradeNo, 1)
	time.Sleep(100 * time.Millisecond) // no retry after the acknowledgement
	h.hook.mu.Lock()
	defer h.hook.mu.Unlock()
	if n := h.hook.attempts[o.OutTradeNo]; n != 4 {
		t.Errorf("%d attempts, want 3 refused + 1 accepted", n)
	}
	if len(h.hook.got[o.OutTradeNo]) != 1 || got[0].EventID == "" {
		t.Errorf("accepted %d notifications, want 1 with an id", len(h.hook.got[o.OutTradeNo]))
	}
}

func TestStartTwiceReturnsTheSamePayment(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, dev := range []payment.Device{payment.Desktop, payment.Phone} {
		o := h.order(dev, 68_00)
		first, err1 := h.p.Start(context.Background(), o)
		second, err2 := h.p.Start(context.Background(), o)
		if err1 != nil || err2 != nil || first != second {
			t.Errorf("%s: %+v, %v then %+v, %v", dev, first, err1, second, err2)
		}
		o.Amount++
		var ae *core.APIError
		if _, err := h.p.Start(context.Background(), o); !errors.As(err, &ae) || ae.Code != "OUT_TRADE_NO_USED" {
			t.Errorf("%s: a different request for the same order: %v, want OUT_TRADE_NO_USED", dev, err)
		}
	}
}

func TestCloseClosesAnUnpaidOrderButNotAPaidOne(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	unpaid := h.order(payment.Desktop, 6_00)
	h.start(unpaid)
	if err := h.p.Close(ctx, unpaid.OutTradeNo, ""); err != nil {
		t.Fatalf("Close unpaid: %v", err)
	}
	if res := h.status(unpaid.OutTradeNo); res.Status != payment.StatusClosed {
		t.Errorf("after Close: %s, want closed", res.Status)
	}
	if _, _, err := h.sb.Simulate(ctx, unpaid.OutTradeNo, sim.Success); err == nil {
		t.Errorf("a closed order could still be paid")
	}
	paid := h.order(payment.Phone, 6_00)
	h.start(paid)
	if _, _, err := h.sb.Simulate(ctx, paid.OutTradeNo, sim.Success); err != nil {
		t.Fatal(err)
	}
	if err := h.p.Close(ctx, paid.OutTradeNo, ""); !errors.Is(err, payment.ErrAlreadyPaid) {
		t.Errorf("Close paid: %v, want ErrAlreadyPaid", err)
	}
	if _, err := h.p.Start(ctx, paid); !errors.Is(err, payment.ErrAlreadyPaid) {
		t.Errorf("Start paid: %v, want ErrAlreadyPaid", err)
	}
	if _, err := h.p.Query(ctx, "NeverStarted0000001", ""); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("Query unknown: %v, want ErrNotFound", err)
	}
}

// writeKey writes a fresh RSA key as PKCS#8 PEM.
func writeKey(t *testing.T, path string) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSandboxRefusesBadMerchantRequestsWithWeChatErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	otherKey := filepath.Join(t.TempDir(), "other.pem")
	writeKey(t, otherKey)
	cases := []struct {
		name   string
		change func(*wechat.Config)
		status int
		code   string
	}{
		{"a signature from another key", func(c *wechat.Config) { c.MerchantPrivateKeyFile = otherKey }, 401, "SIGN_ERROR"},
		{"an unknown certificate serial", func(c *wechat.Config) { c.MerchantCertSerialNo = "5157F09EFDC096DE15EBE81A47057A72" }, 401, "SIGN_ERROR"},
		{"an unknown merchant", func(c *wechat.Config) { c.MchID = "1999999999" }, 400, "MCH_NOT_EXISTS"},
		{"an app of another merchant", func(c *wechat.Config) { c.AppID = "wx0000000000000000" }, 400, "APPID_MCHID_NOT_MATCH"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := h.cfg
			c.change(&cfg)
			p, err := wechat.New(cfg, h.api.Client())
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Start(context.Background(), h.order(payment.Desktop, 6_00))
			var ae *core.APIError
			if !errors.As(err, &ae) || ae.StatusCode != c.status || ae.Code != c.code {
				t.Fatalf("Start: %v, want %d %s", err, c.status, c.code)
			}
		})
	}
	res, err := http.Post(h.cfg.BaseURL+"/v3/pay/transactions/native", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct{ Code, Message string }
	if err := json.NewDecoder(io.LimitReader(res.Body, 4096)).Decode(&body); err != nil || res.StatusCode != 401 ||
		body.Code != "SIGN_ERROR" || body.Message == "" {
		t.Errorf("unsigned request: %d %+v %v", res.StatusCode, body, err)
	}
}

func TestMerchantRefusesAnswersNotSignedByWeChatPay(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	k := writeKey(t, filepath.Join(dir, "k.pem"))
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	pub := filepath.Join(dir, "pub.pem")
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := h.cfg
	cfg.WeChatPayPublicKeyFile = pub
	p, err := wechat.New(cfg, h.api.Client())
	if err != nil {
		t.Fatal(err)
	}
	o := h.order(payment.Desktop, 6_00)
	if _, err := p.Start(context.Background(), o); !errors.Is(err, payment.ErrBadSignature) {
		t.Errorf("Start: %v, want ErrBadSignature", err)
	}
	h.start(o)
	if _, _, err := h.sb.Simulate(context.Background(), o.OutTradeNo, sim.Success); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Query(context.Background(), o.OutTradeNo, ""); !errors.Is(err, payment.ErrBadSignature) {
		t.Errorf("Query: %v, want ErrBadSignature", err)
	}
	// A close's answer counts only when WeChat Pay signed it.
	if err := p.Close(context.Background(), o.OutTradeNo, ""); errors.Is(err, payment.ErrAlreadyPaid) ||
		!errors.Is(err, payment.ErrBadSignature) {
		t.Errorf("Close paid: %v, want ErrBadSignature", err)
	}
}

func TestNewFailsClearlyOnMissingConfiguration(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := h.cfg
	cfg.APIv3KeyFile, cfg.MchID = "", ""
	if _, err := wechat.New(cfg, nil); err == nil || !strings.Contains(err.Error(), "mch_id") ||
		!strings.Contains(err.Error(), "apiv3_key_file") {
		t.Errorf("New: %v, want both missing fields named", err)
	}
	again, err := Provision(filepath.Dir(h.cfg.APIv3KeyFile), h.api.URL)
	if err != nil || !reflect.DeepEqual(again, h.cfg) {
		t.Errorf("Provision again = %+v, %v; want the same config", again, err)
	}
}
