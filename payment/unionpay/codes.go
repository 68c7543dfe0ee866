package unionpay

import "im2pay/payment"

// ACP response codes (应答码, from 《平台接入接口规范-第5部分-附录》) that
// decide a consumption's state. They arrive as respCode in notifications
// and as origRespCode in query answers.
//
// Which real code mirrors which sandbox outcome:
//
//	00 成功                               success (and every "paid" outcome)
//	67 密码输入次数超限                     wrong_password, third wrong try      → wrong_details
//	65 输入的密码、有效期或CVN2有误           test card …0059                      → wrong_details
//	60 交易失败，详情请咨询您的发卡行           declined, test card …0026            → declined
//	64 卡上的余额不足                       insufficient_funds, test card …0034  → insufficient_funds
//	63 卡状态不正确                         restricted, test card …0042          → restricted
//	33 交易金额超限                         over_limit, test card …0067, amounts
//	                                      over the sandbox's single limit      → over_limit
//	69 您的输入超时，交易失败                 cancel, and an unpaid order past
//	                                      payTimeout: the person left without
//	                                      finishing (ACP has no "cancelled")   → cancelled
//	70 交易已跳转，等待持卡人输入              the person is on the card page       → pending
//
// Other codes are mapped by meaning below; an unknown one is provider_error.
const (
	CodeSuccess      = "00"
	CodeDeclined     = "60"
	CodeWrongDetails = "65"
	CodeNoFunds      = "64"
	CodeCardState    = "63"
	CodeTooManyTries = "67"
	CodeOverLimit    = "33"
	CodeTimedOut     = "69"
	CodeAwaiting     = "70"
	CodeNoSuchTxn    = "34" // query: 查无此交易
	CodeBadSignature = "11" // 验证签名失败
)

// StatusFor maps a consumption's response code to our status and reason,
// and says whether the answer is final.
func StatusFor(code string) (payment.Status, payment.Reason, bool) {
	switch code {
	case "00", "A6": // A6: 有缺陷的成功, success with a defect: money moved
		return payment.StatusPaid, payment.ReasonNone, true
	case "03", "04", "05": // timeout / state unknown / accepted: ask again
		return payment.StatusPending, payment.ReasonNone, false
	case "70", "83": // waiting for the cardholder / the issuer is processing
		return payment.StatusPending, payment.ReasonNone, false
	}
	return payment.StatusFailed, ReasonFor(code), true
}

// ReasonFor maps the response code of a refused consumption to our Reason.
func ReasonFor(code string) payment.Reason {
	switch code {
	case "61", "65", "66", "67", "71", "73":
		// card number, password/expiry/CVN2, identity/mobile, tries
		// exceeded, SMS code, card expired: the person's details were wrong
		return payment.ReasonWrongDetails
	case "64", "90":
		return payment.ReasonNoFunds
	case "63", "78", "38":
		// card state, issuer restriction, UnionPay risk control
		return payment.ReasonRestricted
	case "33", "81":
		// single amount over the limit, monthly count/amount over the limit
		return payment.ReasonOverLimit
	case "69":
		return payment.ReasonCancelled
	case "30", "60", "62", "68", "72", "77":
		// the issuer or UnionPay refused this card for this payment
		return payment.ReasonDeclined
	}
	return payment.ReasonProviderError
}
