package wechatsandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"im2pay/payment/wechat"
)

// prepayRequest is the body of POST /v3/pay/transactions/{native,h5}.
type prepayRequest struct {
	AppID       string `json:"appid"`
	MchID       string `json:"mchid"`
	Description string `json:"description"`
	OutTradeNo  string `json:"out_trade_no"`
	TimeExpire  string `json:"time_expire"`
	Attach      string `json:"attach"`
	NotifyURL   string `json:"notify_url"`
	Amount      struct {
		Total    int64  `json:"total"`
		Currency string `json:"currency"`
	} `json:"amount"`
	SceneInfo *struct {
		PayerClientIP string `json:"payer_client_ip"`
		H5Info        *struct {
			Type string `json:"type"`
		} `json:"h5_info"`
	} `json:"scene_info"`
}

// out_trade_no: 6–32 characters of digits, letters and _-|*.
var outTradeNoRE = regexp.MustCompile(`^[0-9A-Za-z_\-|*]{6,32}$`)

// check applies WeChat's parameter rules; the sandbox also accepts http
// notify URLs (WeChat demands https) so local servers can receive them.
func (q *prepayRequest) check(tradeType string, s *Sandbox) *apiError {
	bad := func(msg string) *apiError { return fail(http.StatusBadRequest, "PARAM_ERROR", msg) }
	switch {
	case q.MchID != s.keys.MchID:
		return bad("mchid 与请求签名中的商户号不一致")
	case q.AppID != s.keys.AppID:
		return fail(http.StatusBadRequest, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
	case q.Description == "" || len(q.Description) > 127:
		return bad("description 为必填项，长度不超过127字节")
	case !outTradeNoRE.MatchString(q.OutTradeNo):
		return bad("out_trade_no 须为6-32位数字、字母或_-|*")
	case q.Amount.Total < 1:
		return bad("amount.total 须为正整数（单位：分）")
	case q.Amount.Currency != "" && q.Amount.Currency != "CNY":
		return bad("amount.currency 仅支持 CNY")
	}
	if u, err := url.Parse(q.NotifyURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return bad("notify_url 须为可访问的完整URL")
	}
	if q.TimeExpire != "" {
		if _, err := time.Parse(time.RFC3339, q.TimeExpire); err != nil {
			return bad("time_expire 格式须为 yyyy-MM-DDTHH:mm:ss+TIMEZONE")
		}
	}
	if tradeType == tradeH5 && (q.SceneInfo == nil || q.SceneInfo.PayerClientIP == "" ||
		q.SceneInfo.H5Info == nil || q.SceneInfo.H5Info.Type == "") {
		return bad("H5下单须填写 scene_info.payer_client_ip 与 scene_info.h5_info.type")
	}
	return nil
}

// fingerprint identifies the request's content: WeChat answers an identical
// repeat with the same link and refuses a different one for the same
// out_trade_no. The payer's IP may change between repeats.
func (q *prepayRequest) fingerprint(tradeType string) string {
	return fmt.Sprintf("%s|%s|%s|%d|%s|%s|%s|%s", tradeType, q.AppID, q.Description, q.Amount.Total,
		q.Amount.Currency, q.NotifyURL, q.TimeExpire, q.Attach)
}

// prepay answers Native ({"code_url"}) or H5 ({"h5_url"}) prepay.
func (s *Sandbox) prepay(tradeType string) handler {
	return func(r *http.Request, body []byte) (int, any) {
		var q prepayRequest
		if err := json.Unmarshal(body, &q); err != nil {
			return 0, fail(http.StatusBadRequest, "PARAM_ERROR", "请求体不是合法的JSON")
		}
		if e := q.check(tradeType, s); e != nil {
			return 0, e
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		o := s.orders[q.OutTradeNo]
		if o == nil {
			o = s.newOrder(&q, tradeType, s.origin(r))
		} else if e := s.repeat(o, &q, tradeType); e != nil {
			return 0, e
		}
		if tradeType == tradeNative {
			return http.StatusOK, map[string]string{"code_url": o.codeURL}
		}
		return http.StatusOK, map[string]string{"h5_url": o.h5URL}
	}
}

// repeat checks a prepay for an existing order. Callers hold s.mu.
func (s *Sandbox) repeat(o *order, q *prepayRequest, tradeType string) *apiError {
	switch s.stateOf(o) {
	case wechat.StateSuccess, wechat.StateRefund:
		return fail(http.StatusBadRequest, "ORDERPAID", "该订单已支付")
	case wechat.StateClosed:
		return fail(http.StatusBadRequest, "ORDER_CLOSED", "订单已关闭")
	}
	if o.fingerprint != q.fingerprint(tradeType) {
		return fail(http.StatusBadRequest, "OUT_TRADE_NO_USED", "商户订单号重复，同一笔交易不能多次提交不同的参数")
	}
	return nil
}

// newOrder stores a prepaid order with its code_url or h5_url. Callers
// hold s.mu.
func (s *Sandbox) newOrder(q *prepayRequest, tradeType, origin string) *order {
	o := &order{
		outTradeNo: q.OutTradeNo, description: q.Description, notifyURL: q.NotifyURL, tradeType: tradeType,
		attach: q.Attach, amount: q.Amount.Total, currency: "CNY", fingerprint: q.fingerprint(tradeType),
		state: wechat.StateNotPay, desc: "订单未支付",
		// prepay_id shape: "wx" + yyyyMMddHHmmss + 20 more characters.
		prepayID: "wx" + time.Now().In(cst).Format("20060102150405") + randString(20, hexdigits),
	}
	o.expire, _ = time.Parse(time.RFC3339, q.TimeExpire)
	for o.token == "" || s.tokens[o.token] != "" {
		o.token = randString(10, alnum)
	}
	s.tokens[o.token] = o.outTradeNo
	// code_url shape: weixin://wxpay/bizpayurl?pr=XXXXXXX; h5_url shape:
	// …/checkmweb?prepay_id=…&package=…, to which the merchant appends
	// &redirect_url=.
	o.codeURL = "weixin://wxpay/bizpayurl?pr=" + o.token
	o.h5URL = origin + "/" + Name + "/h5/" + o.token + "?prepay_id=" + o.prepayID + "&package=" + randString(10, digits)
	s.orders[o.outTradeNo] = o
	return o
}

// origin is the browser-facing origin for h5_url.
func (s *Sandbox) origin(r *http.Request) string {
	if s.BaseURL != "" {
		return strings.TrimRight(s.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

var cst = time.FixedZone("CST", 8*3600)
