package alipaysandbox

import (
	"net/http"
	"strings"

	"im2pay/payment/sandbox/sim"
)

var _ sim.Pages = (*Sandbox)(nil)

// Page implements sim.Pages: everything under /alipay/ but the gateway is a
// browser page. In production the gateway (openapi.alipay.com/gateway.do)
// redirects a page/wap pay on to the cashier hosts unitradeprod.alipay.com
// and excashier.alipay.com, or mclient.alipay.com for wap (PROVIDERS.md
// §1.7); the sandbox's cashier stands for all of them on its web origin.
// The bill download (dwbillcenter.alipay.com, §1.5) is fetched by our
// server, not a browser: it stays on the API origin.
func (s *Sandbox) Page(path string) bool {
	return strings.HasPrefix(path, "/"+name+"/") && path != "/"+name+"/gateway.do" &&
		path != "/"+name+"/downloadBillFile.resource"
}

// origin is the scheme and host a request came to: where the bill
// download URL points, on the API origin.
func origin(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}
