package account

import "testing"

func TestClientKeyCountsAnIPv6SubscriberAsOneBlock(t *testing.T) {
	cases := []struct{ ip, want string }{
		{"203.0.113.7", "203.0.113.7"},
		{"::ffff:203.0.113.7", "203.0.113.7"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"seed", "seed"},
	}
	for _, c := range cases {
		if got := clientKey(c.ip); got != c.want {
			t.Errorf("clientKey(%q) = %q, want %q", c.ip, got, c.want)
		}
	}
	if clientKey("2001:db8:1:2::1") == clientKey("2001:db8:1:3::1") {
		t.Error("two /64s share one key")
	}
}
