package paypalsandbox

import (
	"context"
	"errors"
	"net/http"
	"testing"

	sdk "github.com/plutov/paypal/v4"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
)

// issueOf is the details[].issue and status of a PayPal API error.
func issueOf(err error) (string, int) {
	var er *sdk.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil || len(er.Details) == 0 {
		return "", 0
	}
	return er.Details[0].Issue, er.Response.StatusCode
}

func TestTheSandboxTakesPayPalsCurrenciesAndCNYOnlyFromAnAccountInChina(t *testing.T) {
	ctx := context.Background()
	us := newHarness(t)
	if us.cfg.Currency != "USD" || us.cfg.Rate != DemoRate || us.cfg.InCountry {
		t.Fatalf("the demo account is priced %s at %s (in_country %v), want USD at %s", us.cfg.Currency, us.cfg.Rate, us.cfg.InCountry, DemoRate)
	}
	cases := []struct {
		name      string
		currency  string
		amount    int64
		wantIssue string
	}{
		{"USD, the demo account's currency", "USD", 945, ""},
		{"EUR, another currency PayPal lists", "EUR", 860, ""},
		{"JPY in whole yen (a zero-digit currency)", "JPY", 1313, ""},
		{"CNY for an account outside China", "CNY", 6800, "CURRENCY_NOT_SUPPORTED"},
		{"MYR for an account outside Malaysia", "MYR", 4200, "CURRENCY_NOT_SUPPORTED"},
		{"a currency PayPal does not list (KRW)", "KRW", 13000, "CURRENCY_NOT_SUPPORTED"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := us.order(c.amount)
			o.Currency = c.currency
			if c.currency == "KRW" {
				// The merchant side never sends a currency PayPal does not
				// list: ask the API directly.
				_, err := us.createRaw(ctx, o.OutTradeNo, "KRW", "13000")
				if issue, status := issueOf(err); issue != c.wantIssue || status != http.StatusUnprocessableEntity {
					t.Fatalf("create = %v, want 422 %s", err, c.wantIssue)
				}
				return
			}
			next, err := us.prov.Start(ctx, o)
			if c.wantIssue != "" {
				if issue, status := issueOf(err); issue != c.wantIssue || status != http.StatusUnprocessableEntity {
					t.Fatalf("Start = %v, want 422 %s", err, c.wantIssue)
				}
				return
			}
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			us.simulate(t, o.OutTradeNo, sim.Success)
			r, err := us.prov.Complete(ctx, o.OutTradeNo, next.ProviderRef)
			if err != nil || r.Status != payment.StatusPaid || r.Amount != c.amount || r.Currency != c.currency {
				t.Fatalf("Complete = %+v, %v; want %d %s paid", r, err, c.amount, c.currency)
			}
		})
	}
	t.Run("a decimal amount in a zero-digit currency is DECIMALS_NOT_SUPPORTED", func(t *testing.T) {
		_, err := us.createRaw(ctx, us.order(1).OutTradeNo, "JPY", "1313.50")
		if issue, status := issueOf(err); issue != "DECIMALS_NOT_SUPPORTED" || status != http.StatusUnprocessableEntity {
			t.Fatalf("create = %v, want 422 DECIMALS_NOT_SUPPORTED", err)
		}
	})

	cn := newHarnessIn(t, "CN")
	if cn.cfg.Currency != "CNY" || !cn.cfg.InCountry || cn.cfg.Rate != "" {
		t.Fatalf("an account in China is priced %s at %q (in_country %v), want CNY in-country", cn.cfg.Currency, cn.cfg.Rate, cn.cfg.InCountry)
	}
	t.Run("CNY for an account registered in China", func(t *testing.T) {
		o := cn.order(6800)
		o.Currency = "CNY"
		next := cn.start(t, o)
		cn.simulate(t, o.OutTradeNo, sim.Success)
		r, err := cn.prov.Complete(ctx, o.OutTradeNo, next.ProviderRef)
		if err != nil || r.Status != payment.StatusPaid || r.Amount != 6800 || r.Currency != "CNY" {
			t.Fatalf("Complete = %+v, %v; want ¥68.00 paid", r, err)
		}
	})
}

// createRaw creates an order with the API as it is, bypassing the
// merchant side's own checks.
func (h *harness) createRaw(ctx context.Context, no, currency, value string) (*sdk.Order, error) {
	c, err := sdk.NewClient(h.cfg.ClientID, h.sb.secret, h.cfg.APIBase)
	if err != nil {
		return nil, err
	}
	c.SetHTTPClient(h.api.Client())
	if _, err := c.GetAccessToken(ctx); err != nil {
		return nil, err
	}
	return c.CreateOrder(ctx, sdk.OrderIntentCapture, []sdk.PurchaseUnitRequest{{
		Amount: &sdk.PurchaseUnitAmount{Currency: currency, Value: value}, CustomID: no, InvoiceID: no}},
		nil, &sdk.ApplicationContext{ReturnURL: "https://pay.im2.example/r", CancelURL: "https://pay.im2.example/c"})
}

func TestACompletedCaptureCarriesTheSellersFeeAndNet(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	_, r, _ := h.paid(t) // US$68.00
	c, err := sdk.NewClient(h.cfg.ClientID, h.sb.secret, h.cfg.APIBase)
	if err != nil {
		t.Fatal(err)
	}
	c.SetHTTPClient(h.api.Client())
	if _, err := c.GetAccessToken(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := c.CapturedDetail(ctx, r.TradeNo)
	if err != nil {
		t.Fatal(err)
	}
	b := got.SellerReceivableBreakdown
	if b == nil || b.GrossAmount == nil || b.PaypalFee == nil || b.NetAmount == nil {
		t.Fatalf("capture %s has no seller_receivable_breakdown: %+v", r.TradeNo, b)
	}
	for _, m := range []struct {
		name string
		got  *sdk.Money
		want string
	}{{"gross", b.GrossAmount, "68.00"}, {"fee (4%)", b.PaypalFee, "2.72"}, {"net", b.NetAmount, "65.28"}} {
		if m.got.Currency != "USD" || m.got.Value != m.want {
			t.Errorf("%s = %s %s, want %s USD", m.name, m.got.Value, m.got.Currency, m.want)
		}
	}
	if b.ReceivableAmount != nil || b.ExchangeRate != nil {
		t.Errorf("a capture in a currency the account holds converts nothing: %+v %+v", b.ReceivableAmount, b.ExchangeRate)
	}
}
