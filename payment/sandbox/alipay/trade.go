package alipaysandbox

import (
	"time"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
)

// Trade statuses: Alipay's four, plus the sandbox's own failed state.
const (
	statusWait     = "WAIT_BUYER_PAY"
	statusSuccess  = "TRADE_SUCCESS"  // paid, refundable
	statusFinished = "TRADE_FINISHED" // paid, refund window over
	statusClosed   = "TRADE_CLOSED"   // closed unpaid, expired, or fully refunded
	// statusFailed is a trade whose payment was refused. Alipay itself would
	// leave it WAIT_BUYER_PAY for another try; the sandbox makes the refusal
	// final so that trade.query can state it, with failCode as sub_code.
	statusFailed = "FAILED"
)

// trade is one Alipay trade (keyed by out_trade_no, as at Alipay).
type trade struct {
	token      string // the cashier page's id
	outTradeNo string
	tradeNo    string // Alipay's 28-digit trade number, assigned at creation
	amount     int64  // fen
	subject    string
	wap        bool // alipay.trade.wap.pay (else page pay)
	notifyURL  string
	returnURL  string
	quitURL    string // wap only
	expires    time.Time
	status     string
	failCode   string // ACQ.* for statusFailed
	wrongTries int
	created    time.Time
	paidAt     time.Time
	closedAt   time.Time
	refunded   int64            // fen, total
	refunds    map[string]int64 // out_request_no → fen
}

// expireIfDue closes a trade still waiting for payment after time_expire,
// as Alipay does.
func (t *trade) expireIfDue(now time.Time) {
	if t.status == statusWait && !t.expires.IsZero() && now.After(t.expires) {
		t.status, t.closedAt = statusClosed, now
	}
}

// paid says whether the buyer's money moved.
func (t *trade) paid() bool { return t.status == statusSuccess || t.status == statusFinished }

// cancelURL is where a person who gives up goes: quit_url for wap pay; page
// pay has none in the protocol, so the bare return_url.
func (t *trade) cancelURL() string {
	if t.quitURL != "" {
		return t.quitURL
	}
	return t.returnURL
}

// code is one of Alipay's business error codes with its message.
type code struct{ sub, msg string }

// Alipay's business codes (code 40004) the sandbox answers with. The first
// six mirror refused payments: each outcome gets the real-world sub_code
// Alipay uses for that refusal (trade.pay vocabulary), and the merchant side
// maps them back to payment.Reason.
var (
	codeWrongPassword = code{"ACQ.PAYMENT_AUTH_CODE_INVALID", "支付密码错误次数过多，支付失败"}      // third wrong password → wrong_details
	codeDeclined      = code{"ACQ.PAYMENT_FAIL", "支付失败，建议买家更换其它方式付款"}                 // declined
	codeNoFunds       = code{"ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足"}                // insufficient_funds
	codeRestricted    = code{"ACQ.BUYER_ENABLE_STATUS_FORBID", "买家状态非法"}              // restricted
	codeDayLimit      = code{"ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR", "买家付款日限额超限"} // over_limit (outcome)
	codeTotalFee      = code{"ACQ.TOTAL_FEE_EXCEED", "订单总金额超过限额"}                     // over_limit (amount > MaxAmount)
	codeNotExist      = code{"ACQ.TRADE_NOT_EXIST", "交易不存在"}                          // query/close/refund of an unknown trade
	codeStatusError   = code{"ACQ.TRADE_STATUS_ERROR", "交易状态不合法"}                     // close of a paid or closed trade
	codeInconsistent  = code{"ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改"}                   // same out_trade_no, other amount/subject
	codeHasSuccess    = code{"ACQ.TRADE_HAS_SUCCESS", "交易已被支付"}                       // pay again for a paid trade
	codeHasClose      = code{"ACQ.TRADE_HAS_CLOSE", "交易已经关闭"}                         // pay again for a closed trade
	codeHasFinished   = code{"ACQ.TRADE_HAS_FINISHED", "交易已完结"}                       // refund after TRADE_FINISHED
	codeRefundTooMuch = code{"ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限"}              // refund above what is left
	codeRepeat        = code{"ACQ.DISCORDANT_REPEAT_REQUEST", "请求信息不一致"}              // same out_request_no, other amount
	codeInvalidParam  = code{"ACQ.INVALID_PARAMETER", "参数无效"}                         // a business parameter is wrong
	codePartnerError  = code{"ACQ.PARTNER_ERROR", "seller_id 与应用不匹配"}                 // seller_id names another merchant
)

// refusals maps each refusing outcome to its code.
var refusals = map[sim.Outcome]code{
	sim.WrongPassword:     codeWrongPassword,
	sim.Declined:          codeDeclined,
	sim.InsufficientFunds: codeNoFunds,
	sim.Restricted:        codeRestricted,
	sim.OverLimit:         codeDayLimit,
}

// refusalFor is the code for a refused plan (never nil for one).
func refusalFor(o sim.Outcome, p sim.Plan) code {
	if c, ok := refusals[o]; ok {
		return c
	}
	if p.Reason == payment.ReasonOverLimit {
		return codeDayLimit
	}
	return codeDeclined
}

// codeMsg finds the message of a failure code a trade carries.
func codeMsg(sub string) string {
	for _, c := range []code{codeWrongPassword, codeDeclined, codeNoFunds, codeRestricted, codeDayLimit, codeTotalFee} {
		if c.sub == sub {
			return c.msg
		}
	}
	return "支付失败"
}
