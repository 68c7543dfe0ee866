package paypalsandbox

import (
	"strings"

	"im2pay/payment/sandbox/sim"
)

var _ sim.Pages = (*Sandbox)(nil)

// Page implements sim.Pages: everything under /paypal/ but the REST API
// (/v1/…, /v2/…) is a browser page, as www.paypal.com/checkoutnow is to
// api-m.paypal.com (PROVIDERS.md §4.7).
func (s *Sandbox) Page(path string) bool {
	rest, ok := strings.CutPrefix(path, "/"+name+"/")
	return ok && !strings.HasPrefix(rest, "v1/") && !strings.HasPrefix(rest, "v2/")
}
