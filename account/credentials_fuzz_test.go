package account

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"im2pay/problem"
)

// problemOn fails t unless err is a *problem.Problem on field with a code.
func problemOn(t *testing.T, err error, field string) {
	t.Helper()
	var p *problem.Problem
	if !errors.As(err, &p) || p.Code == "" || p.Field != field {
		t.Fatalf("error %#v is not a *problem.Problem on %q", err, field)
	}
}

var usernameShape = regexp.MustCompile(`^[A-Za-z0-9_]{3,32}$`)

// FuzzCredentials checks the register and login fields: a username is
// accepted exactly when its normalized form has the documented shape, and
// normalizing twice changes nothing; an accepted password is valid UTF-8
// without control characters, 8 to 128 characters in its NFC form, and
// never the username itself.
func FuzzCredentials(f *testing.F) {
	f.Add("alice", "correct horse battery")
	f.Add(" alice ", "ALICE")
	f.Add("al", "short")
	f.Add("аlice", "pässwörd-but-longer")
	f.Add("a\u200bb", "aaaaaaaaaa")
	f.Add("x", "pa\x00ssword12")
	f.Add("bob", "e\u0301e\u0301e\u0301e\u0301")
	f.Add("bob", "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8")
	f.Fuzz(func(t *testing.T, username, password string) {
		name := NormalizeUsername(username)
		if NormalizeUsername(name) != name {
			t.Fatalf("NormalizeUsername(%q) = %q is not stable", username, name)
		}
		if err := ValidateUsername(name); err != nil {
			problemOn(t, err, "username")
			if usernameShape.MatchString(name) {
				t.Fatalf("ValidateUsername(%q) refused a well-shaped name", name)
			}
		} else if !usernameShape.MatchString(name) {
			t.Fatalf("ValidateUsername(%q) accepted a name of another shape", name)
		}
		if err := ValidatePassword(password, name); err != nil {
			problemOn(t, err, "password")
			return
		}
		nfc := norm.NFC.String(password)
		if !utf8.ValidString(password) || strings.ContainsFunc(password, unicode.IsControl) {
			t.Fatalf("ValidatePassword accepted %q", password)
		}
		if n := utf8.RuneCountInString(nfc); n < MinPasswordRunes || n > MaxPasswordRunes {
			t.Fatalf("ValidatePassword accepted %q of %d characters", password, n)
		}
		if name != "" && strings.EqualFold(nfc, name) {
			t.Fatalf("ValidatePassword accepted the username %q as its password", name)
		}
	})
}
