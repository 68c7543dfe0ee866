package sim

import "strings"

// Pages is implemented by a simulator whose browser pages (cashier, H5
// and approve pages) live on another origin than its API, as every real
// provider's do (PROVIDERS.md §1.7, §2.7, §3.7, §4.7): Alipay's gateway
// openapi.alipay.com sends the browser on to excashier.alipay.com,
// WeChat's h5_url is on wx.tenpay.com, UnionPay's gateway posts on to
// cashier.95516.com, and PayPal's approve link is on www.paypal.com. The
// sandbox server serves the paths Page accepts on its web origin only, and
// every other path on its API origin only, so a redirect that forgot the
// second origin, or a merchant CSP that does not allow it, fails a test.
type Pages interface {
	Page(path string) bool
}

// WebURL is the absolute URL of a browser page at path ("/alipay/cashier/…")
// on the web origin; with no web origin (one-origin mode, as the
// simulators' own tests run them) it is path itself.
func WebURL(webOrigin, path string) string {
	return strings.TrimRight(webOrigin, "/") + path
}
