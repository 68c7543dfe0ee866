package unionpaysandbox

import (
	"strings"

	"im2pay/payment/sandbox/sim"
)

var _ sim.Pages = (*Sandbox)(nil)

// Page implements sim.Pages: the hosted card page, which production serves
// on cashier.95516.com while the gateway's frontTransReq.do and
// queryTrans.do stay on gateway.95516.com (PROVIDERS.md §3.7).
func (s *Sandbox) Page(path string) bool {
	return strings.HasPrefix(path, "/"+name+"/gateway/cashier/")
}
