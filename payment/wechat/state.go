package wechat

import (
	"fmt"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"

	"im2pay/payment"
)

// Trade states (trade_state) WeChat reports in query answers and in the
// decrypted notification resource.
const (
	StateSuccess    = "SUCCESS"    // paid
	StateRefund     = "REFUND"     // paid, then (partly) refunded: the payment happened
	StateNotPay     = "NOTPAY"     // not paid yet; also after the payer cancels
	StateUserPaying = "USERPAYING" // the payer is entering the password
	StateClosed     = "CLOSED"     // closed by the merchant or expired
	StateRevoked    = "REVOKED"    // revoked (付款码 only)
	StatePayError   = "PAYERROR"   // the payment failed: trade_state_desc says why
)

// failureReasons reads trade_state_desc of a PAYERROR order. WeChat's query
// answer has no structured failure code, only this text; the sandbox writes
// the description of the error code WeChat documents for that failure,
// followed by the code in brackets, and real answers carry the Chinese
// wording, so each entry matches either. First match wins.
//
//	NOT_ENOUGH / NOTENOUGH  用户账号余额不足           → insufficient_funds (sim: insufficient_funds)
//	ACCOUNT_ERROR           用户账号异常               → restricted         (sim: restricted)
//	RULE_LIMIT              超出支付限额 / 业务规则限制 → over_limit         (sim: over_limit, amount over the limit)
//	支付密码错误次数过多     (no code: the payer is locked out) → wrong_details (sim: third wrong_password)
//	TRADE_ERROR             交易错误，银行卡被拒绝     → declined           (sim: declined)
//	anything else                                      → provider_error
var failureReasons = []struct {
	needles []string
	reason  payment.Reason
}{
	{[]string{"NOT_ENOUGH", "NOTENOUGH", "余额不足"}, payment.ReasonNoFunds},
	{[]string{"ACCOUNT_ERROR", "ACCOUNTERROR", "账号异常", "账户异常", "受限"}, payment.ReasonRestricted},
	{[]string{"RULE_LIMIT", "RULELIMIT", "限额", "业务规则限制"}, payment.ReasonOverLimit},
	{[]string{"密码"}, payment.ReasonWrongDetails},
	{[]string{"TRADE_ERROR", "BANK_DECLINED", "被拒"}, payment.ReasonDeclined},
}

// FailureReason maps a PAYERROR trade_state_desc to our reason.
func FailureReason(desc string) payment.Reason {
	for _, f := range failureReasons {
		for _, n := range f.needles {
			if strings.Contains(desc, n) {
				return f.reason
			}
		}
	}
	return payment.ReasonProviderError
}

// result turns a verified transaction into our Result, failing closed on
// anything addressed to another merchant, app or order and on a paid
// transaction without an amount.
func (p *Provider) result(tx payments.Transaction, outTradeNo string) (payment.Result, error) {
	if str(tx.Mchid) != p.cfg.MchID || str(tx.Appid) != p.cfg.AppID {
		return payment.Result{}, fmt.Errorf("wechat: transaction for mchid %q appid %q: %w",
			str(tx.Mchid), str(tx.Appid), payment.ErrWrongMerchant)
	}
	if outTradeNo != "" && str(tx.OutTradeNo) != outTradeNo {
		return payment.Result{}, fmt.Errorf("wechat: asked about %s, answer names %q: %w",
			outTradeNo, str(tx.OutTradeNo), payment.ErrWrongMerchant)
	}
	r := payment.Result{OutTradeNo: str(tx.OutTradeNo), TradeNo: str(tx.TransactionId), Final: true}
	if tx.Amount != nil && tx.Amount.Total != nil {
		r.Amount, r.Currency = *tx.Amount.Total, str(tx.Amount.Currency)
	}
	switch state := str(tx.TradeState); state {
	case StateSuccess, StateRefund:
		r.Status = payment.StatusPaid
		if r.Amount <= 0 || r.Currency == "" || r.TradeNo == "" {
			return payment.Result{}, fmt.Errorf("wechat: paid %s without amount or transaction id: %w",
				r.OutTradeNo, payment.ErrMalformed)
		}
		if t, err := time.Parse(time.RFC3339, str(tx.SuccessTime)); err == nil {
			r.PaidAt = t
		}
	case StateNotPay, StateUserPaying:
		r.Status, r.Final = payment.StatusPending, false
	case StateClosed, StateRevoked:
		r.Status = payment.StatusClosed
	case StatePayError:
		r.Status, r.Reason = payment.StatusFailed, FailureReason(str(tx.TradeStateDesc))
	default:
		return payment.Result{}, fmt.Errorf("wechat: unknown trade_state %q: %w", state, payment.ErrMalformed)
	}
	return r, nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
