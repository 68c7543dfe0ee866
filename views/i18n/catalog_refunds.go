package i18n

// refundTexts holds the strings of refunds: the person's 我的充值 and
// 余额明细 lines, and the console's refund form and approvals.
var refundTexts = map[string]texts{
	// 余额明细: the wallet's lines of a refund (kind "refund" is core's).
	"desc.refund":          {"退款", "Refund"},
	"desc.refund_clawback": {"扣回奖励", "Bonus clawed back"},
	"desc.refund_reversal": {"退款失败，退回余额", "Refund failed, returned to balance"},
	"desc.refund_done":     {"退款完成", "Refund completed"},
	"desc.debt_repayment":  {"偿还欠款", "Debt repaid"},

	"refund.preview":   {"退款 %s，扣回奖励 %s，钱包共扣除 %s", "Refund %s, bonus clawed back %s, %s taken from the wallet in all"},
	"refund.shortfall": {"钱包余额 %s，还差 %s，无法退款。", "The wallet holds %s, %s short: cannot refund."},

	"refund.state.requested": {"待审核", "Awaiting approval"},
	"refund.state.in_flight": {"退款中", "Refund in progress"},
	"refund.state.succeeded": {"已退款", "Refunded"},
	"refund.state.failed":    {"退款失败", "Refund failed"},
	"refund.state.rejected":  {"退款被拒绝", "Refund declined"},

	"refund.failure.merchant_funds":   {"商户余额不足", "merchant balance too low"},
	"refund.failure.window_passed":    {"已超过可退款期限", "refund window passed"},
	"refund.failure.already_refunded": {"已无可退金额", "nothing left to refund"},
	"refund.failure.not_allowed":      {"该笔交易不可退款", "not refundable"},
	"refund.failure.account_closed":   {"付款账户无法收款", "payer's account cannot receive it"},

	// 我的充值
	"orders.refund.ask":      {"申请退款", "Ask for a refund"},
	"orders.refund.reason":   {"退款原因", "Reason"},
	"orders.refund.submit":   {"提交退款申请", "Send the request"},
	"orders.refund.amounts":  {"退款 %s，扣回奖励 %s", "refund %s, bonus clawed back %s"},
	"orders.refund.external": {"在支付平台发起", "made at the payment provider"},
	"orders.refund.debt": {"你有 %s 欠款：支付平台退回的款项超出了钱包余额，下次充值将先偿还欠款。",
		"You owe %s: a refund made at the payment provider was more than your balance. Your next top-up repays it first."},
	"orders.refund.notice.asked":   {"退款申请已提交，财务审核后退回原支付账户。", "Your refund request was sent; finance approves it, then the money goes back to where you paid from."},
	"orders.refund.notice.open":    {"这笔充值已有一个退款在处理。", "A refund of this top-up is already in progress."},
	"orders.refund.notice.reason":  {"请填写退款原因（最多 200 字）。", "Please give a reason (at most 200 characters)."},
	"orders.refund.notice.spent":   {"这笔充值已部分使用，钱包余额不足以退回充值和奖励，无法申请退款。", "Part of this top-up has been spent: the wallet no longer holds the top-up and its bonus, so it cannot be refunded."},
	"orders.refund.notice.nothing": {"这笔充值没有可退的金额。", "Nothing of this top-up is left to refund."},

	// The console
	"ops.nav.refunds":                 {"退款审核", "Refunds"},
	"console.refund.title":            {"退款", "Refund"},
	"console.refund.amount":           {"退款金额（元）", "Amount to refund (yuan)"},
	"console.refund.refundable":       {"可退 %s；超过 %s 需第二位财务审核。", "%s left to refund; above %s a second finance member approves."},
	"console.refund.reason":           {"原因", "Reason"},
	"console.refund.submit":           {"退款", "Refund"},
	"console.refund.clawback":         {"扣回奖励", "clawback"},
	"console.refund.external":         {"站外退款", "made outside the app"},
	"console.refund.debt":             {"欠款 %s", "debt %s"},
	"console.refund.asked_by":         {"申请人 %s", "asked by %s"},
	"console.refund.pending_title":    {"待审核的退款", "Refunds awaiting approval"},
	"console.refund.pending_empty":    {"没有待审核的退款。", "No refunds await approval."},
	"console.refund.bad_amount":       {"请输入有效的金额，例如 68.00。", "Enter an amount such as 68.00."},
	"console.refund.too_much":         {"超过了可退金额。", "More than is left to refund."},
	"console.refund.not_paid":         {"只有充值成功的订单可以退款。", "Only a paid top-up can be refunded."},
	"console.refund.open":             {"这笔订单已有一个退款在处理。", "A refund of this order is already open."},
	"console.refund.reason_invalid":   {"原因最多 200 字，且不能含控制字符。", "The reason is at most 200 characters, without control characters."},
	"console.refund.no_provider":      {"该支付方式未配置退款。", "This payment method cannot refund here."},
	"console.refund.done.in_flight":   {"退款已发出，等待支付平台确认。", "Refund sent; waiting for the provider."},
	"console.refund.done.succeeded":   {"已退款。", "Refunded."},
	"console.refund.done.failed":      {"支付平台拒绝了退款，款项已退回钱包。", "The provider refused the refund; the money is back in the wallet."},
	"console.refund.done.requested":   {"金额超过审核线，已提交第二位财务审核。", "Above the threshold: it waits for a second finance member."},
	"console.refund.decided.approved": {"已批准并发出退款。", "Approved and sent."},
	"console.refund.decided.rejected": {"已拒绝退款。", "Refund declined."},
	"console.refund.own_refused":      {"不能审批自己提交的退款。", "You cannot decide a refund you requested."},
	"console.refund.decided_before":   {"该退款已被处理。", "That refund has already been decided."},
}
