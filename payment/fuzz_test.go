package payment

import (
	"math/big"
	"regexp"
	"testing"
)

// yuanGrammar is what YuanToFen documents it accepts: up to 12 digits of
// yuan and, after a dot, one or two digits of jiao and fen.
var yuanGrammar = regexp.MustCompile(`^[0-9]{1,12}(\.[0-9]{1,2})?$`)

// FuzzYuanToFen checks the providers' decimal amounts (Alipay's
// total_amount, PayPal's value) against an independent reading: exactly the
// documented grammar is accepted, the value equals the decimal read by
// math/big, and FenToYuan writes it back in a form that reads the same.
func FuzzYuanToFen(f *testing.F) {
	for _, s := range []string{"68.00", "68", "68.5", "0.01", "0", "999999999999.99", "1000000000000",
		"1e3", "-1", "+1", ".5", "5.", "0x10", "1_000", "NaN", "６８", "68.001", "68..0", ""} {
		f.Add(s)
	}
	hundred := big.NewRat(100, 1)
	f.Fuzz(func(t *testing.T, s string) {
		n, err := YuanToFen(s)
		if want := yuanGrammar.MatchString(s); (err == nil) != want {
			t.Fatalf("YuanToFen(%q) = %d, %v; grammar says accepted=%v", s, n, err, want)
		}
		if err != nil {
			return
		}
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("YuanToFen accepted %q, which math/big cannot read", s)
		}
		if r.Mul(r, hundred); !r.IsInt() || !r.Num().IsInt64() || r.Num().Int64() != n {
			t.Fatalf("YuanToFen(%q) = %d fen, math/big reads %s fen", s, n, r.RatString())
		}
		back, err := YuanToFen(FenToYuan(n))
		if err != nil || back != n {
			t.Fatalf("YuanToFen(%q) = %d, but FenToYuan gives %q, which reads as %d, %v", s, n, FenToYuan(n), back, err)
		}
	})
}
