package i18n

import (
	"slices"
	"strings"
	"testing"
)

// FuzzLanguage checks the two places a language comes from outside: the
// Accept-Language header always yields a supported language, Chinese
// unless the header names English at all; the lang cookie or form value
// yields a supported language that names itself.
func FuzzLanguage(f *testing.F) {
	f.Add("en-US,en;q=0.9,zh-CN;q=0.8", "en")
	f.Add("zh-CN,zh;q=0.9,en;q=NaN", "zh-Hans")
	f.Add("en;q=Inf, zh;q=-Inf", "EN-GB")
	f.Add("fr-FR, de;q=0.5", "fr")
	f.Add(";;,,,q=", "")
	f.Add("EN;q=1e308,zh;q=2", "zh-hans-cn\x00")
	f.Fuzz(func(t *testing.T, header, value string) {
		l := Match(header)
		if !slices.Contains(Langs, l) {
			t.Fatalf("Match(%q) = %q, not a supported language", header, l)
		}
		if l == EN && !strings.Contains(strings.ToLower(header), "en") {
			t.Fatalf("Match(%q) = en for a header that never names English", header)
		}
		got, ok := Parse(value)
		if !ok {
			if got != "" {
				t.Fatalf("Parse(%q) = %q alongside false", value, got)
			}
			return
		}
		if !slices.Contains(Langs, got) {
			t.Fatalf("Parse(%q) = %q, not a supported language", value, got)
		}
		if again, ok := Parse(string(got)); !ok || again != got {
			t.Fatalf("Parse(%q) = %q, which reads as %q, %v", value, got, again, ok)
		}
	})
}
