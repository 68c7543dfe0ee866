package wechatsandbox

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
	"im2pay/payment/wechat"
)

// newMigratingHarness is newHarness for a merchant switching from the
// platform certificate to the public key: the sandbox signs share of its
// notifications with the certificate, and the merchant side is configured
// with both (or, withCert false, with the public key only).
func newMigratingHarness(t *testing.T, share float64, withCert bool) *harness {
	t.Helper()
	mux := http.NewServeMux()
	api := httptest.NewServer(mux)
	t.Cleanup(api.Close)
	dir := t.TempDir()
	cfg, err := ProvisionMigrating(dir, api.URL)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PlatformCertSerialNo == cfg.WeChatPayPublicKeyID || len(cfg.PlatformCertSerialNo) != 40 {
		t.Fatalf("platform certificate serial %q, want 40 hex digits apart from the key id", cfg.PlatformCertSerialNo)
	}
	if !withCert {
		cfg.PlatformCertSerialNo, cfg.PlatformCertFile = "", ""
	}
	p, err := wechat.New(cfg, api.Client())
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, api: api, cfg: cfg, p: p, hook: newHook(t, p)}
	h.n = sim.NewNotifier(nil, 0.001, nil)
	t.Cleanup(h.n.Close)
	if h.sb, err = New(dir, h.n, nil); err != nil {
		t.Fatal(err)
	}
	if err := h.sb.Migrate(dir, share); err != nil {
		t.Fatal(err)
	}
	h.sb.Routes(mux)
	return h
}

func TestAMigratingMerchantCreditsNotificationsSignedEitherWay(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		share float64
	}{{"by the platform certificate", 1}, {"by the public key", 0}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newMigratingHarness(t, c.share, true)
			o := h.order(payment.Desktop, 68_00)
			h.start(o)
			if _, _, err := h.sb.Simulate(context.Background(), o.OutTradeNo, sim.Success); err != nil {
				t.Fatal(err)
			}
			n := h.hook.waitFor(t, o.OutTradeNo, 1)[0]
			if n.Result.Status != payment.StatusPaid || n.Result.Amount != 68_00 {
				t.Fatalf("notification %+v, want a verified payment of 6800", n.Result)
			}
		})
	}
}

// A merchant that configured only the public key cannot verify what the
// certificate signed: it refuses, and WeChat keeps retrying.
func TestAMerchantWithoutThePlatformCertificateRefusesWhatItSigned(t *testing.T) {
	t.Parallel()
	h := newMigratingHarness(t, 1, false)
	o := h.order(payment.Desktop, 68_00)
	h.start(o)
	if _, _, err := h.sb.Simulate(context.Background(), o.OutTradeNo, sim.Success); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(hangGuard)
	for {
		h.hook.mu.Lock()
		bad := append([]error(nil), h.hook.bad...)
		h.hook.mu.Unlock()
		if len(bad) >= 2 {
			for _, err := range bad {
				if !errors.Is(err, payment.ErrBadSignature) {
					t.Errorf("refused with %v, want ErrBadSignature", err)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d refused deliveries after %v, want the first and a retry", len(bad), hangGuard)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := h.hook.notes(o.OutTradeNo); len(got) != 0 {
		t.Fatalf("%d notifications accepted, want none", len(got))
	}
}
