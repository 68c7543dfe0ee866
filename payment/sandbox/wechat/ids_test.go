package wechatsandbox

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
)

// Shapes seen on real messages (PROVIDERS.md §2.1, §2.8).
var (
	publicKeyIDRE = regexp.MustCompile(`^PUB_KEY_ID_01\d{32}$`)
	uuidRE        = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

func TestThePublicKeyIDIsShapedLikeARealOne(t *testing.T) {
	h := newHarness(t)
	id := h.cfg.WeChatPayPublicKeyID
	if !publicKeyIDRE.MatchString(id) || len(strings.TrimPrefix(id, "PUB_KEY_ID_")) != 34 {
		t.Fatalf("public key id %q, want PUB_KEY_ID_ and 34 digits", id)
	}
	if want := "PUB_KEY_ID_01" + h.cfg.MchID; !strings.HasPrefix(id, want) {
		t.Errorf("public key id %q does not start with %s, as real ids carry the mchid", id, want)
	}
	if got := publicKeyID("1643053551", time.Date(2025, 3, 3, 12, 0, 0, 0, cst)); !strings.HasPrefix(got, "PUB_KEY_ID_0116430535512025030") ||
		len(got) != len("PUB_KEY_ID_0116430535512025030300389200001906") {
		t.Errorf("publicKeyID for 1643053551 on 2025-03-03 = %q, shaped unlike PUB_KEY_ID_0116430535512025030300389200001906", got)
	}
}

// The merchant side keeps the id as it came: it is opaque.
func TestNotificationIDsAreUUIDsAndReachTheMerchantAsSent(t *testing.T) {
	h := newHarness(t)
	o := h.order(payment.Desktop, 68_00)
	h.start(o)
	if _, _, err := h.sb.Simulate(context.Background(), o.OutTradeNo, sim.DuplicateNotify); err != nil {
		t.Fatal(err)
	}
	notes := h.hook.waitFor(t, o.OutTradeNo, 2)
	for _, n := range notes {
		if !uuidRE.MatchString(n.EventID) {
			t.Errorf("notification id %q is not UUID-shaped", n.EventID)
		}
	}
	if notes[0].EventID != notes[1].EventID {
		t.Errorf("a repeated delivery changed its id: %q then %q", notes[0].EventID, notes[1].EventID)
	}
	seen := map[string]bool{}
	for range 200 {
		id := notificationID()
		if !uuidRE.MatchString(id) || seen[id] {
			t.Fatalf("notification id %q is not a fresh UUID", id)
		}
		seen[id] = true
	}
}
