package i18n

// texts is one string in every supported language.
type texts struct{ zh, en string }

// catalog is every area's strings in one map. Each area keeps its own file
// (catalog_*.go) so areas grow without editing each other; a test keeps
// keys unique across them.
var catalog, duplicateKeys = merge(coreTexts, spendTexts, giftTexts, statementTexts, apiTexts, securityTexts,
	opsTexts, promotionTexts, moneyTexts, opsOrdersTexts, refundTexts, reconcileTexts,
	liveTexts, protectTexts, receiptTexts, a11yTexts, cashierTexts)

func merge(areas ...map[string]texts) (map[string]texts, []string) {
	out := map[string]texts{}
	var dups []string
	for _, area := range areas {
		for k, v := range area {
			if _, seen := out[k]; seen {
				dups = append(dups, k)
				continue
			}
			out[k] = v
		}
	}
	return out, dups
}

// coreTexts holds the account, history and recharge strings. Keys are
// grouped by page; problem codes (refusals the domain returns) use the
// same keys.
var coreTexts = map[string]texts{
	"app.name":       {"IM2.0 Pay", "IM2.0 Pay"},
	"footer.tagline": {"IM2.0 Pay · 充值与钱包中心", "IM2.0 Pay · top-up and wallet center"},

	"nav.label":    {"主导航", "Main navigation"},
	"nav.account":  {"个人中心", "Account"},
	"nav.recharge": {"充值", "Top up"},
	"nav.history":  {"余额明细", "History"},
	"nav.login":    {"登录", "Log in"},
	"nav.register": {"注册", "Sign up"},
	"nav.logout":   {"退出登录", "Log out"},

	"login.title":         {"登录", "Log in"},
	"login.username":      {"用户名", "Username"},
	"login.password":      {"密码", "Password"},
	"login.submit":        {"登录", "Log in"},
	"login.no_account":    {"还没有账号？", "No account yet?"},
	"login.register_link": {"立即注册", "Sign up"},
	"login.invalid":       {"用户名或密码错误。", "Wrong username or password."},
	"login.throttled":     {"尝试次数过多，请稍后再试（约 %d 分钟后）。", "Too many attempts. Please try again later (in about %d minutes)."},
	"login.required":      {"请先登录。", "Please log in to continue."},
	"login.logged_out":    {"你已安全退出。", "You have logged out."},

	"register.title":         {"注册", "Create an account"},
	"register.submit":        {"注册", "Create account"},
	"register.username_hint": {"3–32 个字符：字母、数字或下划线。", "3–32 characters: letters, digits or underscores."},
	"register.password_hint": {"8–128 个字符，可使用任何文字。", "8–128 characters, in any script."},
	"register.have_account":  {"已有账号？", "Already have an account?"},
	"register.login_link":    {"去登录", "Log in"},
	"register.welcome":       {"注册成功，欢迎使用 IM2.0 Pay！", "Welcome to IM2.0 Pay! Your account is ready."},

	"username.empty":     {"请输入用户名。", "Please enter a username."},
	"username.too_short": {"用户名至少需要 %d 个字符。", "The username needs at least %d characters."},
	"username.too_long":  {"用户名最多 %d 个字符。", "The username can have at most %d characters."},
	"username.chars":     {"用户名只能包含字母、数字和下划线。", "The username may only contain letters, digits and underscores."},
	"username.taken":     {"该用户名已被占用，请换一个。", "That username is taken. Please choose another."},

	"password.empty":     {"请输入密码。", "Please enter a password."},
	"password.too_short": {"密码至少需要 %d 个字符。", "The password needs at least %d characters."},
	"password.too_long":  {"密码最多 %d 个字符。", "The password can have at most %d characters."},
	"password.weak":      {"密码太容易被猜到，请换一个更难猜的。", "That password is too easy to guess. Please choose a harder one."},
	"password.invalid":   {"密码包含无法使用的字符。", "The password contains characters that cannot be used."},

	"password.title":         {"修改密码", "Change password"},
	"password.current":       {"当前密码", "Current password"},
	"password.new":           {"新密码", "New password"},
	"password.submit":        {"确认修改", "Change password"},
	"password.ends_sessions": {"修改后，其他设备上的登录将全部失效。", "Changing it logs you out everywhere else."},
	"password.changed":       {"密码已修改，其他设备已退出登录。", "Your password was changed and your other sessions were ended."},
	"password.current_wrong": {"当前密码不正确。", "The current password is not correct."},

	"money.empty":             {"请输入金额。", "Please enter an amount."},
	"money.negative":          {"金额不能为负数。", "The amount cannot be negative."},
	"money.format":            {"金额格式不正确，请输入如 12 或 12.50 的数字。", "That is not an amount. Enter a number such as 12 or 12.50."},
	"money.too_many_decimals": {"金额最多保留两位小数（精确到分）。", "Amounts have at most two decimal places (fen)."},
	"money.too_large":         {"金额不能超过 %s。", "The amount cannot exceed %s."},

	"account.title":           {"个人中心", "Account"},
	"account.greeting":        {"你好，%s", "Hello, %s"},
	"account.balance":         {"账户余额", "Balance"},
	"account.recent":          {"最近记录", "Recent records"},
	"account.change_password": {"修改密码", "Change password"},
	"account.see_all":         {"查看全部", "See all"},
	"account.empty":           {"还没有任何记录。", "No records yet."},
	"account.zero":            {"余额为 ¥0.00，充值后即可使用增值服务。", "Your balance is ¥0.00. Top up to use paid features."},
	"account.low":             {"余额已低于 %s，建议及时充值。", "Your balance is below %s. Consider topping up."},

	"kind.grant":    {"赠送", "Grant"},
	"kind.topup":    {"充值", "Top-up"},
	"kind.bonus":    {"充值奖励", "Bonus"},
	"kind.purchase": {"购买", "Purchase"},
	"kind.gift":     {"礼物", "Gift"},
	"kind.charge":   {"扣费", "Charge"},
	"kind.refund":   {"退款", "Refund"},
	"kind.transfer": {"转账", "Transfer"},
	"kind.reversal": {"冲正", "Reversal"},

	"desc.welcome_grant": {"新用户欢迎礼金", "Welcome credit"},
	"desc.signup_grant":  {"注册赠送", "Sign-up credit"},
	"desc.test":          {"测试记录", "Test record"},
	// Written only by `make bench` into its own database.
	"desc.bench_transfer": {"压测转账", "Benchmark transfer"},

	"history.title":         {"余额明细", "Balance history"},
	"history.label.kind":    {"类型", "Type"},
	"history.label.from":    {"开始日期", "From"},
	"history.label.to":      {"结束日期", "To"},
	"history.all":           {"全部", "All"},
	"history.filter":        {"筛选", "Filter"},
	"history.reset":         {"清除", "Clear"},
	"history.balance_after": {"余额", "Balance"},
	"history.more":          {"加载更多", "Load more"},
	"history.end":           {"没有更多记录了", "That is everything"},
	"history.empty":         {"还没有任何记录。", "No records yet."},
	"history.none_match":    {"没有符合筛选条件的记录。", "Nothing matches these filters."},
	"history.err.kind":      {"未知的记录类型。", "Unknown record type."},
	"history.err.date":      {"日期格式应为 年-月-日，例如 2026-11-24。", "Dates look like 2026-11-24."},
	"history.err.range":     {"结束日期不能早于开始日期。", "The end date is before the start date."},
	"history.err.cursor":    {"分页链接无效，请从第一页开始。", "That page link is not valid. Start from the first page."},

	"recharge.title": {"充值", "Top up"},

	"nav.orders": {"我的充值", "My top-ups"},

	"method.alipay": {"支付宝", "Alipay"},
	"method.wechat": {"微信支付", "WeChat Pay"},
	"method.card":   {"银行卡", "Bank card"},
	"method.paypal": {"PayPal", "PayPal"},

	"recharge.method":            {"支付方式", "Payment method"},
	"recharge.amount":            {"充值金额", "Amount"},
	"recharge.custom":            {"其他金额（元）", "Other amount (yuan)"},
	"recharge.range":             {"单笔 %s – %s", "%s – %s per top-up"},
	"recharge.daily_limit":       {"每日充值上限 %s。", "Daily top-up limit: %s."},
	"recharge.under_maintenance": {"维护中", "Under maintenance"},
	"recharge.until":             {"预计 %s 恢复", "expected back %s"},
	"recharge.all_closed":        {"所有支付方式正在维护，暂时无法充值，请稍后再试。", "All payment methods are under maintenance. Please try again later."},
	"recharge.pick_amount":       {"选择或输入金额后，这里会显示到账金额和奖励。", "Pick or type an amount to see what you receive, bonus included."},
	"recharge.you_pay":           {"支付金额", "You pay"},
	"recharge.pay_foreign":       {"将以 %s 支付（1 %s = %s CNY）", "You will pay %s (1 %s = %s CNY)"},
	"recharge.tier_bonus":        {"充值奖励", "Top-up bonus"},
	"recharge.first_bonus":       {"首充奖励", "First top-up bonus"},
	"recharge.you_receive":       {"到账金额", "You receive"},
	"recharge.next":              {"下一步", "Continue"},
	"recharge.confirm_title":     {"确认充值", "Confirm your top-up"},
	"recharge.pay":               {"去支付 %s", "Pay %s"},
	"recharge.change":            {"修改", "Change"},
	"recharge.method_err":        {"请选择一种支付方式。", "Please choose a payment method."},
	"recharge.maintenance":       {"该支付方式正在维护：%s", "This payment method is under maintenance: %s"},
	"recharge.too_low":           {"单笔最低 %s，还差 %s。", "The minimum per top-up is %s; add %s."},
	"recharge.too_high":          {"单笔最高 %s，超出 %s。", "The maximum per top-up is %s; that is %s over."},
	"recharge.daily":             {"已达每日充值上限 %s，今天还可充值 %s。", "That passes the daily limit of %s; you can still top up %s today."},
	"recharge.stale_form":        {"页面已过期，请重新选择金额。", "This page expired. Please choose the amount again."},

	"pay.title":        {"支付", "Pay"},
	"pay.qr_title":     {"微信扫码支付", "Scan with WeChat to pay"},
	"pay.qr_alt":       {"微信支付二维码", "WeChat Pay QR code"},
	"pay.qr_hint":      {"请使用微信扫一扫完成支付，支付后本页会自动跳转。", "Scan with WeChat; this page moves on by itself once you have paid."},
	"pay.expires":      {"二维码有效期至 %s", "The code is valid until %s"},
	"pay.i_have_paid":  {"我已支付", "I have paid"},
	"pay.other_method": {"换一种方式", "Use another method"},
	"pay.qr_expired":   {"二维码已过期。", "This QR code has expired."},
	"pay.qr_renew":     {"获取新的二维码", "Get a new QR code"},
	"pay.sandbox_scan": {"沙箱：模拟手机扫码", "Sandbox: simulate the phone scan"},
	"pay.redirecting":  {"正在前往银联支付页面…", "Taking you to the card payment page…"},
	"pay.continue":     {"继续支付", "Continue to payment"},

	"result.title":             {"支付结果", "Payment result"},
	"result.paid":              {"充值成功", "Top-up complete"},
	"result.amount":            {"充值金额", "Amount"},
	"result.bonus":             {"奖励", "Bonus"},
	"result.balance":           {"当前余额", "Your balance"},
	"result.back_to_purchase":  {"返回继续购买", "Back to your purchase"},
	"result.to_account":        {"返回个人中心", "Go to your account"},
	"result.failed":            {"充值失败", "Top-up failed"},
	"result.closed":            {"已关闭", "Closed"},
	"result.closed_detail":     {"订单已过期关闭，没有扣款。", "The order expired and was closed. Nothing was charged."},
	"result.new_order":         {"重新充值", "Start a new top-up"},
	"result.cancelled":         {"已取消", "Cancelled"},
	"result.pay_again":         {"重新支付", "Pay again"},
	"result.processing":        {"处理中", "Processing"},
	"result.processing_detail": {"正在确认支付结果，请稍候…", "Confirming your payment, one moment…"},
	"result.slow":              {"支付结果确认中：订单是安全的，我们会继续向支付机构查询，到账后余额会自动更新。", "We are still confirming your payment. Your order is safe: we keep asking the provider and your balance updates as soon as it is paid."},
	"result.check_again":       {"再次查询", "Check again"},
	"result.continue":          {"继续支付", "Continue to pay"},
	"result.cancel_order":      {"取消订单", "Cancel the order"},
	"result.expires_in":        {"剩余支付时间", "Time left to pay"},
	"result.awaiting_detail":   {"订单已创建，尚未付款。请在订单过期前完成支付。", "Your order is ready and not paid yet. Please pay before it expires."},
	"result.not_completed":     {"尚未完成支付", "Payment not completed"},
	// Alipay and WeChat Pay never tell a merchant why a payment did not
	// complete (PROVIDERS.md §1.2, §2.2): these say only what we know.
	"result.not_completed_detail.alipay": {"我们还没有收到这笔付款，本次没有扣款。如已在支付宝付款，结果会自动更新。", "We have not received this payment, and nothing was charged. If you did pay with Alipay, this page updates by itself."},
	"result.not_completed_detail.wechat": {"我们还没有收到这笔付款，本次没有扣款。如已在微信中付款，结果会自动更新。", "We have not received this payment, and nothing was charged. If you did pay in WeChat, this page updates by itself."},
	"result.not_completed_detail.card":   {"我们还没有收到这笔付款，本次没有扣款。", "We have not received this payment, and nothing was charged."},
	"result.not_completed_detail.paypal": {"我们还没有收到这笔付款，本次没有扣款。", "We have not received this payment, and nothing was charged."},

	// 再次查询 always answers: "已向支付宝查询：尚未付款（17:42）".
	"check.answer":           {"已向%s查询：%s（%s）", "Asked %s: %s (%s)"},
	"check.provider.alipay":  {"支付宝", "Alipay"},
	"check.provider.wechat":  {"微信支付", "WeChat Pay"},
	"check.provider.card":    {"银联", "UnionPay"},
	"check.provider.paypal":  {"PayPal", "PayPal"},
	"check.said.unpaid":      {"尚未付款", "not paid yet"},
	"check.said.paid":        {"已付款，充值成功", "paid, and your top-up is complete"},
	"check.said.processing":  {"已付款，正在确认", "paid, being confirmed"},
	"check.said.failed":      {"付款未成功", "the payment did not go through"},
	"check.said.closed":      {"订单已关闭", "the order is closed"},
	"check.said.cancelled":   {"订单已取消", "the order is cancelled"},
	"check.said.not_started": {"尚未发起付款", "no payment was started"},
	"check.cancel_failed":    {"%s暂时无法关闭这笔订单，订单仍可支付，请稍后再试取消（%s）", "%s could not close this order just now; it can still be paid. Please try cancelling again shortly (%s)"},
	"check.said.error":       {"暂时无法查询，订单是安全的，请稍后再试", "no answer right now; your order is safe, please try again shortly"},

	"reason.wrong_details":      {"支付信息有误（如支付密码或卡信息错误），本次没有扣款。", "The payment details were wrong (password or card details). Nothing was charged."},
	"reason.declined":           {"银行卡被发卡行拒绝，本次没有扣款。", "The card was declined by its bank. Nothing was charged."},
	"reason.insufficient_funds": {"支付账户余额不足，本次没有扣款。", "There was not enough money in the payment account. Nothing was charged."},
	"reason.restricted":         {"你的支付账户被支付机构限制使用，请联系该机构，或选择其他支付方式。", "Your payment account is restricted by its provider. Please contact them, or choose another method."},
	"reason.over_limit":         {"金额超出支付机构的限额，请修改金额或选择其他支付方式。", "The amount is over the payment provider's limit. Change the amount or choose another method."},
	"reason.cancelled":          {"你取消了本次支付，没有扣款。", "You cancelled the payment. Nothing was charged."},
	"reason.provider_error":     {"支付机构暂时无法处理，请稍后再试。", "The payment provider could not process this right now. Please try again later."},

	"action.wrong_details":      {"重新支付", "Pay again"},
	"action.declined":           {"换一张卡或其他方式", "Use another card or method"},
	"action.insufficient_funds": {"换一种支付方式", "Use another method"},
	"action.restricted":         {"选择其他支付方式", "Choose another method"},
	"action.over_limit":         {"修改金额", "Change the amount"},
	"action.cancelled":          {"重新支付", "Pay again"},
	"action.provider_error":     {"稍后重试", "Try again later"},

	"orders.title":     {"我的充值", "My top-ups"},
	"orders.empty":     {"还没有充值记录。", "No top-ups yet."},
	"state.awaiting":   {"待支付", "Awaiting payment"},
	"state.processing": {"处理中", "Processing"},
	"state.paid":       {"充值成功", "Paid"},
	"state.failed":     {"充值失败", "Failed"},
	"state.cancelled":  {"已取消", "Cancelled"},
	"state.closed":     {"已关闭", "Closed"},

	"desc.topup_alipay":   {"支付宝充值", "Top-up by Alipay"},
	"desc.topup_wechat":   {"微信支付充值", "Top-up by WeChat Pay"},
	"desc.topup_card":     {"银行卡充值", "Top-up by bank card"},
	"desc.topup_paypal":   {"PayPal 充值", "Top-up by PayPal"},
	"desc.recharge_bonus": {"充值奖励", "Top-up bonus"},
	"desc.first_bonus":    {"首充奖励", "First top-up bonus"},
	// A first top-up that also reached a tier: one transaction, both bonuses.
	"desc.recharge_first_bonus": {"充值奖励＋首充奖励", "Top-up bonus + first top-up bonus"},

	"error.home":       {"返回首页", "Back to the home page"},
	"error.request_id": {"请求编号：%s", "Request ID: %s"},
	"error.400":        {"请求无效，请检查后重试。", "The request was not valid. Please check it and try again."},
	"error.403":        {"无权执行此操作。", "You are not allowed to do that."},
	"error.csrf":       {"页面已过期，请刷新后重试。", "This page has expired. Reload it and try again."},
	"error.404":        {"页面不存在。", "Page not found."},
	"error.405":        {"不支持该操作。", "That action is not supported here."},
	"error.413":        {"提交的内容太大。", "What you sent is too large."},
	"error.429":        {"请求太频繁，请稍后再试。", "Too many requests. Please try again later."},
	"error.500":        {"系统繁忙，请稍后再试。", "Something went wrong on our side. Please try again later."},
	"error.503":        {"服务暂时不可用，请稍后再试。", "The service is temporarily unavailable. Please try again later."},
}
