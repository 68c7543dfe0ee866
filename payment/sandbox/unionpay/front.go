package unionpaysandbox

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"im2pay/payment/sandbox/sim"
)

var (
	orderIDRE = regexp.MustCompile(`^[0-9A-Za-z]{8,40}$`)
	amountRE  = regexp.MustCompile(`^[1-9][0-9]{0,11}$`)
)

// consumeRequired are the fields a front consumption must carry.
var consumeRequired = []string{"version", "encoding", "txnType", "txnSubType", "bizType", "channelType",
	"accessType", "merId", "orderId", "txnTime", "txnAmt", "currencyCode", "frontUrl", "backUrl",
	"certId", "signMethod", "signature"}

// frontTransReq receives the browser's POST of the merchant's signed form.
// A refusal is the gateway's error page with the ACP code, never a
// redirect back to the merchant.
func (s *Sandbox) frontTransReq(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, "10")
		return
	}
	f, ok := fields(r.PostForm)
	if !ok {
		s.errorPage(w, "10")
		return
	}
	if code := s.checkRequest(f, consumeRequired); code != "" {
		s.errorPage(w, code)
		return
	}
	o, code := s.register(f)
	if code != "" {
		s.errorPage(w, code)
		return
	}
	// Production answers with a page that posts on to cashier.95516.com
	// (PROVIDERS.md §3.7); a redirect to the web origin walks the same
	// change of host.
	http.Redirect(w, r, sim.WebURL(s.WebOrigin, cashierPath(o.tn)), http.StatusSeeOther)
}

// checkRequest checks what every merchant request needs: the fields, the
// version, the merchant and its signature. It returns the refusing code.
func (s *Sandbox) checkRequest(f map[string]string, required []string) string {
	for _, k := range required {
		if f[k] == "" {
			return "13" // 报文交易要素缺失
		}
	}
	if f["version"] != "5.1.0" || f["accessType"] != "0" {
		return "10"
	}
	return s.verifyMerchant(f)
}

// register records a consumption, or finds the one already posted with the
// same orderId and txnTime (the browser may post the same form twice).
func (s *Sandbox) register(f map[string]string) (*order, string) {
	txnTime, err1 := time.ParseInLocation("20060102150405", f["txnTime"], beijing)
	var timeout time.Time
	var err2 error
	if f["payTimeout"] != "" {
		timeout, err2 = time.ParseInLocation("20060102150405", f["payTimeout"], beijing)
	}
	switch {
	case f["txnType"] != "01" || f["txnSubType"] != "01" || f["bizType"] != "000201",
		f["channelType"] != "07" && f["channelType"] != "08", f["currencyCode"] != "156",
		!orderIDRE.MatchString(f["orderId"]), !amountRE.MatchString(f["txnAmt"]),
		err1 != nil, err2 != nil, !timeout.IsZero() && !timeout.After(txnTime),
		!httpURL(f["frontUrl"]), !httpURL(f["backUrl"]):
		return nil, "10" // 报文格式错误
	}
	amount, _ := strconv.ParseInt(f["txnAmt"], 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	key := f["merId"] + "|" + f["orderId"]
	if o := s.orders[key]; o != nil {
		if o.txnTime != f["txnTime"] || o.amount != amount {
			return nil, "12" // 重复交易: same orderId, another transaction
		}
		return o, ""
	}
	var tn [16]byte
	_, _ = rand.Read(tn[:])
	o := &order{tn: hex.EncodeToString(tn[:]), merID: f["merId"], orderID: f["orderId"], txnTime: f["txnTime"],
		amount: amount, frontURL: f["frontUrl"], backURL: f["backUrl"], payTimeout: timeout,
		subject: commodityName(f["riskRateInfo"])}
	s.orders[key], s.byTN[o.tn] = o, o
	return o, ""
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// commodityName reads commodityName out of riskRateInfo ({k=v&k=v}).
func commodityName(risk string) string {
	risk = strings.TrimSuffix(strings.TrimPrefix(risk, "{"), "}")
	for _, kv := range strings.Split(risk, "&") {
		if v, ok := strings.CutPrefix(kv, "commodityName="); ok {
			return v
		}
	}
	return ""
}

func cashierPath(tn string) string { return "/" + name + "/gateway/cashier/" + tn }

// byToken finds the card page's order, expiring it when past payTimeout.
func (s *Sandbox) byToken(tn string) *order {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.byTN[tn]
	if o != nil {
		s.expireLocked(o)
	}
	return o
}
