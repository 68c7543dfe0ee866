package wechat

import (
	"fmt"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"

	"im2pay/payment"
)

// Trade states (trade_state) WeChat reports in query answers and in the
// decrypted notification resource.
const (
	StateSuccess    = "SUCCESS"    // paid
	StateRefund     = "REFUND"     // paid, then (partly) refunded: the payment happened
	StateNotPay     = "NOTPAY"     // not paid yet; also after the payer cancels or is refused
	StateUserPaying = "USERPAYING" // the payer is entering the password (付款码 only)
	StateClosed     = "CLOSED"     // closed by the merchant or expired
	StateRevoked    = "REVOKED"    // revoked (付款码 only)
	StatePayError   = "PAYERROR"   // the payment failed (付款码 only)
)

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
	case StateNotPay, StateUserPaying, StatePayError:
		// Native and H5 refusals happen inside the WeChat client: the
		// order stays NOTPAY, payable until closed, and no reason reaches
		// us. PAYERROR and USERPAYING are 付款码 states (PROVIDERS.md
		// §2.1-2.2); were one to appear, it is read the same way rather
		// than given a reason WeChat never stated.
		r.Status, r.Final = payment.StatusPending, false
	case StateClosed, StateRevoked:
		r.Status = payment.StatusClosed
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
