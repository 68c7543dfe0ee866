package handlers

import (
	"net/url"
	"strings"
)

// safeNext returns target when it is a path on this site and "" otherwise.
// Browsers read "//host", "/\host" and "\\host" as other sites, and some
// decode percent-escapes or drop tabs and newlines before deciding, so each
// of those shapes is refused in the path before and after one round of
// decoding. The query only decides nothing about the host: there, encoded
// text of any kind (a gift message with a backslash) may pass, raw control
// characters may not.
func safeNext(target string) string {
	if target == "" || len(target) > 2048 {
		return ""
	}
	path, rest := target, ""
	if i := strings.IndexAny(target, "?#"); i >= 0 {
		path, rest = target[:i], target[i:]
	}
	decoded, err := url.PathUnescape(path)
	if err != nil {
		return ""
	}
	for _, s := range []string{path, decoded} {
		if !localPath(s) {
			return ""
		}
	}
	for _, r := range rest {
		if r == '\\' || r < 0x20 || r == 0x7f {
			return ""
		}
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	return target
}

func localPath(s string) bool {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") {
		return false
	}
	for _, r := range s {
		if r == '\\' || r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}
