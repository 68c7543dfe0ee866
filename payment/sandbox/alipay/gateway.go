package alipaysandbox

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Methods the gateway knows.
const (
	methodPage   = "alipay.trade.page.pay"
	methodWap    = "alipay.trade.wap.pay"
	methodQuery  = "alipay.trade.query"
	methodClose  = "alipay.trade.close"
	methodRefund = "alipay.trade.refund"
)

// gwError is a refusal in Alipay's words: code, msg, sub_code, sub_msg.
type gwError struct {
	Code    string `json:"code"`
	Msg     string `json:"msg"`
	SubCode string `json:"sub_code"`
	SubMsg  string `json:"sub_msg"`
}

// The gateway's public codes and their fixed msg texts.
func missing(sub, msg string) *gwError {
	return &gwError{"40001", "Missing Required Arguments", sub, msg}
}
func invalid(sub, msg string) *gwError { return &gwError{"40002", "Invalid Arguments", sub, msg} }
func business(c code) *gwError         { return &gwError{"40004", "Business Failed", c.sub, c.msg} }

// biz is the biz_content of the methods the sandbox serves.
type biz struct {
	OutTradeNo   string   `json:"out_trade_no"`
	TradeNo      string   `json:"trade_no"`
	TotalAmount  string   `json:"total_amount"`
	Subject      string   `json:"subject"`
	ProductCode  string   `json:"product_code"`
	SellerID     string   `json:"seller_id"`
	TimeExpire   string   `json:"time_expire"`
	QuitURL      string   `json:"quit_url"`
	RefundAmount string   `json:"refund_amount"`
	OutRequestNo string   `json:"out_request_no"`
	QueryOptions []string `json:"query_options"`
	BillType     string   `json:"bill_type"`
	BillDate     string   `json:"bill_date"`
}

// gateway is /alipay/gateway.do: every call, GET or POST, carries the
// common parameters (app_id, method, charset, sign_type, timestamp,
// version, biz_content, sign), checked in the order Alipay checks them.
func (s *Sandbox) gateway(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.refuse(w, "", invalid("isv.invalid-parameter", "请求参数无法解析"))
		return
	}
	v := r.Form
	method := v.Get("method")
	if e := s.checkCommon(v); e != nil {
		s.log.Info("alipay sandbox: request refused", "method", method, "sub_code", e.SubCode)
		s.refuse(w, method, e)
		return
	}
	var b biz
	if err := json.Unmarshal([]byte(v.Get("biz_content")), &b); err != nil {
		s.refuse(w, method, business(codeInvalidParam))
		return
	}
	switch method {
	case methodPage, methodWap:
		s.pay(w, r, v, b)
	case methodQuery:
		s.answer(w, method, s.query(b))
	case methodClose:
		s.answer(w, method, s.close(b))
	case methodRefund:
		s.refundCall(w, b)
	case methodRefundQuery:
		s.answer(w, method, s.refundQuery(b, b.QueryOptions))
	case methodBillURL:
		s.answer(w, method, s.billURL(b, origin(r)))
	}
}

func known(method string) bool {
	switch method {
	case methodPage, methodWap, methodQuery, methodClose, methodRefund, methodRefundQuery, methodBillURL:
		return true
	}
	return false
}

// checkCommon validates the common parameters and the signature.
func (s *Sandbox) checkCommon(v url.Values) *gwError {
	if e := singleValues(v); e != nil {
		return e
	}
	method := v.Get("method")
	switch {
	case method == "":
		return missing("isv.missing-method", "缺少方法名参数")
	case !known(method):
		return invalid("isv.invalid-method", "不存在的方法名")
	case v.Get("app_id") == "":
		return missing("isv.missing-app-id", "缺少AppID参数")
	case v.Get("app_id") != s.ids.AppID:
		return invalid("isv.invalid-app-id", "无效的AppID参数")
	case v.Get("sign") == "":
		return missing("isv.missing-signature", "缺少签名参数")
	case v.Get("sign_type") == "":
		return missing("isv.missing-signature-type", "缺少签名类型")
	case v.Get("sign_type") != "RSA2":
		return invalid("isv.invalid-signature-type", "无效的签名类型")
	case v.Get("charset") != "" && !strings.EqualFold(v.Get("charset"), "utf-8"):
		return invalid("isv.invalid-charset", "字符集错误")
	case v.Get("timestamp") == "":
		return missing("isv.missing-timestamp", "缺少时间戳参数")
	case v.Get("version") != "1.0":
		return invalid("isv.invalid-version", "版本号错误")
	}
	if _, err := time.ParseInLocation(timeLayout, v.Get("timestamp"), beijing); err != nil {
		return invalid("isv.invalid-timestamp", "非法的时间戳参数")
	}
	if content, ok := s.verifyRequest(v); !ok {
		return invalid("isv.invalid-signature",
			"验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为："+content)
	}
	if v.Get("biz_content") == "" {
		return missing("isv.missing-biz-content", "缺少业务参数 biz_content")
	}
	return nil
}

// refuse answers a refused call: an error page for the browser flows, else
// an unsigned JSON answer under <method>_response (error_response when the
// method itself is unknown), as Alipay answers before it trusts the caller.
func (s *Sandbox) refuse(w http.ResponseWriter, method string, e *gwError) {
	if method == methodPage || method == methodWap {
		renderError(w, e)
		return
	}
	key := "error_response"
	if known(method) {
		key = strings.ReplaceAll(method, ".", "_") + "_response"
	}
	body, _ := json.Marshal(map[string]*gwError{key: e})
	writeJSON(w, body)
}

// answer writes a signed API answer: {"<method>_response":{…},"sign":"…"},
// the signature over the exact bytes of the inner object, which is what the
// merchant SDK verifies.
func (s *Sandbox) answer(w http.ResponseWriter, method string, a any) {
	inner, err := json.Marshal(a)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	key, _ := json.Marshal(strings.ReplaceAll(method, ".", "_") + "_response")
	var b strings.Builder
	b.WriteString("{")
	b.Write(key)
	b.WriteString(":")
	b.Write(inner)
	b.WriteString(`,"sign":"` + sign(s.key, inner) + `"}`)
	writeJSON(w, []byte(b.String()))
}

func writeJSON(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// renderError is Alipay's error page for a refused page/wap pay: no way
// back to the merchant, the error code shown.
func renderError(w http.ResponseWriter, e *gwError) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_ = errorTmpl.Execute(w, e)
}

var errorTmpl = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>支付宝 Alipay · 沙箱 SANDBOX · 错误</title></head>
<body style="margin:0;font-family:system-ui,sans-serif;background:#f3f4f6">
<div style="background:#1677ff;color:#fff;padding:14px 20px"><strong>支付宝 Alipay</strong>
<span data-testid="sandbox-badge" style="background:#facc15;color:#111;font-weight:700;padding:3px 8px;border-radius:4px">沙箱 SANDBOX</span></div>
<div style="max-width:520px;margin:24px auto;background:#fff;border-radius:12px;padding:24px">
<h1 style="font-size:20px">支付错误 Payment error</h1>
<p data-testid="alipay-error">错误代码 {{.SubCode}}（{{.Code}} {{.Msg}}）</p>
<p style="color:#6b7280;word-break:break-all">错误原因：{{.SubMsg}}</p>
</div></body></html>`))
