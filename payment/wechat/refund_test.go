package wechat

import (
	"testing"

	"im2pay/payment"
)

// Which WeChat answers are definite: a refusal reverses the wallet debit,
// so only codes the SDK documents as "退款申请失败" (or that cannot succeed
// on a retry) may be one; asking again is right for the rest.
func TestOnlyDefiniteRefundCodesAreRefusals(t *testing.T) {
	cases := []struct {
		code, msg string
		want      payment.RefundFailure
		definite  bool
	}{
		{CodeNotEnough, "余额不足", payment.RefundNoMerchantFunds, true},
		{CodeUserAccountAbnormal, "用户帐号注销", payment.RefundAccountClosed, true},
		{CodeInvalidRequest, MsgRefundWindowPassed, payment.RefundWindowPassed, true},
		{CodeInvalidRequest, MsgRefundExceeds, payment.RefundAlreadyRefunded, true},
		{CodeInvalidRequest, "其他业务规则", payment.RefundNotAllowed, true},
		{CodeNoAuth, "", payment.RefundNotAllowed, true},
		{CodeResourceNotExists, "订单号不存在", payment.RefundNotAllowed, true},
		{CodeFrequencyLimited, "频率限制", "", false},
		{CodeSystemError, "系统超时", "", false},
		{"SIGN_ERROR", "", "", false},
		{"SOMETHING_NEW", "", "", false},
	}
	for _, c := range cases {
		f, ok := refusal(c.code, c.msg)
		if ok != c.definite || f != c.want {
			t.Errorf("%s %q: %q, %v; want %q, %v", c.code, c.msg, f, ok, c.want, c.definite)
		}
	}
}

// ABNORMAL is not final (PROVIDERS.md §2.4): it must stay in flight, never
// be read as failed (the wallet would be refunded while WeChat may still
// pay the payer) nor as succeeded.
func TestRefundStatusesMapAsTheDocsSay(t *testing.T) {
	for status, want := range map[string]payment.RefundStatus{
		RefundStatusSuccess: payment.RefundSucceeded, RefundStatusProcessing: payment.RefundProcessing,
		RefundStatusAbnormal: payment.RefundProcessing, RefundStatusClosed: payment.RefundFailed,
	} {
		r, err := refundAnswer{outTradeNo: "T1", outRefundNo: "R1", amount: 1, status: status}.result()
		if err != nil || r.Status != want || r.Detail != status {
			t.Errorf("%s: %+v, %v; want %s with the status as detail", status, r, err, want)
		}
	}
	if _, err := (refundAnswer{outTradeNo: "T1", outRefundNo: "R1", amount: 1, status: "REFUNDED"}).result(); err == nil {
		t.Errorf("an unknown status was accepted")
	}
}
