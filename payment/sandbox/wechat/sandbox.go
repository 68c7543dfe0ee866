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
	"sync/atomic"
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
// not at prepay; likewise the sandbox accepts the order and refuses any
// payment of a larger amount on its cashier page (the order stays NOTPAY).
const MaxAmountFen = 50_000_00

// Trade types WeChat reports for the two flows.
const (
	tradeNative = "NATIVE"
	tradeH5     = "MWEB"
)

// refusals are what the cashier page tells the person about a refused
// payment. Only the page says it: for Native and H5 the refusal happens
// inside the WeChat client, the order stays NOTPAY, nothing is notified
// and no reason reaches the merchant (PROVIDERS.md §2.1-2.2; PAYERROR is
// for 付款码 orders only, and bracketed codes in trade_state_desc were
// never WeChat's).
var refusals = map[payment.Reason]string{
	payment.ReasonWrongDetails: "支付密码错误次数过多，请稍后再试",
	payment.ReasonDeclined:     "银行卡支付失败，请更换付款方式",
	payment.ReasonNoFunds:      "零钱余额不足，请更换付款方式",
	payment.ReasonRestricted:   "账户存在异常，暂时无法付款",
	payment.ReasonOverLimit:    "超出支付限额，请更换付款方式",
}

// Sandbox is the WeChat Pay simulator.
type Sandbox struct {
	// BaseURL is the browser-facing origin put into h5_url
	// ("http://localhost:8080"); empty means the origin the prepay request
	// came to.
	BaseURL string
	// RefundNotifyURL is the refund notification URL set on the merchant
	// platform (退款结果通知 URL): a refund's notify_url overrides it
	// (PROVIDERS.md §2.4), and a merchant-portal refund, which has none,
	// is notified there. Empty: the order's payment notify_url (see
	// refundDelivery). Set it before serving.
	RefundNotifyURL string

	keys keys
	aead cipher.AEAD
	n    *sim.Notifier
	log  *slog.Logger

	migration migration // platform-certificate signatures, when migrating

	offset atomic.Int64 // what Advance added to the sandbox's clock

	mu            sync.Mutex
	orders        map[string]*order  // by out_trade_no
	tokens        map[string]string  // code_url "pr" and h5 tokens → out_trade_no
	refunds       map[string]*refund // by out_refund_no (unique per merchant)
	refundOutcome RefundOutcome      // how new refunds settle; "" is RefundSucceeds
	loseAnswers   int                // refund answers still to drop
	billTokens    map[string]billToken
	billEdit      func(day time.Time, rows []BillRow) []BillRow // see EditBill
	tamperBill    bool                                          // see TamperNextBillDownload
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
	refunds       []*refund
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
		orders: map[string]*order{}, tokens: map[string]string{}, refunds: map[string]*refund{}}, nil
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
	refused  bool   // message reports a refusal (the order stays NOTPAY)
	back     string // the way back to the merchant shown with a refusal (H5)
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
	r := paid{message: "已取消支付 Payment cancelled"}
	switch {
	case plan.Paid:
		o.state, o.desc, o.successTime = wechat.StateSuccess, "支付成功", s.now()
		o.transactionID = "4200" + randString(24, digits)
		d = s.delivery(o)
		r.message = "支付成功 Payment successful"
	case out != sim.Cancel:
		// Refused: shown here only; the order stays NOTPAY and may still
		// be paid (PROVIDERS.md §2.2). The H5 page offers the way back
		// instead of sending the person there at once.
		o.tries = 0
		r.message, r.refused = "支付失败 Payment failed: "+refusals[plan.Reason], true
		if o.tradeType == tradeH5 {
			r.back = o.redirect
		}
	}
	// A cancelled payment stays NOTPAY too, as on WeChat.
	if plan.Redirect && !r.refused && o.tradeType == tradeH5 {
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
