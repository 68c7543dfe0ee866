package unionpay

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// fenGrammar is what parseFen documents: digits only, at most 12 of them.
var fenGrammar = regexp.MustCompile(`^[0-9]{1,12}$`)

// FuzzParseFen checks txnAmt: a positive whole number of fen, digits only,
// which reads back from its decimal form.
func FuzzParseFen(f *testing.F) {
	for _, s := range []string{"6800", "1", "0", "000001", "999999999999", "1000000000000", "-1", "+1", "1e3", "68.00", " 1", "０"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseFen(s)
		want := fenGrammar.MatchString(s) && strings.Trim(s, "0") != ""
		if (err == nil) != want {
			t.Fatalf("parseFen(%q) = %d, %v; want accepted=%v", s, n, err, want)
		}
		if err != nil {
			return
		}
		if n <= 0 || strconv.FormatInt(n, 10) != strings.TrimLeft(s, "0") {
			t.Fatalf("parseFen(%q) = %d", s, n)
		}
	})
}

// FuzzParseResponse checks the reader of UnionPay's synchronous answers
// (k=v pairs whose values may hold {…} groups and raw PEM): it never
// panics, and what it accepts accounts for every byte of the trimmed body,
// so no field is dropped or invented (a trailing '&' aside). Each key is non-empty and free of '='.
func FuzzParseResponse(f *testing.F) {
	f.Add([]byte("version=5.1.0&respCode=00&respMsg=成功&signature=QUJD"))
	f.Add([]byte("reserved={a=1&b={c=2}}&respCode=00"))
	f.Add([]byte("signPubKeyCert=-----BEGIN CERTIFICATE-----\r\nMIIB+/=\r\n-----END CERTIFICATE-----&respCode=00"))
	f.Add([]byte("a=1&a=2"))
	f.Add([]byte("=x"))
	f.Add([]byte("open={never closed&b=2"))
	f.Add([]byte("  a=&b=  \n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := parseResponse(body)
		if err != nil {
			return
		}
		trimmed := bytes.TrimSpace(body)
		total := 0
		for k, v := range m {
			if k == "" || strings.Contains(k, "=") {
				t.Fatalf("parseResponse(%q) has key %q", body, k)
			}
			if !bytes.Contains(trimmed, []byte(k+"="+v)) {
				t.Fatalf("parseResponse(%q) invented %q=%q", body, k, v)
			}
			total += len(k) + 1 + len(v)
		}
		if len(m) > 0 {
			total += len(m) - 1 // the separating '&'s
		}
		if bytes.HasSuffix(trimmed, []byte("&")) && total == len(trimmed)-1 {
			return // "a=1&": a trailing separator ends the last field
		}
		if total != len(trimmed) {
			t.Fatalf("parseResponse(%q) = %q accounts for %d of %d bytes", body, m, total, len(trimmed))
		}
	})
}
