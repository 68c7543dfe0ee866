package payment

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// CheckPublicHTTPS decides whether raw is acceptable in production as a
// provider endpoint, a public origin or a notify URL: https, with a host
// that is a domain name or a public IP address. The error reads as the end
// of a sentence for an operator ("is not https").
//
// Host names are judged by their text only and are not resolved: start and
// `im2pay check` must not depend on DNS (none is reachable in tests, and an
// answer at start proves little about the answer at payment time), so a
// public-looking name that resolves to a private address passes here.
func CheckPublicHTTPS(raw string) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("is not an absolute URL")
	}
	if !strings.EqualFold(u.Scheme, "https") {
		return fmt.Errorf("is not https (it uses %s)", u.Scheme)
	}
	if u.User != nil {
		return fmt.Errorf("carries a user name or password")
	}
	return checkPublicHost(u.Hostname())
}

// privateNames are the name suffixes reserved for local or private networks
// (RFC 6761 localhost, RFC 6762 .local, RFC 8375 .home.arpa, and the
// .internal and .lan names intranets use); no provider can reach them.
var privateNames = []string{"localhost", "local", "internal", "home.arpa", "lan"}

// nonPublic are the IP ranges that are not reachable from the internet and
// that netip's predicates do not already cover.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local
}

func checkPublicHost(host string) error {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "" {
		return fmt.Errorf("has no host")
	}
	if a, err := netip.ParseAddr(h); err == nil {
		a = a.WithZone("").Unmap() // ::ffff:10.0.0.1 is 10.0.0.1
		if !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || inAny(a, nonPublic) {
			return fmt.Errorf("points at %s, a loopback or private address", a)
		}
		return nil
	}
	for _, p := range privateNames {
		if h == p || strings.HasSuffix(h, "."+p) {
			return fmt.Errorf("points at %s, a name only a local network knows", host)
		}
	}
	// A last label of digits (127.1, 2130706433, 0x7f.1) is no domain name:
	// top-level domains are never numeric, and the C resolver reads such a
	// host as an IPv4 address in shorthand, octal or hex.
	labels := strings.Split(h, ".")
	if last := labels[len(labels)-1]; strings.Trim(last, "0123456789") == "" || strings.HasPrefix(last, "0x") {
		return fmt.Errorf("points at %s, an IP address in an unusual form", host)
	}
	return nil
}

func inAny(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
