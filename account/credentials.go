package account

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"im2pay/problem"
)

// Password length limits, in characters (runes) rather than bytes, so that a
// Chinese password is held to the same rule as a Latin one even though each
// of its characters takes three bytes. 128 characters leaves room for any
// passphrase or password manager while bounding the work hashing does.
const (
	MinPasswordRunes = 8
	MaxPasswordRunes = 128
)

// Username length limits, in ASCII characters.
const (
	minUsernameLen = 3
	maxUsernameLen = 32
)

// maxPasswordBytes lets ValidatePassword refuse an oversized password before
// reading it: no 128-rune string is longer than this.
const maxPasswordBytes = MaxPasswordRunes * utf8.UTFMax

// NormalizeUsername prepares a typed username for lookup and storage. It only
// trims surrounding spaces: case is kept for display, and uniqueness is
// case-insensitive in the database, so folding case here would lose the
// person's spelling for nothing.
func NormalizeUsername(s string) string {
	return strings.TrimSpace(s)
}

// ValidateUsername accepts 3–32 ASCII letters, digits and underscores. The
// narrow alphabet keeps names unambiguous to read (no look-alike letters from
// other scripts, no invisible characters) and safe in URLs and logs. Pass the
// name through NormalizeUsername first. Errors are *problem.Problem on "username".
func ValidateUsername(s string) error {
	if s == "" {
		return problem.New("username", "username.empty")
	}
	for i := 0; i < len(s); i++ {
		if !isUsernameByte(s[i]) {
			return problem.New("username", "username.chars")
		}
	}
	// Every byte is ASCII now, so the byte length is the character count.
	switch {
	case len(s) < minUsernameLen:
		return problem.New("username", "username.too_short", minUsernameLen)
	case len(s) > maxUsernameLen:
		return problem.New("username", "username.too_long", maxUsernameLen)
	}
	return nil
}

func isUsernameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// ValidatePassword decides whether pw may become username's password: 8–128
// characters of any script, none of them control characters, and not one of
// the guesses an attacker tries first. Length and the weak-password checks
// look at the NFC form, which is what gets hashed, so the rule is the same
// however a keyboard composes accents. Errors are *problem.Problem on "password".
func ValidatePassword(pw, username string) error {
	if pw == "" {
		return problem.New("password", "password.empty")
	}
	if len(pw) > maxPasswordBytes {
		return problem.New("password", "password.too_long", MaxPasswordRunes)
	}
	if !utf8.ValidString(pw) {
		return problem.New("password", "password.invalid")
	}
	for _, r := range pw {
		// Control characters cannot be typed reliably and some get stripped
		// or rewritten in transit, which would lock the person out.
		if unicode.IsControl(r) {
			return problem.New("password", "password.invalid")
		}
	}
	pw = norm.NFC.String(pw)
	switch n := utf8.RuneCountInString(pw); {
	case n < MinPasswordRunes:
		return problem.New("password", "password.too_short", MinPasswordRunes)
	case n > MaxPasswordRunes:
		return problem.New("password", "password.too_long", MaxPasswordRunes)
	}
	if isWeakPassword(pw, username) {
		return problem.New("password", "password.weak")
	}
	return nil
}

// isWeakPassword reports the guesses that need no cracking: the username
// itself, one character repeated, and the most common passwords.
func isWeakPassword(pw, username string) bool {
	if username != "" && strings.EqualFold(pw, strings.TrimSpace(username)) {
		return true
	}
	first, _ := utf8.DecodeRuneInString(pw)
	if strings.Trim(pw, string(first)) == "" {
		return true
	}
	_, common := commonPasswords[strings.ToLower(pw)]
	return common
}

// commonPasswords are the top of the public leaked-password lists (global
// and Chinese), limited to those long enough to pass the length rule.
// Compared case-insensitively: "PASSWORD" is no harder to guess.
var commonPasswords = map[string]struct{}{
	"password": {}, "password1": {}, "password123": {}, "passw0rd": {},
	"12345678": {}, "123456789": {}, "1234567890": {}, "87654321": {},
	"12341234": {}, "11223344": {}, "abcd1234": {}, "abc12345": {},
	"a1234567": {}, "qq123456": {}, "1qaz2wsx": {}, "1q2w3e4r": {},
	"q1w2e3r4": {}, "qwertyui": {}, "qwertyuiop": {}, "qwerty123": {},
	"asdfghjk": {}, "zxcvbnm1": {}, "iloveyou": {}, "woaini1314": {},
	"admin123": {}, "sunshine": {}, "princess": {}, "football": {},
	"baseball": {}, "welcome1": {},
}
