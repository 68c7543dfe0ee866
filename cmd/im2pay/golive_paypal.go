package main

import (
	"slices"
	"strings"

	"im2pay/payment"
	"im2pay/payment/paypal"
)

// payPalPricing checks the currency PayPal orders are priced in and its
// rate, each problem on its own (paypal.Config.Pricing stops at the
// first). The app cannot load a section with any of them, so each stops a
// production start.
func (c *checklist) payPalPricing(cfg paypal.Config) {
	const a = "paypal"
	cur := cfg.Currency
	if cur == "" {
		cur = paypal.DefaultCurrency
	}
	listed := slices.Contains(paypal.Currencies, cur)
	switch {
	case !listed:
		// developer.paypal.com/reference/currency-codes/
		c.refuse(a, "currency %q is not one PayPal takes (%s).", cur, strings.Join(paypal.Currencies, ", "))
	case slices.Contains(paypal.InCountryCurrencies, cur) && !cfg.InCountry:
		c.refuse(a, "orders would be priced in %s, which PayPal takes only from accounts registered in its country (CNY: China): set currency (e.g. USD) and a rate, or in_country if your account is one.", cur)
	}
	if cur == "CNY" {
		if cfg.Rate != "" {
			if r, err := payment.ParseRate(string(cfg.Rate)); err != nil || r != payment.RateOne {
				c.refuse(a, "rate %s makes no sense for CNY orders: leave it out (CNY is 1).", cfg.Rate)
			}
		}
		return
	}
	if cfg.Rate == "" {
		if listed {
			c.refuse(a, "currency is %s but no rate says how many yuan one %s is.", cur, cur)
		}
		return
	}
	r, err := payment.ParseRate(string(cfg.Rate))
	if err != nil {
		c.refuse(a, "rate %s is not a positive number of yuan per %s with at most six decimals (e.g. \"7.2000\").", cfg.Rate, cur)
		return
	}
	if usual, ok := usualRates[cur]; ok && (r*2 < usual || r > usual*2) {
		c.note(a, "rate %s CNY per %s is far from the usual %s: is it written the other way round, or per 100 %s? Every PayPal order is priced with it.",
			r, cur, usual, cur)
	}
}

// usualRates are rough CNY prices of one unit of each currency PayPal
// takes (market rates of 2025, rounded), only to catch a rate written the
// wrong way round (0.1389 for USD) or per 100 units (4.8 for JPY): a
// configured rate less than half or more than twice these is named. They
// price nothing.
var usualRates = map[string]payment.Rate{
	"AUD": 4_700_000, "BRL": 1_300_000, "CAD": 5_200_000, "CHF": 8_600_000, "CZK": 320_000, "DKK": 1_050_000,
	"EUR": 7_900_000, "GBP": 9_300_000, "HKD": 920_000, "HUF": 20_000, "ILS": 2_000_000, "JPY": 48_000,
	"MXN": 390_000, "MYR": 1_600_000, "NOK": 680_000, "NZD": 4_200_000, "PHP": 125_000, "PLN": 1_850_000,
	"SEK": 720_000, "SGD": 5_400_000, "THB": 210_000, "TWD": 230_000, "USD": 7_200_000,
}
