// Package sim is what the sandbox's four provider simulations share: the
// outcomes a person or a test can choose, the plan each outcome implies,
// the notification retrier, and the cashier page frame.
package sim

import (
	"context"
	"net/http"
	"time"

	"im2pay/payment"
)

// Outcome is what happens when a person "pays" in the sandbox.
type Outcome string

// Every outcome the cashier page and the control endpoint offer.
const (
	Success            Outcome = "success"
	WrongPassword      Outcome = "wrong_password"     // retry allowed; the third wrong try locks the payment
	Declined           Outcome = "declined"           // card declined by the issuer
	InsufficientFunds  Outcome = "insufficient_funds" // not enough money at the provider
	Restricted         Outcome = "restricted"         // the payer's account is restricted
	OverLimit          Outcome = "over_limit"         // over the provider's own limit
	Cancel             Outcome = "cancel"             // the person cancels and goes back
	DropNotify         Outcome = "drop_notify"        // paid, then the network drops: no notification, no return
	DuplicateNotify    Outcome = "duplicate_notify"   // paid, the notification arrives twice at once
	NotifyBeforeReturn Outcome = "notify_before_return"
	ReturnBeforeNotify Outcome = "return_before_notify"
	NoReturn           Outcome = "no_return"   // paid and notified, but the person never comes back
	LateNotify         Outcome = "late_notify" // paid, notified only after the merchant's order expired
)

// Outcomes lists them in the order the cashier page shows them.
var Outcomes = []Outcome{Success, WrongPassword, Declined, InsufficientFunds, Restricted, OverLimit, Cancel,
	DropNotify, DuplicateNotify, NotifyBeforeReturn, ReturnBeforeNotify, NoReturn, LateNotify}

// MaxPasswordTries is how many wrong payment passwords lock a payment.
const MaxPasswordTries = 3

// ParseOutcome reads an outcome name.
func ParseOutcome(s string) (Outcome, bool) {
	for _, o := range Outcomes {
		if string(o) == s {
			return o, true
		}
	}
	return "", false
}

// Label is the outcome's name on the cashier page.
func (o Outcome) Label() string {
	return outcomeLabels[o]
}

var outcomeLabels = map[Outcome]string{
	Success: "支付成功 Success", WrongPassword: "密码错误 Wrong password", Declined: "银行卡被拒 Card declined",
	InsufficientFunds: "余额不足 Insufficient funds", Restricted: "账户受限 Account restricted",
	OverLimit: "超出支付限额 Over the provider's limit", Cancel: "取消支付 Cancel",
	DropNotify: "网络中断（无通知、无返回）Network drop", DuplicateNotify: "重复通知 Duplicate notifications",
	NotifyBeforeReturn: "先通知后返回 Notify, then return", ReturnBeforeNotify: "先返回后通知 Return, then notify",
	NoReturn: "不返回商户 No return", LateNotify: "订单过期后才通知 Late notification",
}

// NotifyMode is how the provider tells the merchant about a settled payment.
type NotifyMode int

// Notification modes.
const (
	NotifyNone      NotifyMode = iota // nothing is sent (the merchant must query)
	NotifyNow                         // sent at once, retried on the schedule until acknowledged
	NotifyTwice                       // two identical deliveries at the same moment, then retries
	NotifyAfterBack                   // sent a little after the person is redirected back
	NotifyLate                        // sent after LateDelay
)

// Plan is what an outcome means, independent of the protocol.
type Plan struct {
	Paid     bool           // money moved at the provider
	Reason   payment.Reason // for a refused payment
	Notify   NotifyMode
	Redirect bool // the person is sent back to the merchant's return URL
}

// LateDelay is how long a late notification waits, before the time factor:
// longer than any merchant order lifetime we use.
const LateDelay = 45 * time.Minute

// ReturnDelay is how long NotifyAfterBack waits, before the time factor.
const ReturnDelay = 3 * time.Second

// PlanFor maps an outcome to its plan. WrongPassword is not here: it keeps
// the person on the cashier page until the third try, which fails the
// payment with ReasonWrongDetails.
func PlanFor(o Outcome) Plan {
	switch o {
	case Success, NotifyBeforeReturn:
		return Plan{Paid: true, Notify: NotifyNow, Redirect: true}
	case DuplicateNotify:
		return Plan{Paid: true, Notify: NotifyTwice, Redirect: true}
	case ReturnBeforeNotify:
		return Plan{Paid: true, Notify: NotifyAfterBack, Redirect: true}
	case DropNotify:
		return Plan{Paid: true, Notify: NotifyNone, Redirect: false}
	case NoReturn:
		return Plan{Paid: true, Notify: NotifyNow, Redirect: false}
	case LateNotify:
		return Plan{Paid: true, Notify: NotifyLate, Redirect: true}
	case WrongPassword:
		return Plan{Reason: payment.ReasonWrongDetails, Redirect: true}
	case Declined:
		return Plan{Reason: payment.ReasonDeclined, Redirect: true}
	case InsufficientFunds:
		return Plan{Reason: payment.ReasonNoFunds, Redirect: true}
	case Restricted:
		return Plan{Reason: payment.ReasonRestricted, Redirect: true}
	case OverLimit:
		return Plan{Reason: payment.ReasonOverLimit, Redirect: true}
	case Cancel:
		return Plan{Reason: payment.ReasonCancelled, Redirect: true}
	}
	return Plan{Reason: payment.ReasonProviderError, Redirect: true}
}

// Simulator is one provider's sandbox as the sandbox server sees it.
type Simulator interface {
	// Name is the URL prefix segment ("alipay", "wechat", "paypal", "unionpay").
	Name() string
	// Routes registers the provider's API endpoints and cashier pages under
	// "/"+Name()+"/" on mux.
	Routes(mux *http.ServeMux)
	// Simulate settles one of its orders with an outcome, as if the person
	// had chosen it on the cashier page. found is false for an order this
	// provider does not know. For Redirect plans it returns the URL the
	// person would be sent to (signed as the protocol requires).
	Simulate(ctx context.Context, outTradeNo string, o Outcome) (redirect string, found bool, err error)
}
