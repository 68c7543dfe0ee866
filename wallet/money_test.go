package wallet

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestParseMoney(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Money
		code string // "" means success
	}{
		{"whole yuan parse", "12", 1200, ""},
		{"one decimal means tens of fen", "12.5", 1250, ""},
		{"two decimals are fen", "12.50", 1250, ""},
		{"one fen parses", "0.01", 1, ""},
		{"zero parses so callers can decide", "0", 0, ""},
		{"zero with decimals parses", "0.00", 0, ""},
		{"leading zeros are ignored", "007", 700, ""},
		{"many leading zeros are ignored", "0000000000000000000000000000001", 100, ""},
		{"surrounding spaces are trimmed", "  12.34  ", 1234, ""},
		{"surrounding tabs are trimmed", "\t5\t", 500, ""},
		{"the largest amount parses", "999999999.99", MaxMoney, ""},
		{"the largest whole yuan parses", "999999999", 99_999_999_900, ""},

		{"an empty string is empty", "", 0, "money.empty"},
		{"only spaces is empty", "   ", 0, "money.empty"},
		{"a minus sign is negative", "-1", 0, "money.negative"},
		{"a negative decimal is negative", "-12.50", 0, "money.negative"},
		{"negative zero is negative", "-0", 0, "money.negative"},
		{"a minus before garbage is malformed", "-abc", 0, "money.format"},
		{"a lone minus is malformed", "-", 0, "money.format"},
		{"a plus sign is malformed", "+1", 0, "money.format"},
		{"three decimals are too many", "12.345", 0, "money.too_many_decimals"},
		{"a tenth of a fen is too many decimals", "0.001", 0, "money.too_many_decimals"},
		{"a leading dot is malformed", ".5", 0, "money.format"},
		{"a trailing dot is malformed", "12.", 0, "money.format"},
		{"a lone dot is malformed", ".", 0, "money.format"},
		{"two dots are malformed", "1.2.3", 0, "money.format"},
		{"an exponent is malformed", "1e3", 0, "money.format"},
		{"an exponent after decimals is malformed", "1.5e3", 0, "money.format"},
		{"hex is malformed", "0x10", 0, "money.format"},
		{"underscores are malformed", "1_000", 0, "money.format"},
		{"a thousands comma is malformed", "1,000", 0, "money.format"},
		{"a decimal comma is malformed", "12,50", 0, "money.format"},
		{"NaN is malformed", "NaN", 0, "money.format"},
		{"Inf is malformed", "Inf", 0, "money.format"},
		{"an internal space is malformed", "1 000", 0, "money.format"},
		{"a space after the minus is malformed", "- 5", 0, "money.format"},
		{"full-width digits are malformed", "\uff11\uff12", 0, "money.format"},
		{"Arabic-Indic digits are malformed", "\u0661\u0662", 0, "money.format"},
		{"a full-width space is malformed", "\u300012", 0, "money.format"},
		{"a yuan sign is malformed", "¥12", 0, "money.format"},
		{"invalid UTF-8 is malformed", "\xff\xfe", 0, "money.format"},
		{"a NUL byte is malformed", "1\x002", 0, "money.format"},
		{"a letter is malformed", "12a", 0, "money.format"},
		{"one fen over the limit is too large", "1000000000", 0, "money.too_large"},
		{"a fen over the limit is too large", "1000000000.00", 0, "money.too_large"},
		{"a 20-digit number is too large", "99999999999999999999", 0, "money.too_large"},
		{"a number past uint64 is too large", "18446744073709551616", 0, "money.too_large"},
		{"33 digits are too large", strings.Repeat("9", 33), 0, "money.too_large"},
		{"33 zeros are too large without being read", strings.Repeat("0", 33), 0, "money.too_large"},
		{"a long number with a dot is malformed", strings.Repeat("1", 30) + ".123", 0, "money.format"},
		{"a megabyte of garbage is malformed", strings.Repeat("x", 1<<20), 0, "money.format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMoney(tt.in)
			if tt.code == "" {
				if err != nil || got != tt.want {
					t.Fatalf("ParseMoney(%q) = %d, %v; want %d, nil", tt.in, got, err, tt.want)
				}
				return
			}
			var p *Problem
			if !errors.As(err, &p) {
				t.Fatalf("ParseMoney(%q) error = %v; want *Problem %s", tt.in, err, tt.code)
			}
			if p.Code != tt.code || p.Field != "amount" || got != 0 {
				t.Fatalf("ParseMoney(%q) = %d, %s on %q; want 0, %s on \"amount\"", tt.in, got, p.Code, p.Field, tt.code)
			}
			if tt.code == "money.too_large" && (len(p.Args) != 1 || p.Args[0] != MaxMoney) {
				t.Fatalf("ParseMoney(%q) args = %v; want [MaxMoney]", tt.in, p.Args)
			}
		})
	}
}

func TestMoneyYuanRoundTrips(t *testing.T) {
	for _, m := range []Money{0, 1, 9, 10, 99, 100, 101, 1250, 12345, 100_000, 99_999_999_900, MaxMoney - 1, MaxMoney} {
		got, err := ParseMoney(m.Yuan())
		if err != nil || got != m {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d", m.Yuan(), got, err, m)
		}
	}
}

func TestMoneyFormatting(t *testing.T) {
	tests := []struct {
		name                string
		m                   Money
		str, yuan, signedTo string
	}{
		{"zero shows two decimals and no sign", 0, "¥0.00", "0.00", "¥0.00"},
		{"one fen pads the decimals", 1, "¥0.01", "0.01", "+¥0.01"},
		{"ten fen pads the decimals", 10, "¥0.10", "0.10", "+¥0.10"},
		{"a whole yuan shows zero fen", 100, "¥1.00", "1.00", "+¥1.00"},
		{"an ordinary amount shows both parts", 1250, "¥12.50", "12.50", "+¥12.50"},
		{"an amount below a thousand has no comma", 99999, "¥999.99", "999.99", "+¥999.99"},
		{"a thousand gets its comma", 100000, "¥1,000.00", "1000.00", "+¥1,000.00"},
		{"thousands are grouped for reading, not in Yuan", 123456789, "¥1,234,567.89", "1234567.89", "+¥1,234,567.89"},
		{"six whole digits group evenly", 5521862, "¥55,218.62", "55218.62", "+¥55,218.62"},
		{"a negative amount groups after the minus", -123456789, "-¥1,234,567.89", "-1234567.89", "-¥1,234,567.89"},
		{"a negative amount puts the minus before the symbol", -305, "-¥3.05", "-3.05", "-¥3.05"},
		{"a negative fen keeps its padding", -1, "-¥0.01", "-0.01", "-¥0.01"},
		{"the largest amount formats", MaxMoney, "¥999,999,999.99", "999999999.99", "+¥999,999,999.99"},
		{"the smallest int64 formats without overflow", math.MinInt64, "-¥92,233,720,368,547,758.08", "-92233720368547758.08", "-¥92,233,720,368,547,758.08"},
		{"the largest int64 formats", math.MaxInt64, "¥92,233,720,368,547,758.07", "92233720368547758.07", "+¥92,233,720,368,547,758.07"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.String(); got != tt.str {
				t.Errorf("String() = %q; want %q", got, tt.str)
			}
			if got := tt.m.Yuan(); got != tt.yuan {
				t.Errorf("Yuan() = %q; want %q", got, tt.yuan)
			}
			if got := tt.m.Signed(); got != tt.signedTo {
				t.Errorf("Signed() = %q; want %q", got, tt.signedTo)
			}
		})
	}
}

func TestProblemErrorNamesCodeAndArgs(t *testing.T) {
	if got := NewProblem("amount", "money.too_large", MaxMoney).Error(); got != "wallet: money.too_large ¥999,999,999.99" {
		t.Errorf("Error() = %q", got)
	}
	if got := NewProblem("", "money.empty").Error(); got != "wallet: money.empty" {
		t.Errorf("Error() = %q", got)
	}
}

func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"12", "12.5", "12.50", "0.01", "0", "007", " 3 ", "999999999.99", "1000000000", "-1", "+1", ".5", "12."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMoney(s)
		if err != nil {
			var p *Problem
			if !errors.As(err, &p) || p.Code == "" || p.Field != "amount" {
				t.Fatalf("ParseMoney(%q) error %#v is not a *Problem with a code", s, err)
			}
			if m != 0 {
				t.Fatalf("ParseMoney(%q) = %d alongside an error", s, m)
			}
			return
		}
		if m < 0 || m > MaxMoney {
			t.Fatalf("ParseMoney(%q) = %d, outside [0, MaxMoney]", s, m)
		}
		back, err := ParseMoney(m.Yuan())
		if err != nil || back != m {
			t.Fatalf("ParseMoney(%q) = %d, but ParseMoney(%q) = %d, %v", s, m, m.Yuan(), back, err)
		}
	})
}
