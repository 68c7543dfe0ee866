package alipaysandbox

import (
	"strings"

	"im2pay/payment/sandbox/sim"
)

var _ sim.Pages = (*Sandbox)(nil)

// Page implements sim.Pages: everything under /alipay/ but the gateway is a
// browser page. In production the gateway (openapi.alipay.com/gateway.do)
// redirects a page/wap pay on to the cashier hosts unitradeprod.alipay.com
// and excashier.alipay.com, or mclient.alipay.com for wap (PROVIDERS.md
// §1.7); the sandbox's cashier stands for all of them on its web origin.
func (s *Sandbox) Page(path string) bool {
	return strings.HasPrefix(path, "/"+name+"/") && path != "/"+name+"/gateway.do"
}
