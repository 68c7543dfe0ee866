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

// FuzzParseMinor checks PayPal's amount values read in a currency's own
// precision (two decimals, or none for JPY, HUF and TWD) against math/big:
// exactly the grammar for that precision is accepted, the value is exact,
// and FormatMinor writes it back in a form that reads the same.
func FuzzParseMinor(f *testing.F) {
	for _, s := range []string{"9.45", "9.4", "9", "1313", "1313.5", "0.01", "999999999999.99", "1e3", "-1", ".5",
		"5.", "９", "9.455", ""} {
		f.Add(s, uint8(2))
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, s string, d uint8) {
		decimals := int(d % 3) // 0, 1 or 2
		grammar := regexp.MustCompile(`^[0-9]{1,12}$`)
		if decimals > 0 {
			grammar = regexp.MustCompile(`^[0-9]{1,12}(\.[0-9]{1,` + string(rune('0'+decimals)) + `})?$`)
		}
		n, err := ParseMinor(s, decimals)
		if want := grammar.MatchString(s); (err == nil) != want {
			t.Fatalf("ParseMinor(%q, %d) = %d, %v; grammar says accepted=%v", s, decimals, n, err, want)
		}
		if err != nil {
			return
		}
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("ParseMinor accepted %q, which math/big cannot read", s)
		}
		scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)), nil))
		if r.Mul(r, scale); !r.IsInt() || !r.Num().IsInt64() || r.Num().Int64() != n {
			t.Fatalf("ParseMinor(%q, %d) = %d, math/big reads %s", s, decimals, n, r.RatString())
		}
		if back, err := ParseMinor(FormatMinor(n, decimals), decimals); err != nil || back != n {
			t.Fatalf("ParseMinor(%q, %d) = %d, but FormatMinor gives %q, which reads as %d, %v", s, decimals, n,
				FormatMinor(n, decimals), back, err)
		}
	})
}
