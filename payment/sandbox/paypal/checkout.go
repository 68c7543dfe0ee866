package paypalsandbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"im2pay/payment"
	"im2pay/payment/paypal"
	"im2pay/payment/sandbox/sim"
)

// Password is the sandbox buyer's PayPal password. Any other password is a
// wrong password; the third wrong one voids the order.
const Password = "123456"

// The sandbox's two PayPal accounts: the buyer who logs in on the approval
// page, and the merchant (business) account that receives the money.
const (
	buyerEmail    = "buyer@personal.sandbox.im2pay.test"
	buyerPayerID  = "SBBUYERQ7XW2K"
	merchantEmail = "merchant@business.sandbox.im2pay.test"
)

var (
	errNoOrder       = errors.New("paypal sandbox: no such order")
	errNotApprovable = errors.New("paypal sandbox: the order can no longer be approved")
)

// checkoutURL is the approve link. Production puts it on www.paypal.com,
// not on the API host api-m.paypal.com (PROVIDERS.md §4.7): here it is on
// the web origin when there is one.
func (s *Sandbox) checkoutURL(id string) string {
	base := s.apiBase()
	if s.WebOrigin != "" {
		base = strings.TrimRight(s.WebOrigin, "/") + "/" + name
	}
	return base + "/checkoutnow?token=" + url.QueryEscape(id)
}

// step is what the approval page does next: send the person somewhere,
// show an error on the form, or show a final message.
type step struct{ redirect, errMsg, message string }

// approvable: a new order, or one whose capture was declined (PayPal's
// documented recovery sends the payer back to approve with another source).
func approvable(o *order) bool {
	return o.status == statusCreated || (o.status == statusApproved && o.retryable)
}

// settle is the approval page's decision, shared by the form and Simulate.
// Money does not move here: approval only lets the merchant capture, and
// the chosen outcome is what that capture will meet.
func (s *Sandbox) settle(id string, oc sim.Outcome, passwordOK bool) (step, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.lookup(id)
	if o == nil {
		return step{}, errNoOrder
	}
	if !approvable(o) {
		return step{}, fmt.Errorf("%w (status %s)", errNotApprovable, o.status)
	}
	if oc == sim.Cancel { // "Cancel and return to merchant": the order stays CREATED
		return step{redirect: appendQuery(o.cancelURL, "token", o.id)}, nil
	}
	if !passwordOK || oc == sim.WrongPassword {
		o.wrongTries++
		if left := sim.MaxPasswordTries - o.wrongTries; left > 0 {
			return step{errMsg: fmt.Sprintf("密码错误，还可以再试 %d 次。Wrong password: %d tries left.", left, left)}, nil
		}
		o.status, o.updated = statusVoided, time.Now()
		s.log.Info("paypal sandbox: order voided after wrong passwords", "order", o.id)
		// Never approved, so no PayerID: the merchant learns why at capture.
		return step{redirect: appendQuery(o.returnURL, "token", o.id)}, nil
	}
	o.status, o.payerID, o.outcome, o.updated = statusApproved, buyerPayerID, oc, time.Now()
	o.issue, o.retryable = captureIssues[oc], false
	s.log.Info("paypal sandbox: order approved", "order", o.id, "outcome", oc)
	if !sim.PlanFor(oc).Redirect {
		return step{message: "已授权付款，但网络中断，未返回商户。Approved; the connection dropped before returning to the merchant."}, nil
	}
	return step{redirect: appendQuery(o.returnURL, "token", o.id, "PayerID", buyerPayerID)}, nil
}

// Simulate approves (or refuses, or cancels) the latest order for
// outTradeNo exactly as the approval page would with the right password.
func (s *Sandbox) Simulate(_ context.Context, outTradeNo string, oc sim.Outcome) (string, bool, error) {
	s.mu.Lock()
	id, ok := s.byTrade[outTradeNo]
	s.mu.Unlock()
	if !ok {
		return "", false, nil
	}
	st, err := s.settle(id, oc, true)
	return st.redirect, true, err
}

// checkoutPage is GET /checkoutnow?token=<order id>.
func (s *Sandbox) checkoutPage(w http.ResponseWriter, r *http.Request) {
	s.renderPage(w, r.URL.Query().Get("token"), http.StatusOK, "")
}

// checkoutSubmit is the login-and-pay form.
func (s *Sandbox) checkoutSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	token := r.PostForm.Get("token")
	oc, ok := sim.ParseOutcome(r.PostForm.Get("outcome"))
	if !ok {
		oc = sim.Success
	}
	st, err := s.settle(token, oc, r.PostForm.Get("login_password") == Password)
	switch {
	case errors.Is(err, errNoOrder):
		s.renderPage(w, token, http.StatusNotFound, "")
	case err != nil:
		s.renderPage(w, token, http.StatusConflict, "")
	case st.redirect != "":
		http.Redirect(w, r, st.redirect, http.StatusSeeOther)
	case st.errMsg != "":
		s.renderPage(w, token, http.StatusOK, st.errMsg)
	default:
		sim.RenderCashier(w, http.StatusOK, sim.CashierPage{Brand: brand, Accent: accent, Message: st.message})
	}
}

const (
	brand  = "PayPal 贝宝"
	accent = "#003087"
)

func (s *Sandbox) renderPage(w http.ResponseWriter, token string, status int, errMsg string) {
	s.mu.Lock()
	o := s.lookup(token)
	if o == nil {
		s.mu.Unlock()
		sim.RenderCashier(w, http.StatusNotFound, sim.CashierPage{Brand: brand, Accent: accent,
			Message: "订单不存在或已过期。This order does not exist or has expired."})
		return
	}
	p := sim.CashierPage{Brand: brand, Accent: accent, Merchant: o.brand, Subject: o.description,
		Amount: payment.Price{Currency: o.currency, Amount: o.amount, Decimals: paypal.Decimals(o.currency)}.String(), OutTradeNo: o.invoiceID, Action: "checkoutnow", Error: errMsg,
		Hidden: []sim.Hidden{{Name: "token", Value: o.id}},
		Inputs: []sim.Input{
			{Name: "login_email", Label: "邮箱 Email", Type: "text", Value: buyerEmail, Autocomplete: "username"},
			{Name: "login_password", Label: "PayPal 密码 Password", Type: "password",
				Placeholder: "沙箱密码 Sandbox password " + Password, Autocomplete: "current-password"},
		},
		CancelURL: appendQuery(o.cancelURL, "token", o.id),
	}
	if o.amount > MaxAmount && errMsg == "" {
		p.Error = "金额超出 PayPal 单笔限额 " + payment.FormatMinor(MaxAmount, 2) + "。Over PayPal's single-payment limit."
	}
	if !approvable(o) {
		p.Message, p.CancelURL = "此订单已无法付款（"+o.status+"）。This order can no longer be paid.", ""
	}
	s.mu.Unlock()
	sim.RenderCashier(w, status, p)
}

// appendQuery adds parameters the way PayPal extends return_url and
// cancel_url: after the merchant's own query, which it leaves untouched.
func appendQuery(raw string, kv ...string) string {
	var b strings.Builder
	b.WriteString(raw)
	sep := "?"
	if strings.Contains(raw, "?") {
		sep = "&"
	}
	for i := 0; i+1 < len(kv); i += 2 {
		b.WriteString(sep + url.QueryEscape(kv[i]) + "=" + url.QueryEscape(kv[i+1]))
		sep = "&"
	}
	return b.String()
}
