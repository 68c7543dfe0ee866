package wallet

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// problemOn fails t unless err is a *Problem on field with a code.
func problemOn(t *testing.T, err error, field string) {
	t.Helper()
	var p *Problem
	if !errors.As(err, &p) || p.Code == "" || p.Field != field {
		t.Fatalf("error %#v is not a *Problem on %q", err, field)
	}
}

var (
	giftCodeShape = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)
	formKeyShape  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// FuzzGiftForm checks the gift form's fields: a quantity in range that
// reads back from its decimal form, a one-line message of at most
// MaxGiftMessage characters that is already in its parsed form, and codes
// and keys of exactly the shapes the catalog and our forms use.
func FuzzGiftForm(f *testing.F) {
	f.Add("1", "生日快乐", "rose", "k-1")
	f.Add(" 99 ", "  hi  ", "super_rocket_2", strings.Repeat("a", 64))
	f.Add("100", "a\nb", "Rose", strings.Repeat("a", 65))
	f.Add("+5", "<script>alert(1)</script>", "rose;drop", "k 1")
	f.Add("05", "\x00", "", "")
	f.Add("0x1", strings.Repeat("字", 101), "rose\x00", "ké")
	f.Add("1e1", "\xff", "a", "-")
	f.Fuzz(func(t *testing.T, quantity, message, code, key string) {
		if n, err := parseGiftQuantity(quantity); err != nil {
			problemOn(t, err, "quantity")
		} else if back, err := parseGiftQuantity(strconv.Itoa(n)); n < MinGiftQuantity || n > MaxGiftQuantity || err != nil || back != n {
			t.Fatalf("quantity %q read as %d", quantity, n)
		}
		if m, err := parseGiftMessage(message); err != nil {
			problemOn(t, err, "message")
		} else {
			if !utf8.ValidString(m) || strings.ContainsFunc(m, unicode.IsControl) || utf8.RuneCountInString(m) > MaxGiftMessage {
				t.Fatalf("message %q kept as %q", message, m)
			}
			if again, err := parseGiftMessage(m); err != nil || again != m || m != strings.TrimSpace(message) {
				t.Fatalf("message %q kept as %q, which reads again as %q, %v", message, m, again, err)
			}
		}
		if isGiftCode(code) != giftCodeShape.MatchString(code) {
			t.Fatalf("isGiftCode(%q) = %v", code, isGiftCode(code))
		}
		if validFormKey(key) != formKeyShape.MatchString(key) {
			t.Fatalf("validFormKey(%q) = %v", key, validFormKey(key))
		}
	})
}
