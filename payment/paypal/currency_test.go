package paypal

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"im2pay/payment"
)

func TestTheConfiguredCurrencyMustBeOnePayPalTakesFromThisAccount(t *testing.T) {
	cases := []struct {
		name     string
		json     string
		currency string
		rate     payment.Rate
		refusal  string
	}{
		{"USD at a string rate", `{"currency":"USD","rate":"7.2000"}`, "USD", 7_200_000, ""},
		{"USD at a number rate, read as written", `{"currency":"USD","rate":7.123456}`, "USD", 7_123_456, ""},
		{"no currency is USD", `{"rate":"7.2"}`, "USD", 7_200_000, ""},
		{"JPY per yen", `{"currency":"JPY","rate":"0.047812"}`, "JPY", 47_812, ""},
		{"CNY from an account registered in China", `{"currency":"CNY","in_country":true}`, "CNY", payment.RateOne, ""},
		{"USD without a rate", `{"currency":"USD"}`, "", 0, "needs a rate"},
		{"no currency and no rate", `{}`, "", 0, "currency USD needs a rate"},
		{"CNY from an account outside China", `{"currency":"CNY"}`, "", 0, "only for accounts registered in its country"},
		{"MYR from an account outside Malaysia", `{"currency":"MYR","rate":"1.6"}`, "", 0, "only for accounts registered"},
		{"CNY at a rate other than 1", `{"currency":"CNY","in_country":true,"rate":"7.2"}`, "", 0, "it can only be 1"},
		{"a currency PayPal does not list", `{"currency":"KRW","rate":"0.005"}`, "", 0, `"KRW" is not one PayPal takes`},
		{"a lower-case code", `{"currency":"usd","rate":"7.2"}`, "", 0, "is not one PayPal takes"},
		{"a negative rate", `{"currency":"USD","rate":-7.2}`, "", 0, "not a decimal number"},
		{"a rate in exponent form", `{"currency":"USD","rate":7.2e0}`, "", 0, "not a decimal number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var cfg Config
			if err := json.Unmarshal([]byte(c.json), &cfg); err != nil {
				t.Fatal(err)
			}
			cur, rate, err := cfg.Pricing()
			if c.refusal != "" {
				if err == nil || !errors.Is(err, ErrPricing) || !strings.Contains(err.Error(), c.refusal) {
					t.Fatalf("Pricing = %s %s, %v; want a refusal saying %q", cur, rate, err, c.refusal)
				}
				return
			}
			if err != nil || cur != c.currency || rate != c.rate {
				t.Fatalf("Pricing = %s %s, %v; want %s %s", cur, rate, err, c.currency, c.rate)
			}
		})
	}
}

func TestTheProviderPricesOrdersInItsCurrencyRoundedUp(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := Config{ClientID: "id", SecretFile: secret, APIBase: "http://127.0.0.1:1/paypal", WebhookID: "WH1"}
	cases := []struct {
		currency, rate string
		inCountry      bool
		want           payment.Price
	}{
		{"USD", "7.2", false, payment.Price{Currency: "USD", Amount: 945, Rate: 7_200_000, Decimals: 2}},
		{"JPY", "0.047812", false, payment.Price{Currency: "JPY", Amount: 1423, Rate: 47_812, Decimals: 0}},
		{"CNY", "", true, payment.Price{Currency: "CNY", Amount: 6800, Rate: payment.RateOne, Decimals: 2}},
	}
	for _, c := range cases {
		cfg := base
		cfg.Currency, cfg.Rate, cfg.InCountry = c.currency, RateText(c.rate), c.inCountry
		p, err := New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Convert(6800)
		if err != nil || got != c.want {
			t.Errorf("%s: Convert(¥68.00) = %+v, %v; want %+v", c.currency, got, err, c.want)
		}
	}
	cfg := base
	cfg.Currency = "CNY"
	if _, err := New(cfg, nil); !errors.Is(err, ErrPricing) {
		t.Errorf("New with CNY for an account outside China = %v, want a pricing refusal", err)
	}
}
