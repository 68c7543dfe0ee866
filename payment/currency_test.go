package payment

import "testing"

func TestRatesAreReadExactlyAndShownWithFourDecimals(t *testing.T) {
	cases := []struct {
		in   string
		want Rate
		show string
	}{
		{"7.2", 7_200_000, "7.2000"},
		{"7.2000", 7_200_000, "7.2000"},
		{" 7.123456 ", 7_123_456, "7.123456"},
		{"0.047812", 47_812, "0.047812"},
		{"1", RateOne, "1.0000"},
		{"1000000", maxRate, "1000000.0000"},
	}
	for _, c := range cases {
		r, err := ParseRate(c.in)
		if err != nil || r != c.want || r.String() != c.show {
			t.Errorf("ParseRate(%q) = %d (%s), %v; want %d (%s)", c.in, r, r, err, c.want, c.show)
		}
	}
	for _, bad := range []string{"", "0", "0.000000", "-7.2", "7.", ".5", "7.2000001", "1e3", "7,2", "1000000.000001", "NaN", "Inf"} {
		if r, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) = %d, want an error", bad, r)
		}
	}
}

func TestConvertRoundsUpSoTheMerchantNeverReceivesLessThanItCredits(t *testing.T) {
	cases := []struct {
		name     string
		fen      int64
		rate     string
		decimals int
		want     int64
	}{
		{"¥68.00 at 7.2 is US$9.4444…, charged US$9.45", 68_00, "7.2", 2, 945},
		{"¥72.00 at 7.2 is exactly US$10.00", 72_00, "7.2", 2, 1000},
		{"¥0.01 at 7.2 is a cent", 1, "7.2", 2, 1},
		{"¥68.00 at 0.047812 per yen is 1422.23 JPY, charged 1423", 68_00, "0.047812", 0, 1423},
		{"¥10,000.00 at 7.123456 is US$1403.8147…, charged US$1403.82", 10_000_00, "7.123456", 2, 140_382},
		{"CNY at 1 is the same amount", 68_00, "1", 2, 68_00},
	}
	for _, c := range cases {
		r, err := ParseRate(c.rate)
		if err != nil {
			t.Fatal(err)
		}
		got := r.Convert(c.fen, c.decimals)
		if got != c.want {
			t.Errorf("%s: Convert = %d, want %d", c.name, got, c.want)
		}
		// Worth at least the yuan, and one minor unit less is not: in
		// millionths of a fen, minor × rate × 100 / (minor units per unit).
		perUnit := int64(100)
		if c.decimals == 0 {
			perUnit = 1
		}
		worth := func(minor int64) int64 { return minor * int64(r) * 100 / perUnit }
		if worth(got) < c.fen*1_000_000 || worth(got-1) >= c.fen*1_000_000 {
			t.Errorf("%s: %d is not the smallest amount worth %d fen", c.name, got, c.fen)
		}
	}
	if got := RateOne.Convert(0, 2); got != 0 {
		t.Errorf("Convert(0) = %d, want 0 (no price)", got)
	}
}

func TestMinorUnitsFollowTheCurrencysDecimals(t *testing.T) {
	for _, c := range []struct {
		s        string
		decimals int
		minor    int64
	}{{"9.45", 2, 945}, {"9.4", 2, 940}, {"9", 2, 900}, {"1313", 0, 1313}, {"0.01", 2, 1}} {
		got, err := ParseMinor(c.s, c.decimals)
		if err != nil || got != c.minor {
			t.Errorf("ParseMinor(%q, %d) = %d, %v; want %d", c.s, c.decimals, got, err, c.minor)
		}
	}
	for _, c := range []struct {
		s        string
		decimals int
	}{{"1313.5", 0}, {"9.455", 2}, {"9.", 2}, {"-1", 2}, {"", 2}, {"1e3", 0}} {
		if got, err := ParseMinor(c.s, c.decimals); err == nil {
			t.Errorf("ParseMinor(%q, %d) = %d, want ErrMalformed", c.s, c.decimals, got)
		}
	}
	if FormatMinor(945, 2) != "9.45" || FormatMinor(1313, 0) != "1313" || FormatMinor(5, 2) != "0.05" {
		t.Errorf("FormatMinor: %q %q %q", FormatMinor(945, 2), FormatMinor(1313, 0), FormatMinor(5, 2))
	}
	p := Price{Currency: "USD", Amount: 945, Rate: 7_200_000, Decimals: 2}
	if p.String() != "US$9.45" || (Price{Currency: "HUF", Amount: 3150}).String() != "3150 HUF" {
		t.Errorf("Price.String: %q", p.String())
	}
}
