package wallet

import (
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"im2pay/payment"
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
	s := &Service{rules: DefaultRechargeRules()}
	f.Fuzz(func(t *testing.T, method, amount string) {
		m, err := ParseMethod(method)
		if err != nil {
			problemOn(t, err, "method")
			return
		}
		if string(m) != method || !slices.Contains(payment.Methods, m) {
			t.Fatalf("ParseMethod(%q) = %q", method, m)
		}
		amt, err := ParseMoney(amount)
		if err != nil {
			return // FuzzParseMoney covers amounts
		}
		for _, first := range []bool{false, true} {
			q := s.price(m, amt, first)
			if q.Method != m || q.Amount != amt || q.TierBonus < 0 || q.TierBonus > amt || q.FirstBonus < 0 {
				t.Fatalf("price(%q, %d, %v) = %+v", m, amt, first, q)
			}
			if q.Total() < q.Amount || q.Total() > MaxMoney+MaxMoney {
				t.Fatalf("price(%q, %d, %v) totals %d", m, amt, first, q.Total())
			}
		}
	})
}
