// Package wechatsandbox plays WeChat Pay APIv3 for local development and
// tests: it verifies the merchant's signed requests, answers Native and H5
// prepay, query and close signed with a WeChat Pay key, serves the page a
// phone opens after scanning the QR code and the H5 cashier page, and
// posts encrypted, signed TRANSACTION.SUCCESS notifications on WeChat's
// retry schedule. Orders live in memory.
package wechatsandbox

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
	"im2pay/payment/wechat"
)

// Name is the sandbox's URL prefix segment.
const Name = "wechat"

// Password is the sandbox payment password (支付密码); any other counts as
// a wrong password.
const Password = "123456"

// MaxAmountFen is the sandbox's per-payment limit: ¥50,000. WeChat applies
// the payer's own limits (零钱 balance, bank-card quick-pay) when they pay,
// not at prepay; likewise the sandbox accepts the order and fails any
// payment of a larger amount with RULE_LIMIT (ReasonOverLimit).
const MaxAmountFen = 50_000_00

// Trade types WeChat reports for the two flows.
const (
	tradeNative = "NATIVE"
	tradeH5     = "MWEB"
)

// failureDesc is the trade_state_desc of a PAYERROR order: the
// description of the error code WeChat documents for the failure, with the
// code in brackets (see wechat.FailureReason for the reverse mapping).
var failureDesc = map[payment.Reason]string{
	payment.ReasonWrongDetails: "支付密码错误次数过多，请稍后再试",
	payment.ReasonDeclined:     "交易错误，银行卡被拒绝 [TRADE_ERROR]",
	payment.ReasonNoFunds:      "用户账号余额不足 [NOT_ENOUGH]",
	payment.ReasonRestricted:   "用户账号异常，支付受限 [ACCOUNT_ERROR]",
	payment.ReasonOverLimit:    "超出支付限额 [RULE_LIMIT]",
}

// Sandbox is the WeChat Pay simulator.
type Sandbox struct {
	// BaseURL is the browser-facing origin put into h5_url
	// ("http://localhost:8080"); empty means the origin the prepay request
	// came to.
	BaseURL string

	keys keys
	aead cipher.AEAD
	n    *sim.Notifier
	log  *slog.Logger

	migration migration // platform-certificate signatures, when migrating

	mu     sync.Mutex
	orders map[string]*order // by out_trade_no
	tokens map[string]string // code_url "pr" and h5 tokens → out_trade_no
}

// order is one prepaid WeChat order.
type order struct {
	outTradeNo, description, notifyURL, tradeType, attach string
	amount                                                int64
	currency                                              string
	expire                                                time.Time
	fingerprint                                           string // identical prepay requests get the same answer
	token, prepayID, codeURL, h5URL                       string

	state, desc   string
	transactionID string
	successTime   time.Time
	redirect      string // redirect_url the person brought to the H5 page
	tries         int    // wrong payment passwords so far
}

var _ sim.Simulator = (*Sandbox)(nil)

// New loads the keys Provision made in dir.
func New(dir string, n *sim.Notifier, log *slog.Logger) (*Sandbox, error) {
	if n == nil {
		return nil, errors.New("wechat sandbox: a notifier is required")
	}
	k, err := loadKeys(dir)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k.apiv3)
	if err != nil {
		return nil, fmt.Errorf("wechat sandbox: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("wechat sandbox: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sandbox{keys: k, aead: aead, n: n, log: log.With("sandbox", Name),
		orders: map[string]*order{}, tokens: map[string]string{}}, nil
}

// Name implements sim.Simulator.
func (s *Sandbox) Name() string { return Name }

// ScanURL is the sandbox page a phone would open after scanning code_url;
// our QR page shows it as a "simulate scan" link in sandbox mode.
func ScanURL(sandboxBaseURL, codeURL string) string {
	return sandboxBaseURL + "/" + Name + "/scan?code=" + url.QueryEscape(codeURL)
}

// Simulate implements sim.Simulator: it does what choosing outcome on the
// cashier page does (with the right password, except for WrongPassword).
// Native payments never send the person back, so their redirect is "";
// an H5 payment returns to the redirect_url the person brought to the H5
// page, so open h5_url before simulating an H5 payment.
func (s *Sandbox) Simulate(_ context.Context, outTradeNo string, o sim.Outcome) (string, bool, error) {
	s.mu.Lock()
	_, found := s.orders[outTradeNo]
	s.mu.Unlock()
	if !found {
		return "", false, nil
	}
	r, err := s.pay(outTradeNo, o, o != sim.WrongPassword)
	return r.redirect, true, err
}

// paid is what a payment attempt leads to.
type paid struct {
	redirect string // where the person is sent (H5 with a redirect plan)
	retry    string // a wrong password: stay on the page with this error
	message  string // the final state shown on the page
}

// errNotPayable means the order is paid, failed, closed or expired.
var errNotPayable = errors.New("wechat sandbox: order cannot be paid")

// pay settles one attempt. The password is checked first, then the
// amount limit (which overrides the chosen outcome), then the plan.
func (s *Sandbox) pay(outTradeNo string, out sim.Outcome, passwordOK bool) (paid, error) {
	s.mu.Lock()
	o := s.orders[outTradeNo]
	if st := s.stateOf(o); st != wechat.StateNotPay {
		s.mu.Unlock()
		return paid{}, fmt.Errorf("%w: %s is %s", errNotPayable, outTradeNo, st)
	}
	if out != sim.Cancel && (out == sim.WrongPassword || !passwordOK) {
		if o.tries++; o.tries < sim.MaxPasswordTries {
			s.mu.Unlock()
			return paid{retry: fmt.Sprintf("支付密码错误，请重试（还可输入 %d 次）Wrong password, %d tries left",
				sim.MaxPasswordTries-o.tries, sim.MaxPasswordTries-o.tries)}, nil
		}
		out = sim.WrongPassword
	} else if out != sim.Cancel && o.amount > MaxAmountFen {
		out = sim.OverLimit
	}
	plan := sim.PlanFor(out)
	var d *sim.Delivery
	msg := "已取消支付 Payment cancelled"
	switch {
	case plan.Paid:
		o.state, o.desc, o.successTime = wechat.StateSuccess, "支付成功", time.Now()
		o.transactionID = "4200" + randString(24, digits)
		d = s.delivery(o)
		msg = "支付成功 Payment successful"
	case out != sim.Cancel: // a cancelled payment stays NOTPAY, as on WeChat
		o.state, o.desc = wechat.StatePayError, failureDesc[plan.Reason]
		msg = "支付失败 Payment failed: " + o.desc
	}
	r := paid{message: msg}
	if plan.Redirect && o.tradeType == tradeH5 {
		r.redirect = o.redirect
	}
	state := o.state
	s.mu.Unlock()
	s.log.Info("payment", "out_trade_no", outTradeNo, "outcome", out, "trade_state", state)
	if d != nil {
		s.send(plan.Notify, *d, out == sim.NotifyBeforeReturn)
	}
	return r, nil
}

// stateOf is the order's trade_state; an unpaid order past time_expire
// closes. Callers hold s.mu.
func (s *Sandbox) stateOf(o *order) string {
	if o == nil {
		return "unknown"
	}
	if o.state == wechat.StateNotPay && !o.expire.IsZero() && time.Now().After(o.expire) {
		o.state, o.desc = wechat.StateClosed, "订单已关闭"
	}
	return o.state
}

// send starts the deliveries a plan asks for. firstSync makes the first
// attempt before returning, so the notification lands before the person
// is redirected back (notify_before_return).
func (s *Sandbox) send(mode sim.NotifyMode, d sim.Delivery, firstSync bool) {
	switch mode {
	case sim.NotifyNow:
		if firstSync && len(d.Schedule) > 0 {
			if s.n.Attempt(d) {
				return
			}
			d.Delay, d.Schedule = d.Schedule[0], d.Schedule[1:]
		}
		s.n.Deliver(d)
	case sim.NotifyTwice:
		s.n.After(0, func() { s.n.Attempt(d) })
		s.n.Deliver(d)
	case sim.NotifyAfterBack:
		d.Delay = sim.ReturnDelay
		s.n.Deliver(d)
	case sim.NotifyLate:
		d.Delay = sim.LateDelay
		s.n.Deliver(d)
	}
}
