package payment

import (
	"fmt"
	"math/big"
	"strings"
)

// Rate is an exchange rate: how many yuan one unit of another currency is
// worth, in millionths of a yuan (7.2 CNY per USD is 7_200_000). Six
// decimals hold the rates banks quote for currencies worth little per unit
// (1 JPY = 0.047812 CNY) exactly; no float ever holds a rate.
type Rate int64

// RateOne is 1 CNY per unit: the rate of a CNY payment.
const RateOne Rate = 1_000_000

// maxRate bounds what ParseRate accepts (1,000,000 CNY per unit): no real
// currency is near it, and it keeps Convert's products far from overflow.
const maxRate Rate = 1_000_000 * RateOne

// ParseRate reads a positive decimal rate ("7.2", "7.2000", "0.047812")
// exactly, with at most six decimals. Anything else is an error.
func ParseRate(s string) (Rate, error) {
	whole, frac, hasDot := cutDot(strings.TrimSpace(s))
	if whole == "" || len(whole) > 7 || (hasDot && (frac == "" || len(frac) > 6)) || !digits(whole) || !digits(frac) {
		return 0, fmt.Errorf("rate %q is not a decimal number with at most six decimals", s)
	}
	var r int64
	for _, c := range whole + frac + strings.Repeat("0", 6-len(frac)) {
		r = r*10 + int64(c-'0')
	}
	if r <= 0 || Rate(r) > maxRate {
		return 0, fmt.Errorf("rate %q is not a positive rate below %s", s, maxRate)
	}
	return Rate(r), nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String is the rate with four decimals, or more where they are not
// zero: "7.2000", "0.047812". It is what the person is shown and what the
// order stores.
func (r Rate) String() string {
	frac := fmt.Sprintf("%06d", int64(r)%1_000_000)
	for len(frac) > 4 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	return fmt.Sprintf("%d.%s", int64(r)/1_000_000, frac)
}

// Convert prices fen (CNY) in another currency at rate r, in that
// currency's minor units (decimals digits after the point: 2 for USD, 0
// for JPY). It rounds up: the person pays the smallest amount the currency
// can express that is worth at least the yuan credited, so at the quoted
// rate the merchant never receives less than the wallet is credited (68.00
// CNY at 7.2 is 9.4444… USD, charged as US$9.45). The arithmetic is exact.
func (r Rate) Convert(fen int64, decimals int) int64 {
	if fen <= 0 || r <= 0 || decimals < 0 || decimals > 3 {
		return 0
	}
	// minor = ceil(fen/100 × 10^decimals / (r/10^6)) = ceil(fen × 10^(4+decimals) / r)
	num := new(big.Int).Mul(big.NewInt(fen), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(4+decimals)), nil))
	q, m := new(big.Int).QuoRem(num, big.NewInt(int64(r)), new(big.Int))
	if m.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() {
		return 0
	}
	return q.Int64()
}

// Price is what the person pays a provider for an order: Amount in the
// minor units of Currency, quoted at Rate (CNY per unit of Currency).
type Price struct {
	Currency string
	Amount   int64
	Rate     Rate
	Decimals int // digits after the point in Currency
}

// Foreign reports whether the person pays in a currency other than CNY.
func (p Price) Foreign() bool { return p.Currency != "" && p.Currency != "CNY" }

// Value is the amount as a decimal string in the currency's own precision
// ("9.45", "1313"), as the providers that use decimal amounts expect.
func (p Price) Value() string { return FormatMinor(p.Amount, p.Decimals) }

// String is the amount for people: "US$9.45", "€8.60", or the amount and
// the code where no sign is listed below ("3150 HUF").
func (p Price) String() string {
	if sign, ok := currencySigns[p.Currency]; ok {
		return sign + p.Value()
	}
	return p.Value() + " " + p.Currency
}

// currencySigns are the signs unambiguous to a reader in China; a bare
// "$" or "¥" would be read as another currency.
var currencySigns = map[string]string{"USD": "US$", "EUR": "€", "GBP": "£", "HKD": "HK$", "JPY": "JP¥",
	"CNY": "¥", "AUD": "A$", "CAD": "C$", "SGD": "S$", "NZD": "NZ$", "TWD": "NT$"}

// Converter is a provider that collects in a configured currency of its
// own rather than CNY (PayPal outside China). It prices an amount of fen
// at its configured rate; the order stores the price, and every query
// the provider makes about the order is checked against the stored price.
type Converter interface {
	Convert(fen int64) (Price, error)
}

// FormatMinor formats minor units as a decimal string with decimals digits
// after the point ("9.45" for 945 and 2, "1313" for 1313 and 0).
func FormatMinor(minor int64, decimals int) string {
	if decimals <= 0 {
		return fmt.Sprintf("%d", minor)
	}
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	unit := int64(1)
	for range decimals {
		unit *= 10
	}
	return fmt.Sprintf("%s%d.%0*d", sign, minor/unit, decimals, minor%unit)
}

// ParseMinor parses a provider's decimal amount into minor units of a
// currency with decimals digits, exactly: "9.45" is 945 for two decimals,
// "1313" is 1313 for none. More decimals than the currency has, or
// anything not a plain decimal, is ErrMalformed.
func ParseMinor(s string, decimals int) (int64, error) {
	whole, frac, hasDot := cutDot(s)
	if whole == "" || len(whole) > 12 || (hasDot && (frac == "" || len(frac) > decimals)) || !digits(whole) || !digits(frac) {
		return 0, ErrMalformed
	}
	var n int64
	for _, c := range whole + frac + strings.Repeat("0", decimals-len(frac)) {
		n = n*10 + int64(c-'0')
	}
	return n, nil
}
