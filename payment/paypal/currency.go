package paypal

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"im2pay/payment"
)

// Currencies are the currencies PayPal takes for payments, from its
// currency codes reference (developer.paypal.com/reference/currency-codes/,
// the same list as developer.paypal.com/docs/reports/reference/paypal-supported-currencies/).
var Currencies = []string{"AUD", "BRL", "CAD", "CNY", "CZK", "DKK", "EUR", "HKD", "HUF", "ILS", "JPY",
	"MYR", "MXN", "TWD", "NZD", "NOK", "PHP", "PLN", "GBP", "SGD", "SEK", "CHF", "THB", "USD"}

// InCountryCurrencies are supported "as a payment currency or settlement
// currency only for in-country PayPal accounts" (same pages, note 1): a
// merchant account registered outside China cannot be paid in CNY.
var InCountryCurrencies = []string{"BRL", "CNY", "MYR"}

// Decimals is how many digits a currency's amounts have after the point.
// HUF, JPY and TWD are "zero-digit" currencies on PayPal's reference: an
// amount with decimals is refused (DECIMALS_NOT_SUPPORTED). Every other
// currency PayPal lists takes two.
func Decimals(currency string) int {
	switch currency {
	case "HUF", "JPY", "TWD":
		return 0
	}
	return 2
}

// DefaultCurrency is what orders are priced in when the configuration
// names none: the currency most PayPal merchant accounts outside China hold.
const DefaultCurrency = "USD"

// RateText is the configured rate as written: a JSON number (7.2) or a
// string ("7.2000"). It is kept as text, never decoded into a float, and
// read exactly by payment.ParseRate.
type RateText string

// UnmarshalJSON takes a number literal or a string.
func (r *RateText) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*r = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*r = RateText(s)
		return nil
	}
	*r = RateText(b)
	return nil
}

// ErrPricing wraps every refusal of the configured currency or rate.
var ErrPricing = errors.New("paypal: currency or rate")

// Pricing is the currency orders are quoted in and its rate (CNY per one
// unit), read from the configuration. It refuses a currency PayPal does not
// list, an in-country currency (CNY) unless in_country says the account is
// registered there, and a missing or malformed rate; a CNY account needs
// no rate (it is 1).
func (c Config) Pricing() (string, payment.Rate, error) {
	cur := c.Currency
	if cur == "" {
		cur = DefaultCurrency
	}
	if !slices.Contains(Currencies, cur) {
		return "", 0, fmt.Errorf("%w: currency %q is not one PayPal takes (%s)", ErrPricing, cur, strings.Join(Currencies, ", "))
	}
	if slices.Contains(InCountryCurrencies, cur) && !c.InCountry {
		return "", 0, fmt.Errorf("%w: PayPal takes %s only for accounts registered in its country: set in_country if yours is one, else another currency and a rate", ErrPricing, cur)
	}
	if cur == "CNY" {
		if c.Rate != "" {
			if r, err := payment.ParseRate(string(c.Rate)); err != nil || r != payment.RateOne {
				return "", 0, fmt.Errorf("%w: currency CNY has rate %s; it can only be 1", ErrPricing, c.Rate)
			}
		}
		return cur, payment.RateOne, nil
	}
	if c.Rate == "" {
		return "", 0, fmt.Errorf("%w: currency %s needs a rate: how many CNY one %s is (e.g. \"7.2000\")", ErrPricing, cur, cur)
	}
	r, err := payment.ParseRate(string(c.Rate))
	if err != nil {
		return "", 0, fmt.Errorf("%w: %w", ErrPricing, err)
	}
	return cur, r, nil
}

// Convert prices fen in the configured currency (payment.Converter):
// rounded up to the currency's smallest unit, see payment.Rate.Convert.
func (p *Provider) Convert(fen int64) (payment.Price, error) {
	d := Decimals(p.currency)
	amount := p.rate.Convert(fen, d)
	if amount <= 0 {
		return payment.Price{}, fmt.Errorf("paypal: cannot price %d fen in %s at %s", fen, p.currency, p.rate)
	}
	return payment.Price{Currency: p.currency, Amount: amount, Rate: p.rate, Decimals: d}, nil
}

// value is an amount in minor units as PayPal's amount.value.
func value(minor int64, currency string) string {
	return payment.FormatMinor(minor, Decimals(currency))
}

// parseValue reads PayPal's amount.value exactly in currency's precision.
func parseValue(s, currency string) (int64, error) { return payment.ParseMinor(s, Decimals(currency)) }
