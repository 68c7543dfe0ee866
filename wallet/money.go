package wallet

import (
	"strconv"
	"strings"
)

// Money is an amount in fen (分), the smallest unit of the yuan: ¥1.00 is 100.
// Integers keep every sum exact; a float cannot hold 0.10 and would drift
// a fen at a time across a ledger.
type Money int64

// MaxMoney is the largest amount ParseMoney accepts: ¥999,999,999.99. It is
// far above any real top-up yet about 92 million times below the int64 limit,
// so sums of many accepted amounts (a balance, a report total) cannot
// overflow, and no single typo can bring a balance anywhere near it.
const MaxMoney Money = 99_999_999_999

// maxMoneyInput bounds what ParseMoney looks at: MaxMoney needs 14 bytes, and
// anything past 32 is refused without being examined further, so a hostile
// form field costs nothing however long it is.
const maxMoneyInput = 32

// moneyField is the form field that money problems belong to.
const moneyField = "amount"

// ParseMoney reads an amount of yuan as a person types it into a form: ASCII
// digits, optionally a '.' and one or two more digits ("12", "12.5",
// "12.50", "0.01", "007"), with surrounding spaces and tabs ignored. It never
// uses floating point, so "0.29" is exactly 29 fen.
//
// A bare ".5" and a trailing "12." are refused as malformed: both are usually
// a slip of the finger, and asking costs the person one keystroke while
// guessing wrong costs them money. Zero is accepted; callers decide whether
// zero makes sense. Every error is a *Problem with Field "amount".
func ParseMoney(s string) (Money, error) {
	s = strings.Trim(s, " \t")
	if s == "" {
		return 0, NewProblem(moneyField, "money.empty")
	}
	switch s[0] {
	case '-':
		// Only call it negative if the rest is an amount; "-abc" is just
		// not a number, and saying "cannot be negative" would mislead.
		if _, err := parseFen(s[1:]); err != nil && err.Code == "money.format" {
			return 0, err
		}
		return 0, NewProblem(moneyField, "money.negative")
	case '+':
		return 0, NewProblem(moneyField, "money.format")
	}
	m, err := parseFen(s)
	if err != nil {
		return 0, err
	}
	return m, nil
}

// parseFen parses an unsigned amount. It returns *Problem rather than error so
// that ParseMoney can inspect the code without a type assertion, and so that a
// nil result is never a typed-nil error.
func parseFen(s string) (Money, *Problem) {
	if len(s) > maxMoneyInput {
		if allDigits(s) {
			return 0, NewProblem(moneyField, "money.too_large", MaxMoney)
		}
		return 0, NewProblem(moneyField, "money.format")
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if !allDigits(whole) || (hasDot && !allDigits(frac)) {
		return 0, NewProblem(moneyField, "money.format")
	}
	if len(frac) > 2 {
		return 0, NewProblem(moneyField, "money.too_many_decimals")
	}
	// Checking the running value against the yuan limit after every digit
	// keeps it below 10×limit, so it cannot overflow however many leading
	// digits there are; leading zeros cost nothing.
	const maxYuan = uint64(MaxMoney / 100)
	var yuan uint64
	for i := 0; i < len(whole); i++ {
		yuan = yuan*10 + uint64(whole[i]-'0')
		if yuan > maxYuan {
			return 0, NewProblem(moneyField, "money.too_large", MaxMoney)
		}
	}
	var fen uint64
	for i := range 2 {
		fen *= 10
		if i < len(frac) {
			fen += uint64(frac[i] - '0')
		}
	}
	total := yuan*100 + fen
	if total > uint64(MaxMoney) {
		return 0, NewProblem(moneyField, "money.too_large", MaxMoney)
	}
	return Money(total), nil
}

// allDigits reports whether s is one or more ASCII digits. Bytes, not runes:
// full-width and other scripts' digits, and invalid UTF-8, are all refused.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String formats the amount for people to read: "¥12.50", "-¥3.05",
// "¥55,218.62". Thousands are grouped with commas, as both our languages
// write yuan; nothing a machine reads back may use it (see Yuan).
func (m Money) String() string {
	if m < 0 {
		return "-¥" + groupThousands(formatFen(m.abs()))
	}
	return "¥" + groupThousands(formatFen(m.abs()))
}

// Yuan formats the amount without a symbol or grouping ("1234.50",
// "-3.05"), for form values, CSV and provider requests, where ParseMoney
// (or another program) must be able to read it back.
func (m Money) Yuan() string {
	if m < 0 {
		return "-" + formatFen(m.abs())
	}
	return formatFen(m.abs())
}

// Signed formats a ledger line so that the direction is always visible:
// "+¥12.50", "-¥12.50", and "¥0.00" for a line that moved nothing.
func (m Money) Signed() string {
	if m > 0 {
		return "+" + m.String()
	}
	return m.String()
}

// abs returns |m| as uint64, which also holds the magnitude of the smallest
// int64 (negating that in int64 would overflow back to itself).
func (m Money) abs() uint64 {
	if m < 0 {
		return -uint64(m)
	}
	return uint64(m)
}

// formatFen renders a magnitude in fen as yuan with exactly two decimals.
func formatFen(fen uint64) string {
	c := fen % 100
	return strconv.FormatUint(fen/100, 10) + "." + string([]byte{byte('0' + c/10), byte('0' + c%10)})
}

// groupThousands puts a comma between each group of three whole-yuan digits
// of an unsigned "1234567.89", giving "1,234,567.89".
func groupThousands(s string) string {
	whole, frac, _ := strings.Cut(s, ".")
	if len(whole) <= 3 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(whole)/3)
	lead := len(whole) % 3
	if lead == 0 {
		lead = 3
	}
	b.WriteString(whole[:lead])
	for i := lead; i < len(whole); i += 3 {
		b.WriteByte(',')
		b.WriteString(whole[i : i+3])
	}
	b.WriteByte('.')
	b.WriteString(frac)
	return b.String()
}
