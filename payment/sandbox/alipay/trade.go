package alipaysandbox

import (
	"time"

	"im2pay/payment/sandbox/sim"
)

// Trade statuses: Alipay's four, and no other. A refused payment has no
// state of its own: for page and wap pay the refusal stays on Alipay's
// cashier and the trade keeps waiting for another try, nothing notified
// (PROVIDERS.md §1.2; developer.aliyun.com/ask/285132).
const (
	statusWait     = "WAIT_BUYER_PAY"
	statusSuccess  = "TRADE_SUCCESS"  // paid, refundable
	statusFinished = "TRADE_FINISHED" // paid, refund window over
	statusClosed   = "TRADE_CLOSED"   // closed unpaid, expired, or fully refunded
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
	// known is whether Alipay has created the trade: at login on the page
	// pay cashier, when the password is entered on the wap cashier
	// (PROVIDERS.md §1.1; developer.aliyun.com/article/710933). Before,
	// query and close answer ACQ.TRADE_NOT_EXIST, and the person may still
	// pay on the open cashier. The sandbox's cashier form stands for both:
	// any submission but cancel.
	known      bool
	wrongTries int
	created    time.Time
	paidAt     time.Time
	closedAt   time.Time
	refunded   int64                // fen, total
	refunds    map[string]int64     // out_request_no → fen
	refundAt   map[string]time.Time // out_request_no → when refunded
	lastRefund string               // out_request_no of the latest refund, for its notification
	refundedAt time.Time
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

// Alipay's business codes (code 40004) the sandbox's API answers with.
var (
	codeTotalFee      = code{"ACQ.TOTAL_FEE_EXCEED", "订单总金额超过限额"}              // pay request above MaxAmount
	codeNotExist      = code{"ACQ.TRADE_NOT_EXIST", "交易不存在"}                   // query/close/refund of a trade Alipay has not created
	codeStatusError   = code{"ACQ.TRADE_STATUS_ERROR", "交易状态不合法"}              // close of a paid or closed trade
	codeInconsistent  = code{"ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改"}            // same out_trade_no, other amount/subject
	codeHasSuccess    = code{"ACQ.TRADE_HAS_SUCCESS", "交易已被支付"}                // pay again for a paid trade
	codeHasClose      = code{"ACQ.TRADE_HAS_CLOSE", "交易已经关闭"}                  // pay again for a closed trade
	codeHasFinished   = code{"ACQ.TRADE_HAS_FINISHED", "交易已完结"}                // refund after TRADE_FINISHED
	codeRefundTooMuch = code{"ACQ.REASON_TRADE_REFUND_FEE_ERR", "退款金额无效"}      // refund above what is left (§1.4)
	codeNotEqualTotal = code{"ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额与订单金额不一致"} // no out_request_no and not the whole (§1.4)
	codeSellerBalance = code{"ACQ.SELLER_BALANCE_NOT_ENOUGH", "卖家余额不足"}        // the merchant's balance cannot pay the refund (§1.4)
	codeSystemError   = code{"ACQ.SYSTEM_ERROR", "系统错误"}                       // retry with the same parameters (§1.4, §1.6)
	codeRepeat        = code{"ACQ.DISCORDANT_REPEAT_REQUEST", "请求信息不一致"}       // same out_request_no, other amount
	codeInvalidParam  = code{"ACQ.INVALID_PARAMETER", "参数无效"}                  // a business parameter is wrong
	codePartnerError  = code{"ACQ.PARTNER_ERROR", "seller_id 与应用不匹配"}          // seller_id names another merchant
	codeBillNotExist  = code{"isp.bill_not_exist", "账单不存在"}                    // no bill (yet) for the day (§1.5, §1.8)
)

// refusals are what the cashier page tells the person about a refused
// payment. Only the page says it: Alipay tells the merchant nothing about
// a page or wap pay refusal, and trade.query keeps answering
// WAIT_BUYER_PAY (PROVIDERS.md §1.2; ACQ.PAYMENT_FAIL and
// ACQ.BUYER_BALANCE_NOT_ENOUGH belong to alipay.trade.pay, the barcode
// product, not to these).
var refusals = map[sim.Outcome]string{
	sim.WrongPassword:     "支付密码错误次数过多，请稍后再试或使用其他付款方式",
	sim.Declined:          "支付失败，建议更换其它方式付款",
	sim.InsufficientFunds: "账户余额不足，请更换付款方式",
	sim.Restricted:        "账户状态异常，暂时无法付款",
	sim.OverLimit:         "超出付款限额，请更换付款方式",
}

// refusalFor is the cashier's message for a refused plan.
func refusalFor(o sim.Outcome) string {
	if m, ok := refusals[o]; ok {
		return m
	}
	return refusals[sim.Declined]
}
