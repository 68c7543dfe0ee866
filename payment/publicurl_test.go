package payment

import (
	"strings"
	"testing"
)

func TestOnlyHTTPSURLsOnPublicHostsAreAcceptableInProduction(t *testing.T) {
	cases := []struct {
		name, url string
		why       string // "" when acceptable; otherwise a piece of the explanation
	}{
		{"a provider's production gateway", "https://openapi.alipay.com/gateway.do", ""},
		{"a public origin with a port", "https://pay.example.com:8443", ""},
		{"a public IPv4 address", "https://8.8.8.8/notify", ""},
		{"a public IPv6 address", "https://[2606:4700::1111]/", ""},
		{"a name ending in a dot", "https://api-m.paypal.com./v2", ""},
		{"an upper-case scheme", "HTTPS://api.mch.weixin.qq.com", ""},
		{"plain http on a public host", "http://pay.example.com/pay/notify/alipay", "not https"},
		{"a relative URL", "/pay/notify/alipay", "absolute"},
		{"nothing at all", "", "absolute"},
		{"localhost", "https://localhost:8443", "local network"},
		{"localhost in capitals with a dot", "https://LOCALHOST./", "local network"},
		{"a name under localhost", "https://pay.localhost", "local network"},
		{"an mDNS name", "https://printer.local", "local network"},
		{"an intranet name", "https://pay.corp.internal", "local network"},
		{"IPv4 loopback", "https://127.0.0.1:8090/alipay", "loopback or private"},
		{"another IPv4 loopback address", "https://127.0.0.2", "loopback or private"},
		{"a 10/8 address", "https://10.1.2.3", "loopback or private"},
		{"a 172.16/12 address", "https://172.20.0.1", "loopback or private"},
		{"a 192.168/16 address", "https://192.168.1.10", "loopback or private"},
		{"a link-local address", "https://169.254.169.254/latest", "loopback or private"},
		{"carrier-grade NAT", "https://100.64.0.1", "loopback or private"},
		{"the unspecified address", "https://0.0.0.0", "loopback or private"},
		{"IPv6 loopback", "https://[::1]:8443", "loopback or private"},
		{"an IPv6 unique local address", "https://[fd00::1]", "loopback or private"},
		{"an IPv6 link-local address with a zone", "https://[fe80::1%25eth0]", "loopback or private"},
		{"an IPv4-mapped IPv6 private address", "https://[::ffff:10.0.0.1]", "loopback or private"},
		{"a documentation address", "https://203.0.113.7", "loopback or private"},
		{"IPv4 shorthand", "https://127.1", "unusual form"},
		{"IPv4 as one decimal number", "https://2130706433", "unusual form"},
		{"IPv4 in hex", "https://0x7f000001", "unusual form"},
		{"credentials in the URL", "https://user:pass@pay.example.com", "password"},
	}
	for _, c := range cases {
		err := CheckPublicHTTPS(c.url)
		switch {
		case c.why == "" && err != nil:
			t.Errorf("%s (%s) was refused: %v", c.name, c.url, err)
		case c.why != "" && err == nil:
			t.Errorf("%s (%s) was accepted", c.name, c.url)
		case c.why != "" && !strings.Contains(err.Error(), c.why):
			t.Errorf("%s (%s): %q does not say %q", c.name, c.url, err, c.why)
		}
	}
}
