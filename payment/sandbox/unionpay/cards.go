package unionpaysandbox

import (
	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
)

// The card page's other test details. The password and SMS code are what
// UnionPay's own test environment documents; the rest is prefilled.
const (
	PaymentPassword = "123456"      // 银行卡密码; any other is a wrong try
	SMSCode         = "111111"      // 短信验证码; any other is a wrong try
	TestExpiry      = "1233"        // MMYY
	TestCVN2        = "123"         // any 3 digits are accepted
	TestMobile      = "13552535506" // the mobile number of UnionPay's test cards
)

// SingleLimit is the sandbox's per-payment limit in fen (¥50,000.00): a
// larger payment fails with 33 交易金额超限 (production limits are the
// issuers' own).
const SingleLimit int64 = 5_000_000

// TestCard is a sandbox card and how paying with it ends.
type TestCard struct {
	Number   string
	RespCode string         // the ACP response code the payment ends with
	Reason   payment.Reason // what the merchant reads from that code
	Label    string         // shown in the card page's table
}

// TestCards is the card page's table, for the README too. A card from it
// overrides the "success" outcome; any other 13–19 digit number follows the
// outcome chosen on the page.
var TestCards = []TestCard{
	{"6216261000000000018", "00", payment.ReasonNone, "00 支付成功 success"},
	{"6216261000000000026", "60", payment.ReasonDeclined, "60 发卡行拒绝 declined"},
	{"6216261000000000034", "64", payment.ReasonNoFunds, "64 余额不足 insufficient funds"},
	{"6216261000000000042", "63", payment.ReasonRestricted, "63 卡状态不正确 restricted"},
	{"6216261000000000059", "65", payment.ReasonWrongDetails, "65 密码、有效期或CVN2有误 wrong details"},
	{"6216261000000000067", "33", payment.ReasonOverLimit, "33 交易金额超限 over the limit"},
}

func testCard(number string) (TestCard, bool) {
	for _, c := range TestCards {
		if c.Number == number {
			return c, true
		}
	}
	return TestCard{}, false
}

// outcomeCodes: the real ACP code each refusing outcome ends with.
// ACP has no "cancelled by the cardholder": a person who leaves the page
// ends as 69 (input timed out), as does an order left past payTimeout.
var outcomeCodes = map[sim.Outcome]string{
	sim.WrongPassword:     "67", // 密码输入次数超限, on the third wrong try
	sim.Declined:          "60",
	sim.InsufficientFunds: "64",
	sim.Restricted:        "63",
	sim.OverLimit:         "33",
	sim.Cancel:            "69",
}

// respMsgs are the gateway's messages for the codes the sandbox sends.
var respMsgs = map[string]string{
	"00": "成功[0000000]",
	"10": "报文格式错误",
	"11": "验证签名失败",
	"12": "重复交易",
	"13": "报文交易要素缺失",
	"31": "商户状态不正确",
	"33": "交易金额超限",
	"34": "查无此交易",
	"98": "文件不存在", // file transfer: no such file (PROVIDERS.md §3.2)
	"35": "原交易不存在或状态不正确",
	"36": "与原交易信息不符",
	"45": "原交易已被退货或撤销",
	"05": "交易已受理，请稍后查询交易结果",
	"60": "交易失败，详情请咨询您的发卡行",
	"63": "卡状态不正确",
	"64": "卡上的余额不足",
	"65": "输入的密码、有效期或CVN2有误，交易失败",
	"67": "密码输入次数超限",
	"69": "您的输入超时，交易失败",
	"70": "交易已跳转，等待持卡人输入",
}

func respMsg(code string) string {
	if m, ok := respMsgs[code]; ok {
		return m
	}
	return "交易失败"
}
