package wechatsandbox

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
	"im2pay/payment/wechat"
)

// codeURLPrefix starts every code_url the sandbox issues.
const codeURLPrefix = "weixin://wxpay/bizpayurl?pr="

// cashier is the frame every sandbox WeChat page shares.
var cashier = sim.CashierPage{Brand: "微信支付 WeChat Pay", Accent: "#07c160"}

// scanPage is what the phone shows after scanning code_url:
// GET /wechat/scan?code=<code_url>.
func (s *Sandbox) scanPage(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("code")
	no, ok := s.lookup(strings.TrimPrefix(code, codeURLPrefix), tradeNative)
	if !ok || !strings.HasPrefix(code, codeURLPrefix) {
		s.message(w, http.StatusNotFound, "二维码无效或已过期 This QR code is invalid or expired")
		return
	}
	s.render(w, http.StatusOK, no, "/"+Name+"/scan", []sim.Hidden{{Name: "code", Value: code}}, "")
}

// scanPay is the password form of the scan page. The person stays on
// their phone afterwards: Native payments never redirect.
func (s *Sandbox) scanPay(w http.ResponseWriter, r *http.Request) {
	code := r.PostFormValue("code")
	no, ok := s.lookup(strings.TrimPrefix(code, codeURLPrefix), tradeNative)
	if !ok {
		s.message(w, http.StatusNotFound, "二维码无效或已过期 This QR code is invalid or expired")
		return
	}
	s.submit(w, r, no, "/"+Name+"/scan", []sim.Hidden{{Name: "code", Value: code}})
}

// h5Page is the H5 cashier: GET /wechat/h5/{token}?prepay_id=…&package=…
// &redirect_url=…. It remembers redirect_url, where the person goes after
// paying or cancelling.
func (s *Sandbox) h5Page(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	no, ok := s.lookup(tok, tradeH5)
	if !ok {
		s.message(w, http.StatusNotFound, "支付链接无效或已过期 This payment link is invalid or expired")
		return
	}
	q := r.URL.Query()
	s.mu.Lock()
	o := s.orders[no]
	valid := q.Get("prepay_id") == o.prepayID
	if ru, err := url.Parse(q.Get("redirect_url")); valid && err == nil && ru.IsAbs() &&
		(ru.Scheme == "http" || ru.Scheme == "https") {
		o.redirect = ru.String()
	}
	s.mu.Unlock()
	if !valid {
		// WeChat's page refuses an h5_url whose parameters were altered.
		s.message(w, http.StatusBadRequest, "商家参数格式有误，请联系商家解决 The payment link was altered")
		return
	}
	s.render(w, http.StatusOK, no, "/"+Name+"/h5/"+tok, nil, "")
}

// h5Pay is the H5 password form; redirect plans send the person to
// redirect_url with a 303 and no parameters.
func (s *Sandbox) h5Pay(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	no, ok := s.lookup(tok, tradeH5)
	if !ok {
		s.message(w, http.StatusNotFound, "支付链接无效或已过期 This payment link is invalid or expired")
		return
	}
	s.submit(w, r, no, "/"+Name+"/h5/"+tok, nil)
}

// submit runs one payment attempt from a cashier form.
func (s *Sandbox) submit(w http.ResponseWriter, r *http.Request, no, action string, hidden []sim.Hidden) {
	out := sim.Success
	if v := r.PostFormValue("outcome"); v != "" {
		o, ok := sim.ParseOutcome(v)
		if !ok {
			s.render(w, http.StatusBadRequest, no, action, hidden, "未知的沙箱结果 Unknown outcome")
			return
		}
		out = o
	}
	res, err := s.pay(no, out, r.PostFormValue("password") == Password)
	switch {
	case errors.Is(err, errNotPayable):
		s.render(w, http.StatusConflict, no, action, hidden, "")
	case err != nil:
		s.message(w, http.StatusInternalServerError, err.Error())
	case res.retry != "":
		s.render(w, http.StatusOK, no, action, hidden, res.retry)
	case res.redirect != "":
		http.Redirect(w, r, res.redirect, http.StatusSeeOther)
	default:
		p := cashier
		p.Message, p.Failed, p.ReturnURL = res.message, res.refused, res.back
		sim.RenderCashier(w, http.StatusOK, p)
	}
}

// lookup finds the order behind a code_url token or h5 token.
func (s *Sandbox) lookup(token, tradeType string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	no := s.tokens[token]
	o := s.orders[no]
	return no, o != nil && o.tradeType == tradeType
}

// render shows the order: the password form while it can be paid, its
// state otherwise.
func (s *Sandbox) render(w http.ResponseWriter, status int, no, action string, hidden []sim.Hidden, errMsg string) {
	s.mu.Lock()
	o := s.orders[no]
	p := cashier
	p.Merchant = "沙箱商户 Sandbox merchant " + s.keys.MchID
	p.Subject, p.OutTradeNo = o.description, o.outTradeNo
	p.Amount = "¥" + payment.FenToYuan(o.amount)
	p.Action, p.Hidden, p.Error = action, hidden, errMsg
	p.Inputs = []sim.Input{{Name: "password", Label: "支付密码 Payment password（沙箱 sandbox: " + Password + "）",
		Type: "password", Placeholder: "••••••", Autocomplete: "off"}}
	if o.tradeType == tradeH5 {
		p.CancelURL = o.redirect // cancelling leaves the order unpaid and goes back
	}
	if p.Error == "" && o.amount > MaxAmountFen {
		p.Error = "金额超过单笔支付限额 ¥" + payment.FenToYuan(MaxAmountFen) + "，支付将失败 Over the per-payment limit (RULE_LIMIT)"
	}
	switch s.stateOf(o) {
	case wechat.StateSuccess, wechat.StateRefund:
		p.Message = "该订单已支付 This order is paid"
	case wechat.StateClosed:
		p.Message = "订单已关闭 This order is closed"
	}
	if p.Message != "" && o.tradeType == tradeH5 {
		p.ReturnURL = o.redirect
	}
	s.mu.Unlock()
	sim.RenderCashier(w, status, p)
}

// message shows a page with only a message.
func (s *Sandbox) message(w http.ResponseWriter, status int, msg string) {
	p := cashier
	p.Message = msg
	sim.RenderCashier(w, status, p)
}
