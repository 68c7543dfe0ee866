package paypalsandbox

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sdk "github.com/plutov/paypal/v4"

	"im2pay/payment"
	"im2pay/payment/paypal"
	"im2pay/payment/sandbox/sim"
)

func TestBadMerchantCredentialsGetPayPalsOAuthError(t *testing.T) {
	h := newHarness(t)
	wrongSecret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(wrongSecret, []byte("not-the-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		edit func(*paypal.Config)
	}{
		{"a wrong secret", func(c *paypal.Config) { c.SecretFile = wrongSecret }},
		{"an unknown app", func(c *paypal.Config) { c.ClientID = "AUnknownClientId" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := h.cfg
			c.edit(&cfg)
			prov, err := paypal.New(cfg, h.api.Client())
			if err != nil {
				t.Fatal(err)
			}
			o := h.order(6800)
			_, err = prov.Start(context.Background(), o)
			var er *sdk.ErrorResponse
			if !errors.As(err, &er) || er.Response.StatusCode != http.StatusUnauthorized {
				t.Fatalf("Start = %v, want a 401 from the token endpoint", err)
			}
			if body, _ := io.ReadAll(er.Response.Body); !strings.Contains(string(body), `"invalid_client"`) {
				t.Fatalf("401 body %s", body)
			}
			if _, found, _ := h.sb.Simulate(context.Background(), o.OutTradeNo, sim.Success); found {
				t.Fatal("the sandbox created an order for a bad client")
			}
		})
	}
	t.Run("an unknown access token is invalid_token", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, h.cfg.APIBase+"/v2/checkout/orders/ABC123", nil)
		req.Header.Set("Authorization", "Bearer A21AAforged")
		res, err := h.api.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), `"invalid_token"`) {
			t.Fatalf("%d %s", res.StatusCode, body)
		}
	})
}

func TestStartAndCloseAreSafe(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()

	t.Run("Start twice returns the same order, even after payment", func(t *testing.T) {
		o := h.order(6800)
		a, b := h.start(t, o), h.start(t, o)
		if a != b {
			t.Fatalf("%+v != %+v", a, b)
		}
		if _, _, err := h.sb.Simulate(ctx, o.OutTradeNo, sim.Success); err != nil {
			t.Fatal(err)
		}
		if _, err := h.prov.Complete(ctx, o.OutTradeNo, a.ProviderRef); err != nil {
			t.Fatal(err)
		}
		if c := h.start(t, o); c != a {
			t.Fatalf("%+v != %+v", c, a)
		}
	})

	t.Run("Close of an unpaid order succeeds, it simply expires", func(t *testing.T) {
		o := h.order(6800)
		next := h.start(t, o)
		if err := h.prov.Close(ctx, o.OutTradeNo, next.ProviderRef); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Close of a paid order is ErrAlreadyPaid", func(t *testing.T) {
		o, _, _ := h.paid(t)
		ref := h.sb.byTradeForTest(o.OutTradeNo)
		if err := h.prov.Close(ctx, o.OutTradeNo, ref); !errors.Is(err, payment.ErrAlreadyPaid) {
			t.Fatalf("Close = %v", err)
		}
	})
}

func TestCaptureEdgeCases(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	approve := func(t *testing.T, o payment.Order, oc sim.Outcome) {
		t.Helper()
		if _, _, err := h.sb.Simulate(ctx, o.OutTradeNo, oc); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("Complete twice captures once", func(t *testing.T) {
		o, first, _ := h.paid(t)
		again, err := h.prov.Complete(ctx, o.OutTradeNo, h.sb.byTradeForTest(o.OutTradeNo))
		if err != nil || again != first {
			t.Fatalf("second Complete = %+v, %v; want %+v", again, err, first)
		}
	})

	t.Run("an order captured elsewhere is read back as paid", func(t *testing.T) {
		o := h.order(6800)
		next := h.start(t, o)
		approve(t, o, sim.Success)
		c, _ := sdk.NewClient(h.cfg.ClientID, h.sb.secret, h.cfg.APIBase)
		c.SetHTTPClient(h.api.Client())
		if _, err := c.CaptureOrderWithPaypalRequestId(ctx, next.ProviderRef, sdk.CaptureOrderRequest{}, "another-request", nil); err != nil {
			t.Fatal(err)
		}
		r, err := h.prov.Complete(ctx, o.OutTradeNo, next.ProviderRef) // meets ORDER_ALREADY_CAPTURED
		if err != nil || r.Status != payment.StatusPaid || r.Amount != 6800 {
			t.Fatalf("Complete = %+v, %v", r, err)
		}
	})

	t.Run("an amount over PayPal's limit fails at capture", func(t *testing.T) {
		o := h.order(MaxAmount + 1)
		next := h.start(t, o)
		approve(t, o, sim.Success)
		r, err := h.prov.Complete(ctx, o.OutTradeNo, next.ProviderRef)
		if err != nil || r.Status != payment.StatusFailed || r.Reason != payment.ReasonOverLimit {
			t.Fatalf("Complete = %+v, %v", r, err)
		}
	})

	t.Run("a declined payer may approve again with another source", func(t *testing.T) {
		o := h.order(6800)
		next := h.start(t, o)
		approve(t, o, sim.Declined)
		r, err := h.prov.Complete(ctx, o.OutTradeNo, next.ProviderRef)
		if err != nil || r.Status != payment.StatusFailed || r.Reason != payment.ReasonDeclined || r.Final {
			t.Fatalf("Complete = %+v, %v; want a non-final decline", r, err)
		}
		approve(t, o, sim.Success)
		if r, err := h.prov.Complete(ctx, o.OutTradeNo, next.ProviderRef); err != nil || r.Status != payment.StatusPaid {
			t.Fatalf("Complete after approving again = %+v, %v", r, err)
		}
	})
}

func TestTheMerchantSideFailsClosed(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()

	t.Run("a return naming another order is refused", func(t *testing.T) {
		mine, theirs := h.order(6800), h.order(100)
		h.start(t, mine)
		cheap := h.start(t, theirs)
		if _, _, err := h.sb.Simulate(ctx, theirs.OutTradeNo, sim.Success); err != nil {
			t.Fatal(err)
		}
		if _, err := h.prov.Complete(ctx, mine.OutTradeNo, cheap.ProviderRef); !errors.Is(err, payment.ErrWrongMerchant) {
			t.Fatalf("Complete = %v", err)
		}
	})

	t.Run("an unknown order is ErrNotFound", func(t *testing.T) {
		if _, err := h.prov.Query(ctx, "IM000000000000000001", "NOSUCHORDER12345"); !errors.Is(err, payment.ErrNotFound) {
			t.Fatalf("Query = %v", err)
		}
	})

	t.Run("a token the sandbox forgot is replaced once", func(t *testing.T) {
		o := h.order(6800)
		next := h.start(t, o)
		h.sb.forgetTokens()
		if r, err := h.prov.Query(ctx, o.OutTradeNo, next.ProviderRef); err != nil || r.Status != payment.StatusPending {
			t.Fatalf("Query = %+v, %v", r, err)
		}
	})
}

func TestProvisionReusesItsKeysAndNewFailsClearly(t *testing.T) {
	dir := t.TempDir()
	a, err := Provision(dir, "http://127.0.0.1:1", "http://127.0.0.1:2/hook")
	if err != nil {
		t.Fatal(err)
	}
	key1, _ := os.ReadFile(filepath.Join(dir, subdir, keyFile))
	b, err := Provision(dir, "http://127.0.0.1:3", "http://127.0.0.1:4/hook")
	key2, _ := os.ReadFile(filepath.Join(dir, subdir, keyFile))
	if err != nil || a.ClientID != b.ClientID || a.WebhookID != b.WebhookID || string(key1) != string(key2) {
		t.Fatalf("second Provision changed the app: %+v vs %+v, %v", a, b, err)
	}
	if b.APIBase != "http://127.0.0.1:3/paypal" {
		t.Fatalf("APIBase = %q", b.APIBase)
	}
	for _, f := range []string{secretFile, keyFile, certFile, stateFile} {
		if st, err := os.Stat(filepath.Join(dir, subdir, f)); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, st.Mode(), err)
		}
	}
	if _, err := paypal.New(paypal.Config{ClientID: "x"}, nil); err == nil || !strings.Contains(err.Error(), "secret_file") {
		t.Fatalf("New without a secret file = %v", err)
	}
	if _, err := New(t.TempDir(), nil, nil); err == nil || !strings.Contains(err.Error(), "Provision") {
		t.Fatalf("sandbox New in an empty dir = %v", err)
	}
}
