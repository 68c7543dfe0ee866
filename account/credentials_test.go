package account

import (
	"errors"
	"strings"
	"testing"

	"im2pay/problem"
)

// wantProblem checks err against a code ("" for nil) and a field.
func wantProblem(t *testing.T, err error, field, code string) *problem.Problem {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("error = %v; want nil", err)
		}
		return nil
	}
	var p *problem.Problem
	if !errors.As(err, &p) || p.Code != code || p.Field != field {
		t.Fatalf("error = %#v; want *problem.Problem %s on %q", err, code, field)
	}
	return p
}

func TestValidateUsername(t *testing.T) {
	tests := []struct{ name, in, code string }{
		{"a plain name is fine", "alice", ""},
		{"letters, digits and underscores mix", "Alice_2026", ""},
		{"three characters is enough", "abc", ""},
		{"thirty-two characters is allowed", strings.Repeat("a", 32), ""},
		{"only digits is fine", "123456", ""},
		{"an empty name is empty", "", "username.empty"},
		{"two characters is too short", "ab", "username.too_short"},
		{"thirty-three characters is too long", strings.Repeat("a", 33), "username.too_long"},
		{"a space is not allowed", "al ice", "username.chars"},
		{"surrounding spaces are not allowed unnormalised", " alice ", "username.chars"},
		{"a hyphen is not allowed", "al-ice", "username.chars"},
		{"a dot is not allowed", "al.ice", "username.chars"},
		{"an at sign is not allowed", "alice@example", "username.chars"},
		{"Chinese characters are not allowed", "张三丰", "username.chars"},
		{"a Cyrillic look-alike is not allowed", "аlice", "username.chars"},
		{"full-width letters are not allowed", "ａｌｉｃｅ", "username.chars"},
		{"a NUL byte is not allowed", "ali\x00ce", "username.chars"},
		{"invalid UTF-8 is not allowed", "ali\xffce", "username.chars"},
		{"a long name of bad characters reports the characters", strings.Repeat("!", 100), "username.chars"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := wantProblem(t, ValidateUsername(tt.in), "username", tt.code)
			switch tt.code {
			case "username.too_short":
				if len(p.Args) != 1 || p.Args[0] != 3 {
					t.Errorf("args = %v; want [3]", p.Args)
				}
			case "username.too_long":
				if len(p.Args) != 1 || p.Args[0] != 32 {
					t.Errorf("args = %v; want [32]", p.Args)
				}
			}
		})
	}
}

func TestNormalizeUsernameTrimsButKeepsCase(t *testing.T) {
	for in, want := range map[string]string{
		"  Alice  ": "Alice",
		"\tBob\n":   "Bob",
		"carol":     "carol",
		"":          "",
	} {
		if got := NormalizeUsername(in); got != want {
			t.Errorf("NormalizeUsername(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestValidatePassword(t *testing.T) {
	chinese64 := strings.Repeat("密码安全", 16) // 64 runes, 192 bytes
	tests := []struct{ name, pw, user, code string }{
		{"an ordinary passphrase is fine", "correct horse battery", "alice", ""},
		{"eight characters is enough", "x7#kQ2!m", "alice", ""},
		{"128 characters is allowed", strings.Repeat("ab", 64), "alice", ""},
		{"a 64-character Chinese password is fine", chinese64, "alice", ""},
		{"eight Chinese characters are enough", "我的密码很安全啊", "alice", ""},
		{"a password over 72 bytes is fine", strings.Repeat("pass", 20), "alice", ""},
		{"spaces inside are fine", "my  secret  phrase", "alice", ""},
		{"emoji count as one character each", "🔑🔒🔓🗝🔐🛡⚔🏰", "alice", ""},
		{"containing the username is fine", "alice-in-wonderland", "alice", ""},
		{"a common password with a suffix is fine", "password-for-im2pay", "alice", ""},

		{"an empty password is empty", "", "alice", "password.empty"},
		{"seven characters is too short", "x7#kQ2!", "alice", "password.too_short"},
		{"seven Chinese characters are too short despite 21 bytes", "我的密码很安全", "alice", "password.too_short"},
		{"a decomposed accent does not count as a character", "cafe\u0301abc", "alice", "password.too_short"},
		{"129 characters is too long", strings.Repeat("a", 128) + "b", "alice", "password.too_long"},
		{"a 129-character Chinese password is too long", chinese64 + chinese64 + "啊", "alice", "password.too_long"},
		{"a megabyte is too long without being read", strings.Repeat("ab", 1<<19), "alice", "password.too_long"},
		{"the username is weak", "alice_2026", "alice_2026", "password.weak"},
		{"the username in another case is weak", "ALICE_2026", "Alice_2026", "password.weak"},
		{"one repeated digit is weak", "11111111", "alice", "password.weak"},
		{"one repeated letter is weak", "aaaaaaaaaaaa", "alice", "password.weak"},
		{"one repeated Chinese character is weak", "好好好好好好好好", "alice", "password.weak"},
		{"password is weak", "password", "alice", "password.weak"},
		{"PASSWORD in capitals is weak", "PASSWORD", "alice", "password.weak"},
		{"12345678 is weak", "12345678", "alice", "password.weak"},
		{"qwertyui is weak", "qwertyui", "alice", "password.weak"},
		{"iloveyou is weak", "iloveyou", "alice", "password.weak"},
		{"woaini1314 is weak", "woaini1314", "alice", "password.weak"},
		{"invalid UTF-8 is invalid", "abcdefgh\xff", "alice", "password.invalid"},
		{"a NUL byte is invalid", "abcd\x00efgh", "alice", "password.invalid"},
		{"a newline is invalid", "abcdefgh\n", "alice", "password.invalid"},
		{"a tab is invalid", "abcd\tefgh", "alice", "password.invalid"},
		{"DEL is invalid", "abcdefgh\x7f", "alice", "password.invalid"},
		{"a C1 control is invalid", "abcdefgh\u0085", "alice", "password.invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := wantProblem(t, ValidatePassword(tt.pw, tt.user), "password", tt.code)
			switch tt.code {
			case "password.too_short":
				if len(p.Args) != 1 || p.Args[0] != MinPasswordRunes {
					t.Errorf("args = %v; want [%d]", p.Args, MinPasswordRunes)
				}
			case "password.too_long":
				if len(p.Args) != 1 || p.Args[0] != MaxPasswordRunes {
					t.Errorf("args = %v; want [%d]", p.Args, MaxPasswordRunes)
				}
			}
		})
	}
}

func TestCommonPasswordsAreAllLongEnoughToMatter(t *testing.T) {
	for pw := range commonPasswords {
		if len([]rune(pw)) < MinPasswordRunes || pw != strings.ToLower(pw) {
			t.Errorf("%q can never match: too short or not lower case", pw)
		}
	}
}
