package statement

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"im2pay/ledger"
	"im2pay/wallet"
)

// FuzzParseHistoryFilter checks the history and export filters from the
// query string: whatever is accepted is a known kind, dates that print back
// as typed, a range in order, and a cursor that is a positive id written
// exactly as the page links it.
func FuzzParseHistoryFilter(f *testing.F) {
	f.Add("", "", "", "")
	f.Add("gift", "2026-01-01", "2026-01-31", "42")
	f.Add("nope", "2026-02-30", "2026-1-1", "+7")
	f.Add("", "2026-03-01", "2026-02-01", "007")
	f.Add("purchase", "1999-12-31", "10000-01-01", "9223372036854775808")
	f.Add("", "", "", "-4")
	loc := time.FixedZone("CST", 8*3600)
	f.Fuzz(func(t *testing.T, kind, from, to, before string) {
		got, err := ParseHistoryFilter(kind, from, to, before, loc)
		if err != nil {
			var p *wallet.Problem
			if !errors.As(err, &p) || p.Code == "" {
				t.Fatalf("ParseHistoryFilter refused with %#v, not a *Problem", err)
			}
			return
		}
		if got.Kind != ledger.Kind(kind) || (kind != "" && !slices.Contains(ledger.Kinds, got.Kind)) {
			t.Fatalf("kind %q read as %q", kind, got.Kind)
		}
		for _, d := range []struct {
			in string
			t  time.Time
		}{{from, got.From}, {to, got.To}} {
			if (d.in == "") != d.t.IsZero() || (d.in != "" && (d.t.Format(DateLayout) != d.in || d.t.Location() != loc)) {
				t.Fatalf("date %q read as %v", d.in, d.t)
			}
		}
		if !got.From.IsZero() && !got.To.IsZero() && got.To.Before(got.From) {
			t.Fatalf("accepted a range that ends before it starts: %q..%q", from, to)
		}
		if (before == "") != (got.Before == 0) || (before != "" && (got.Before <= 0 || strconv.FormatInt(got.Before, 10) != before)) {
			t.Fatalf("cursor %q read as %d", before, got.Before)
		}
	})
}
