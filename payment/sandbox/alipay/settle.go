package alipaysandbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
)

// ErrNotPayable is Simulate's error for a trade already paid, closed or failed.
var ErrNotPayable = errors.New("alipay sandbox: the trade is no longer payable")

// step is what one choice on the cashier leads to.
type step struct {
	redirect string // where the person goes next ("" stays on the cashier)
	follow   bool   // the cashier sends them there at once instead of showing a link
	errMsg   string // shown above the cashier form
	refused  bool   // the payment was refused: the cashier says so, with a way back
}

// settle applies outcome o, typed with password, to t: exactly what the
// cashier form does, and what Simulate does with the right password.
func (s *Sandbox) settle(t *trade, o sim.Outcome, password string) (step, error) {
	now := s.now()
	s.mu.Lock()
	s.expireIfDue(t, now)
	if t.status != statusWait {
		s.mu.Unlock()
		return step{}, fmt.Errorf("%w: %s is %s", ErrNotPayable, t.outTradeNo, t.status)
	}
	if o == sim.Cancel {
		// Alipay has no cancelled state: the trade keeps waiting (the
		// person may come back and pay) and they leave through quit_url.
		// Cancelling before any try is the "opened, never logged in"
		// case: Alipay never creates the trade (PROVIDERS.md §1.1).
		s.mu.Unlock()
		return step{redirect: t.cancelURL(), follow: true}, nil
	}
	t.known = true
	if o == sim.WrongPassword || password != Password {
		t.wrongTries++
		if left := sim.MaxPasswordTries - t.wrongTries; left > 0 {
			s.mu.Unlock()
			return step{errMsg: fmt.Sprintf("支付密码不正确，还可以输入 %d 次 (wrong payment password, %d tries left)", left, left)}, nil
		}
		o = sim.WrongPassword
	}
	plan := sim.PlanFor(o)
	if !plan.Paid {
		// The trade stays WAIT_BUYER_PAY, nothing is notified, and
		// trade.query says nothing of the refusal: only this page does
		// (PROVIDERS.md §1.2).
		t.wrongTries = 0
		s.mu.Unlock()
		st := step{errMsg: "支付失败 Payment failed: " + refusalFor(o), refused: true}
		if plan.Redirect {
			// Alipay signs only successful returns; the "back to the
			// merchant" link after a refusal is the bare return_url.
			st.redirect = t.returnURL
		}
		return st, nil
	}
	t.status, t.paidAt = statusSuccess, now
	snap := *t
	s.mu.Unlock()
	s.log.Info("alipay sandbox: paid", "out_trade_no", snap.outTradeNo, "outcome", o)
	s.notify(snap, plan.Notify, o == sim.NotifyBeforeReturn)
	if !plan.Redirect {
		return step{}, nil
	}
	return step{redirect: s.returnURL(snap), follow: true}, nil
}

// returnURL is return_url with Alipay's signed synchronous-return query.
func (s *Sandbox) returnURL(t trade) string {
	method := methodPage + ".return"
	if t.wap {
		method = methodWap + ".return"
	}
	v := url.Values{
		"charset": {"utf-8"}, "method": {method}, "version": {"1.0"},
		"app_id": {s.ids.AppID}, "auth_app_id": {s.ids.AppID}, "seller_id": {s.ids.SellerID},
		"out_trade_no": {t.outTradeNo}, "trade_no": {t.tradeNo}, "total_amount": {payment.FenToYuan(t.amount)},
		"timestamp": {s.now().In(beijing).Format(timeLayout)},
	}
	s.signParams(v)
	sep := "?"
	if strings.Contains(t.returnURL, "?") {
		sep = "&"
	}
	return t.returnURL + sep + v.Encode()
}

// notifyParams is the asynchronous notification for t's current status,
// signed, with a fresh notify_time for each attempt.
func (s *Sandbox) notifyParams(t trade, notifyID string) url.Values {
	amount := payment.FenToYuan(t.amount)
	v := url.Values{
		"notify_type": {"trade_status_sync"}, "notify_id": {notifyID},
		"notify_time": {s.now().In(beijing).Format(timeLayout)},
		"charset":     {"utf-8"}, "version": {"1.0"},
		"app_id": {s.ids.AppID}, "auth_app_id": {s.ids.AppID}, "seller_id": {s.ids.SellerID},
		"out_trade_no": {t.outTradeNo}, "trade_no": {t.tradeNo}, "trade_status": {t.status},
		"total_amount": {amount}, "subject": {t.subject},
		"buyer_id": {buyerUserID}, "buyer_logon_id": {buyerLogonID},
		"gmt_create": {t.created.In(beijing).Format(timeLayout)},
	}
	if !t.paidAt.IsZero() {
		v.Set("receipt_amount", amount)
		v.Set("invoice_amount", amount)
		v.Set("buyer_pay_amount", amount)
		v.Set("point_amount", "0.00")
		v.Set("gmt_payment", t.paidAt.In(beijing).Format(timeLayout))
		v.Set("fund_bill_list", `[{"amount":"`+amount+`","fundChannel":"ALIPAYACCOUNT"}]`)
	}
	if !t.closedAt.IsZero() {
		v.Set("gmt_close", t.closedAt.In(beijing).Format(timeLayout))
	}
	if t.lastRefund != "" {
		// A refund's notification names it and the total refunded so far
		// (PROVIDERS.md §1.1: out_biz_no, refund_fee, gmt_refund).
		v.Set("out_biz_no", t.lastRefund)
		v.Set("refund_fee", payment.FenToYuan(t.refunded))
		v.Set("gmt_refund", t.refundedAt.In(beijing).Format(timeLayout)+".000")
	}
	s.signParams(v)
	return v
}

// PaidNotification is the body Alipay posts to the merchant's notify_url
// for a trade paid just now (TRADE_SUCCESS), signed with the sandbox's
// key, for a load generator that plays Alipay without going through the
// cashier: make bench delivers these by the thousand.
func (s *Sandbox) PaidNotification(outTradeNo, tradeNo string, amount int64, subject string) string {
	now := s.now()
	t := trade{outTradeNo: outTradeNo, tradeNo: tradeNo, amount: amount, subject: subject,
		status: statusSuccess, created: now, paidAt: now}
	return s.notifyParams(t, randomHex(18)).Encode()
}

// delivery is one notification of t's status, retried on Alipay's schedule
// until the merchant's body is exactly "success".
func (s *Sandbox) delivery(t trade) sim.Delivery {
	notifyID := randomHex(18)
	return sim.Delivery{
		Name:     "alipay notify " + t.outTradeNo + " " + t.status,
		Schedule: sim.AlipaySchedule,
		Build: func(ctx context.Context) (*http.Request, error) {
			body := s.notifyParams(t, notifyID).Encode()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.notifyURL, strings.NewReader(body))
			if err == nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			}
			return req, err
		},
		Acked: func(status int, body []byte) bool { return status == http.StatusOK && string(body) == "success" },
	}
}

// notify sends t's notification as the plan says. syncFirst makes the first
// attempt before the person is redirected (notify_before_return).
func (s *Sandbox) notify(t trade, mode sim.NotifyMode, syncFirst bool) {
	if t.notifyURL == "" || mode == sim.NotifyNone {
		return
	}
	d := s.delivery(t)
	switch mode {
	case sim.NotifyNow:
		if syncFirst {
			if !s.n.Attempt(d) {
				s.n.Deliver(retries(d))
			}
			return
		}
		s.n.Deliver(d)
	case sim.NotifyTwice:
		s.n.After(0, func() {
			var wg sync.WaitGroup
			var acked atomic.Bool
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if s.n.Attempt(d) {
						acked.Store(true)
					}
				}()
			}
			wg.Wait()
			if !acked.Load() {
				s.n.Deliver(retries(d))
			}
		})
	case sim.NotifyAfterBack:
		d.Delay = sim.ReturnDelay
		s.n.Deliver(d)
	case sim.NotifyLate:
		d.Delay = sim.LateDelay
		s.n.Deliver(d)
	}
}

// retries is d after a first attempt already made: the rest of the schedule.
func retries(d sim.Delivery) sim.Delivery {
	if len(d.Schedule) > 0 {
		d.Delay, d.Schedule = d.Schedule[0], d.Schedule[1:]
	}
	return d
}
