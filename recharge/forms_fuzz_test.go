package recharge

import (
	"errors"
	"slices"
	"testing"

	"im2pay/payment"
	"im2pay/problem"
	"im2pay/wallet"
)

// problemOn fails t unless err is a *problem.Problem on field with a code.
func problemOn(t *testing.T, err error, field string) {
	t.Helper()
	var p *problem.Problem
	if !errors.As(err, &p) || p.Code == "" || p.Field != field {
		t.Fatalf("error %#v is not a *Problem on %q", err, field)
	}
}

// FuzzRechargeForm checks the recharge form's method and amount as far as
// they go without a database: a method is one we offer, and any amount
// ParseMoney accepts prices to a bonus that is never negative, never more
// than the amount, and a total that cannot overflow.
func FuzzRechargeForm(f *testing.F) {
	f.Add("alipay", "68")
	f.Add("card", "999999999.99")
	f.Add("paypal", "328.00")
	f.Add("ALIPAY", "0.01")
	f.Add("bitcoin", "1")
	f.Add("", "0")
	rules := DefaultRules()
	f.Fuzz(func(t *testing.T, method, amount string) {
		m, err := ParseMethod(method)
		if err != nil {
			problemOn(t, err, "method")
			return
		}
		if string(m) != method || !slices.Contains(payment.Methods, m) {
			t.Fatalf("ParseMethod(%q) = %q", method, m)
		}
		amt, err := wallet.ParseMoney(amount)
		if err != nil {
			return // FuzzParseMoney covers amounts
		}
		for _, first := range []bool{false, true} {
			q := Preview(rules, amt, m, first)
			if q.Method != m || q.Amount != amt || q.TierBonus < 0 || q.TierBonus > amt || q.FirstBonus < 0 {
				t.Fatalf("price(%q, %d, %v) = %+v", m, amt, first, q)
			}
			if q.Total() < q.Amount || q.Total() > wallet.MaxMoney+wallet.MaxMoney {
				t.Fatalf("price(%q, %d, %v) totals %d", m, amt, first, q.Total())
			}
		}
	})
}
