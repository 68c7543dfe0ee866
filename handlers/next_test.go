package handlers

import (
	"net/url"
	"strings"
	"testing"
)

func TestSafeNextKeepsLocalPathsAndRefusesEverythingElse(t *testing.T) {
	keep := []string{"/account", "/history?kind=grant&from=2026-01-01", "/a/b#frag", "/%E4%B8%AD", "/gifts?message=C%3A%5Ctemp%0A"}
	for _, s := range keep {
		if got := safeNext(s); got != s {
			t.Errorf("safeNext(%q) = %q, want it kept", s, got)
		}
	}
	refuse := []string{"", "account", "//evil.example", "/\\evil.example", "\\\\evil.example", "https://evil.example",
		"http:/evil.example", "javascript:alert(1)", "/%2F%2Fevil.example", "/%5Cevil.example", "/%2fevil", "/\t/evil.example",
		"/\n/evil.example", "/%09/evil.example", "/%0d%0a/evil", "/" + strings.Repeat("a", 3000), "/%zz", " /account",
		"data:text/html,x", "/\x7f"}
	for _, s := range refuse {
		if got := safeNext(s); got != "" {
			t.Errorf("safeNext(%q) = %q, want refused", s, got)
		}
	}
}

// FuzzSafeNext checks the one property that matters: whatever comes back is
// empty or a path that a browser resolves to this site.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/account", "//evil", "/\\evil", "/%2F%2Fevil", "https://x", "/\t/x", "/a?b=//c"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://pay.example/some/page")
	f.Fuzz(func(t *testing.T, s string) {
		got := safeNext(s)
		if got == "" {
			return
		}
		if got != s {
			t.Fatalf("safeNext changed %q to %q", s, got)
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("kept an unparsable target %q", got)
		}
		if r := base.ResolveReference(u); r.Host != base.Host || r.Scheme != base.Scheme {
			t.Fatalf("%q resolves off-site to %s", got, r)
		}
		if strings.ContainsAny(got, "\\\t\r\n") || strings.HasPrefix(got, "//") {
			t.Fatalf("kept a target browsers may read as another host: %q", got)
		}
	})
}
