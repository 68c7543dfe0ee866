package account

import "net/netip"

// clientKey is the address the per-client limits count under. An IPv4
// address counts alone; an IPv6 address counts with its /64, the smallest
// block an ISP hands one subscriber (RFC 6177 §2, and SLAAC needs a /64),
// so one machine cannot step through its 2^64 addresses to reset the
// limits. Anything that is not an address (the seed's "seed", a test's
// name) counts as itself.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.String()
}
