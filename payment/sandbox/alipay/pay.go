package alipaysandbox

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
)

// Alipay's out_trade_no: up to 64 letters, digits and underscores.
var outTradeNoRE = regexp.MustCompile(`^[0-9A-Za-z_]{1,64}$`)

// pay handles alipay.trade.page.pay / alipay.trade.wap.pay from the
// person's browser: it creates the trade (or finds the same one again) and
// sends the browser to the cashier.
func (s *Sandbox) pay(w http.ResponseWriter, r *http.Request, v url.Values, b biz) {
	wap := v.Get("method") == methodWap
	in, e := s.readPay(v, b, wap)
	if e != nil {
		renderError(w, e)
		return
	}
	t, e := s.openTrade(in)
	if e != nil {
		renderError(w, e)
		return
	}
	http.Redirect(w, r, sim.WebURL(s.WebOrigin, "/"+name+"/cashier/"+t.token), http.StatusFound)
}

// readPay checks a pay request's business parameters into a new trade.
func (s *Sandbox) readPay(v url.Values, b biz, wap bool) (*trade, *gwError) {
	product := "FAST_INSTANT_TRADE_PAY"
	if wap {
		product = "QUICK_WAP_WAY"
	}
	amount, err := payment.YuanToFen(b.TotalAmount)
	bad := func(what string) *gwError {
		return &gwError{"40004", "Business Failed", codeInvalidParam.sub, "参数无效: " + what}
	}
	switch {
	case !outTradeNoRE.MatchString(b.OutTradeNo):
		return nil, bad("out_trade_no")
	case err != nil || amount <= 0:
		return nil, bad("total_amount")
	case b.Subject == "":
		return nil, bad("subject")
	case b.ProductCode != product:
		return nil, bad("product_code must be " + product)
	case b.SellerID != "" && b.SellerID != s.ids.SellerID:
		return nil, business(codePartnerError)
	}
	t := &trade{outTradeNo: b.OutTradeNo, amount: amount, subject: b.Subject, wap: wap,
		notifyURL: v.Get("notify_url"), returnURL: v.Get("return_url")}
	if wap {
		t.quitURL = b.QuitURL
	}
	for _, u := range []string{t.notifyURL, t.returnURL, t.quitURL} {
		if p, err := url.Parse(u); u != "" && (err != nil || p.Host == "" || (p.Scheme != "http" && p.Scheme != "https")) {
			return nil, bad("URL " + u)
		}
	}
	if b.TimeExpire != "" {
		// Page pay documents seconds, wap pay once documented minutes: both are accepted.
		t.expires, err = time.ParseInLocation(timeLayout, b.TimeExpire, beijing)
		if err != nil {
			t.expires, err = time.ParseInLocation("2006-01-02 15:04", b.TimeExpire, beijing)
		}
		if err != nil {
			return nil, bad("time_expire")
		}
	}
	return t, nil
}

// openTrade registers a new trade, or returns the existing one for the same
// out_trade_no when nothing about it changed. An amount above MaxAmount is
// refused and recorded as a failed trade so trade.query can report it.
func (s *Sandbox) openTrade(in *trade) (*trade, *gwError) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.trades[in.outTradeNo]; t != nil {
		t.expireIfDue(now)
		switch {
		case t.amount != in.amount || t.subject != in.subject:
			return nil, business(codeInconsistent)
		case t.paid():
			return nil, business(codeHasSuccess)
		case t.status == statusClosed:
			return nil, business(codeHasClose)
		case t.status == statusFailed:
			return nil, business(code{t.failCode, codeMsg(t.failCode)})
		}
		return t, nil
	}
	if !in.expires.IsZero() && now.After(in.expires) {
		return nil, business(codeHasClose)
	}
	in.token, in.created, in.status = randomHex(16), now, statusWait
	in.tradeNo = now.In(beijing).Format("20060102") + "22001" + digits(15)
	if in.amount > MaxAmount {
		in.status, in.failCode = statusFailed, codeTotalFee.sub
	}
	s.trades[in.outTradeNo], s.byToken[in.token] = in, in
	if in.status == statusFailed {
		return nil, business(codeTotalFee)
	}
	return in, nil
}

// cashierPage shows the cashier for a trade, or its final state.
func (s *Sandbox) cashierPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	t := s.byToken[r.PathValue("token")]
	var snap trade
	if t != nil {
		t.expireIfDue(s.now())
		snap = *t
	}
	s.mu.Unlock()
	if t == nil {
		renderError(w, business(codeNotExist))
		return
	}
	sim.RenderCashier(w, http.StatusOK, s.page(snap, step{}))
}

// cashierPay is the cashier form's POST: password and chosen outcome.
func (s *Sandbox) cashierPay(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	t := s.byToken[r.PathValue("token")]
	s.mu.Unlock()
	if t == nil {
		renderError(w, business(codeNotExist))
		return
	}
	o := sim.Success
	if raw := r.PostFormValue("outcome"); raw != "" {
		var known bool
		if o, known = sim.ParseOutcome(raw); !known {
			http.Error(w, "unknown outcome", http.StatusBadRequest)
			return
		}
	}
	st, err := s.settle(t, o, r.PostFormValue("password"))
	if err == nil && st.follow {
		http.Redirect(w, r, st.redirect, http.StatusSeeOther)
		return
	}
	s.mu.Lock()
	snap := *t
	s.mu.Unlock()
	sim.RenderCashier(w, http.StatusOK, s.page(snap, st))
}

// page is the cashier page for a trade after step st.
func (s *Sandbox) page(t trade, st step) sim.CashierPage {
	p := sim.CashierPage{
		Brand: "支付宝 Alipay", Accent: "#1677ff", Merchant: "IM2.0 Pay · APPID " + s.ids.AppID,
		Subject: t.subject, Amount: "¥" + payment.FenToYuan(t.amount), OutTradeNo: t.outTradeNo,
		Action: "/" + name + "/cashier/" + t.token, CancelURL: t.cancelURL(), Error: st.errMsg,
		Inputs: []sim.Input{{Name: "password", Label: "支付密码 Payment password（沙箱 sandbox: " + Password + "）",
			Type: "password", Placeholder: "6 位数字", Autocomplete: "off"}},
	}
	switch t.status {
	case statusWait:
		return p
	case statusFailed:
		if p.Error == "" {
			p.Error = fmt.Sprintf("支付失败 Payment failed: %s（%s）", codeMsg(t.failCode), t.failCode)
		}
		p.Message, p.ReturnURL, p.Failed = "交易未完成，请返回商户 Not paid", st.redirect, true
		if p.ReturnURL == "" {
			p.ReturnURL = t.returnURL
		}
	case statusSuccess, statusFinished:
		p.Message, p.ReturnURL = "支付成功 Paid", st.redirect
	default:
		p.Message = "交易已关闭 The trade is closed"
	}
	p.CancelURL = ""
	return p
}
