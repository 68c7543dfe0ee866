package wechatsandbox

import (
	"strings"

	"im2pay/payment/sandbox/sim"
)

var _ sim.Pages = (*Sandbox)(nil)

// Page implements sim.Pages: the H5 page and the scan page are browser
// pages; the APIv3 endpoints (/wechat/v3/…) are the API, and so are the
// sandbox's refund controls (/wechat/_sim/…). Production's
// h5_url is on wx.tenpay.com, its API on api.mch.weixin.qq.com
// (PROVIDERS.md §2.7); the scan page stands for the WeChat app, which
// no real page has.
func (s *Sandbox) Page(path string) bool {
	rest, ok := strings.CutPrefix(path, "/"+Name+"/")
	return ok && !strings.HasPrefix(rest, "v3/") && !strings.HasPrefix(rest, "_sim/")
}
