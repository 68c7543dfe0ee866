package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestTheChecklistNamesPayPalCurrenciesAndRatesPayPalWouldRefuseOrThatLookWrong(t *testing.T) {
	cases := []struct {
		name     string
		edit     map[string]any // nil value: field removed
		says     string         // "" means nothing is found
		refusals bool           // production refuses to start over it
	}{
		{"USD at 7.2000 is fine", map[string]any{}, "", false},
		{"a rate as a JSON number is fine", map[string]any{"rate": 7.2}, "", false},
		{"no currency means USD, which needs a rate", map[string]any{"currency": nil, "rate": nil},
			"currency is USD but no rate says how many yuan one USD is.", true},
		{"CNY from an account outside China", map[string]any{"currency": "CNY", "rate": nil},
			"orders would be priced in CNY, which PayPal takes only from accounts registered in its country", true},
		{"CNY from an account registered in China is fine", map[string]any{"currency": "CNY", "rate": nil, "in_country": true}, "", false},
		{"CNY at a rate other than 1", map[string]any{"currency": "CNY", "rate": "7.2", "in_country": true},
			"rate 7.2 makes no sense for CNY orders", true},
		{"a currency PayPal does not list", map[string]any{"currency": "KRW"}, `currency "KRW" is not one PayPal takes`, true},
		{"a zero rate", map[string]any{"rate": "0"}, "rate 0 is not a positive number of yuan per USD", true},
		{"a rate with too many decimals", map[string]any{"rate": "7.1234567"}, "rate 7.1234567 is not a positive number", true},
		{"USD per CNY instead of CNY per USD", map[string]any{"rate": "0.1389"},
			"rate 0.1389 CNY per USD is far from the usual 7.2000: is it written the other way round", false},
		{"yen per 100", map[string]any{"currency": "JPY", "rate": "4.8"}, "rate 4.8000 CNY per JPY is far from the usual 0.0480", false},
		{"yen per yen is fine", map[string]any{"currency": "JPY", "rate": "0.047812"}, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := liveSetup(t)
			for k, v := range c.edit {
				editPayment(t, env, "paypal", k, v)
			}
			var out bytes.Buffer
			err := run(context.Background(), []string{"check"}, envOf(env), &out)
			if c.says == "" {
				if err != nil {
					t.Fatalf("the checklist found problems: %v\n%s", err, out.String())
				}
				return
			}
			if err == nil || !strings.Contains(out.String(), c.says) {
				t.Fatalf("the checklist does not say %q:\n%s", c.says, out.String())
			}
			if strings.Contains(out.String(), "cannot load this section") {
				t.Errorf("the pricing problem is said twice:\n%s", out.String())
			}
			found := goLive(mustConfig(t, envOf(env)))
			if got := refusals(found) != nil; got != c.refusals {
				t.Errorf("production refuses to start: %v, want %v", got, c.refusals)
			}
		})
	}
}
