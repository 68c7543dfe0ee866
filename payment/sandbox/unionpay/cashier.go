package unionpaysandbox

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
)

var (
	cardRE   = regexp.MustCompile(`^[0-9]{13,19}$`)
	expiryRE = regexp.MustCompile(`^(0[1-9]|1[0-2])[0-9]{2}$`)
	cvn2RE   = regexp.MustCompile(`^[0-9]{3}$`)
	mobileRE = regexp.MustCompile(`^1[0-9]{10}$`)
)

// cashierPage shows the card page, or the result once the order settled.
func (s *Sandbox) cashierPage(w http.ResponseWriter, r *http.Request) {
	o := s.byToken(r.PathValue("tn"))
	if o == nil {
		s.errorPage(w, "34")
		return
	}
	s.show(w, o, "")
}

// cashierPay is the person pressing pay: card details are checked for form
// (no try is counted), then the password and SMS code (a wrong one is a
// try), then the chosen outcome settles the order.
func (s *Sandbox) cashierPay(w http.ResponseWriter, r *http.Request) {
	o := s.byToken(r.PathValue("tn"))
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if o == nil || r.ParseForm() != nil {
		s.errorPage(w, "34")
		return
	}
	form := r.PostForm
	outcome, ok := sim.ParseOutcome(form.Get("outcome"))
	if !ok {
		outcome = sim.Success
	}
	card := strings.ReplaceAll(form.Get("accNo"), " ", "")
	if outcome != sim.Cancel {
		if msg := checkCard(card, form.Get("expire"), form.Get("cvn2"), form.Get("phoneNo")); msg != "" {
			s.show(w, o, msg)
			return
		}
	}
	secretsOK := form.Get("password") == PaymentPassword && form.Get("smsCode") == SMSCode
	settled, _, err := s.attempt(o, choice{outcome: outcome, card: card, secretsOK: secretsOK})
	if err == nil && !settled {
		s.mu.Lock()
		left := sim.MaxPasswordTries - o.tries
		s.mu.Unlock()
		s.show(w, o, fmt.Sprintf("密码或短信验证码错误，还可尝试 %d 次 Wrong password or SMS code: %d tries left", left, left))
		return
	}
	s.show(w, o, "")
}

// cashierCancel is the person leaving the card page without paying.
func (s *Sandbox) cashierCancel(w http.ResponseWriter, r *http.Request) {
	o := s.byToken(r.PathValue("tn"))
	if o == nil {
		s.errorPage(w, "34")
		return
	}
	_, _, _ = s.attempt(o, choice{outcome: sim.Cancel, secretsOK: true})
	s.show(w, o, "")
}

func checkCard(card, expiry, cvn2, mobile string) string {
	switch {
	case !cardRE.MatchString(card):
		return "输入的卡号无效，请确认后输入 Invalid card number"
	case !expiryRE.MatchString(expiry):
		return "有效期格式为 MMYY Expiry must be MMYY"
	case !cvn2RE.MatchString(cvn2):
		return "CVN2 为卡背面 3 位数字 CVN2 is 3 digits"
	case !mobileRE.MatchString(mobile):
		return "请输入 11 位手机号 Mobile number must be 11 digits"
	}
	return ""
}

// show renders the order's current page: the card form while awaiting,
// else the result (with the front notification form when the plan returns
// the person to the merchant).
func (s *Sandbox) show(w http.ResponseWriter, o *order, errMsg string) {
	s.mu.Lock()
	st, code, redirect, result := o.state, o.code, o.redirect, o.result
	page := sim.CashierPage{
		Brand: "中国银联 UnionPay 在线支付", Accent: "#d7000f", Merchant: "商户号 " + o.merID,
		Subject: o.subject, Amount: "¥" + payment.FenToYuan(o.amount), OutTradeNo: o.orderID,
		Action: cashierPath(o.tn), CancelURL: cashierPath(o.tn) + "/cancel", Error: errMsg,
	}
	frontURL := o.frontURL
	if errMsg == "" && o.amount > SingleLimit {
		page.Error = fmt.Sprintf("金额超过沙箱单笔限额 ¥%s：付款将以 33 交易金额超限 失败", payment.FenToYuan(SingleLimit))
	}
	s.mu.Unlock()
	if st == awaiting {
		page.Inputs = cardInputs()
		for _, c := range TestCards {
			page.TestCards = append(page.TestCards, []string{c.Number, c.Label})
		}
		sim.RenderCashier(w, http.StatusOK, page)
		return
	}
	if !redirect {
		page.Error, page.Message = "", "支付成功 Payment complete（沙箱：本结果不返回商户 this outcome sends no return）"
		sim.RenderCashier(w, http.StatusOK, page)
		return
	}
	renderResult(w, http.StatusOK, resultView{Amount: page.Amount, OutTradeNo: o.orderID, OK: code == "00",
		Code: code, Msg: respMsg(code), Action: frontURL, Fields: sortedFields(result)})
}

func cardInputs() []sim.Input {
	return []sim.Input{
		{Name: "accNo", Label: "银行卡号 Card number", Type: "text", Value: TestCards[0].Number, Autocomplete: "off"},
		{Name: "expire", Label: "有效期 Expiry (MMYY)", Type: "text", Value: TestExpiry, Autocomplete: "off"},
		{Name: "cvn2", Label: "CVN2", Type: "text", Value: TestCVN2, Autocomplete: "off"},
		{Name: "phoneNo", Label: "预留手机号 Mobile", Type: "tel", Value: TestMobile, Autocomplete: "off"},
		{Name: "password", Label: "银行卡密码 Card password（沙箱 " + PaymentPassword + "）", Type: "password",
			Placeholder: PaymentPassword, Autocomplete: "off"},
		{Name: "smsCode", Label: "短信验证码 SMS code（沙箱 " + SMSCode + "）", Type: "text",
			Placeholder: SMSCode, Autocomplete: "one-time-code"},
	}
}
