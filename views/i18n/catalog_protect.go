package i18n

// protectTexts holds the strings of spending protection (issue 16): the
// caps people set, minors' mode (青少年模式), the large-gift confirmation,
// the recharge agreement (充值协议) and the support (客服) entry.
var protectTexts = map[string]texts{
	// Refusals (package limits); args: the cap, what is left.
	"limit.spend_day":    {"这笔消费会超过你设置的每日消费上限 %s（今日还可用 %s）。", "This would pass the daily spending cap you set, %s (%s left today)."},
	"limit.spend_month":  {"这笔消费会超过你设置的每月消费上限 %s（本月还可用 %s）。", "This would pass the monthly spending cap you set, %s (%s left this month)."},
	"limit.topup_day":    {"这笔充值会超过你设置的每日充值上限 %s（今日还可充 %s）。", "This would pass the daily top-up cap you set, %s (%s left today)."},
	"limit.topup_month":  {"这笔充值会超过你设置的每月充值上限 %s（本月还可充 %s）。", "This would pass the monthly top-up cap you set, %s (%s left this month)."},
	"limit.minors_each":  {"青少年模式下单笔充值不能超过 %s。", "In minors' mode a top-up may be at most %s."},
	"limit.minors_month": {"青少年模式下每月充值不能超过 %s（本月还可充 %s）。", "In minors' mode top-ups may total at most %s a month (%s left this month)."},
	"limit.minors_gifts": {"青少年模式下不能给他人送礼物。", "Gifts to others are off in minors' mode."},
	"api.limit_reached":  {"该用户设置的消费上限或青少年模式拒绝了这笔扣费，未扣款。", "The person's own spending cap or minors' mode refuses this charge; nothing was debited."},

	// The large-gift confirmation and the live total.
	"protect.gift_total":    {"合计", "Total"},
	"protect.gift_large":    {"这份礼物合计 %s，超过你设置的确认金额，确认后才会送出。", "This gift totals %s, above the amount you asked to confirm; it is sent only once you confirm."},
	"protect.gift_repriced": {"合计已变为 %s，请再次确认。", "The total is now %s; please confirm again."},
	"protect.gift_confirm":  {"确认赠送 %s", "Confirm and send %s"},
	"protect.gift_after":    {"送出后余额", "Balance after"},

	// The protection page.
	"protect.title":             {"消费保护", "Spending protection"},
	"protect.link":              {"消费保护：消费与充值上限、青少年模式", "Spending protection: caps and minors' mode"},
	"protect.caps_title":        {"消费与充值上限", "Spending and top-up caps"},
	"protect.caps_hint":         {"按北京时间计日、计月；留空表示不限。调低立即生效；调高或取消需等待 24 小时（冷静期）。上限从首次设置时开始计算。", "Days and months are Beijing time; leave empty for no cap. A lower cap applies at once; raising or removing one takes effect after 24 hours (a cooling-off). Caps count from when you first set one."},
	"protect.cap.spend_day":     {"每日消费上限（元）", "Daily spending cap (yuan)"},
	"protect.cap.spend_month":   {"每月消费上限（元）", "Monthly spending cap (yuan)"},
	"protect.cap.topup_day":     {"每日充值上限（元）", "Daily top-up cap (yuan)"},
	"protect.cap.topup_month":   {"每月充值上限（元）", "Monthly top-up cap (yuan)"},
	"protect.cap_none":          {"不限", "No cap"},
	"protect.cap_now":           {"当前：%s", "Now: %s"},
	"protect.cap_pending":       {"将于 %s（北京时间）生效：%s", "Takes effect at %s (Beijing time): %s"},
	"protect.used":              {"已用：今日 %s，本月 %s", "Used: %s today, %s this month"},
	"protect.topped":            {"已充：今日 %s，本月 %s", "Topped up: %s today, %s this month"},
	"protect.caps_save":         {"保存上限", "Save caps"},
	"protect.caps_saved":        {"上限已保存。调高的上限 24 小时后生效。", "Caps saved. A raised cap takes effect after 24 hours."},
	"protect.cap_format":        {"请输入大于 0 的金额，或留空表示不限", "Enter an amount above 0, or leave it empty for no cap"},
	"protect.minors_title":      {"青少年模式", "Minors' mode"},
	"protect.minors_desc":       {"开启后：单笔充值不超过 %s，每月充值不超过 %s，不能给他人送礼物。可由本人或监护人开启，关闭需要监护人密码。", "While on: each top-up at most %s, at most %s a month, and no gifts to others. The person or a guardian turns it on; turning it off needs the guardian PIN."},
	"protect.minors_state_on":   {"青少年模式已开启", "Minors' mode is on"},
	"protect.minors_state_off":  {"青少年模式未开启", "Minors' mode is off"},
	"protect.realname_none":     {"实名认证尚未接入：是否为未成年人无法自动判断，请本人或监护人开启。", "No real-name check is connected: the app cannot tell a minor's account by itself, so the person or a guardian turns this on."},
	"protect.pin_label":         {"监护人密码（6 位数字）", "Guardian PIN (6 digits)"},
	"protect.pin_again_label":   {"再次输入监护人密码", "Guardian PIN again"},
	"protect.minors_on":         {"开启青少年模式", "Turn minors' mode on"},
	"protect.minors_off":        {"关闭青少年模式", "Turn minors' mode off"},
	"protect.minors_turned_on":  {"青少年模式已开启。", "Minors' mode is on."},
	"protect.minors_turned_off": {"青少年模式已关闭。", "Minors' mode is off."},
	"protect.pin_format":        {"监护人密码须为 6 位数字", "The guardian PIN is 6 digits"},
	"protect.pin_mismatch":      {"两次输入的监护人密码不一致", "The two PINs differ"},
	"protect.pin_wrong":         {"监护人密码不正确，还可再试 %d 次", "Wrong guardian PIN; %d tries left"},
	"protect.pin_locked":        {"监护人密码错误次数过多，请于 %s（北京时间）后再试", "Too many wrong PINs; try again after %s (Beijing time)"},

	// The recharge agreement.
	"agreement.title":  {"充值协议", "Recharge agreement"},
	"agreement.link":   {"《充值协议》", "the Recharge agreement"},
	"agreement.accept": {"充值即表示你已阅读并同意", "Topping up means you have read and accept"},
	"agreement.first":  {"首次充值前请阅读并同意充值协议。", "Before your first top-up, please read and accept the recharge agreement."},
	"agreement.needed": {"请先阅读并同意《充值协议》", "Please read and accept the recharge agreement first"},
	"agreement.p1":     {"充值的金额以人民币计，充入你在 IM2.0 的钱包余额，只能用于本应用内的消费（商城、礼物、活动与按次计费的功能），不能提现、转让或兑换为现金。", "Top-ups are in yuan and go to your IM2.0 wallet balance. The balance pays for things inside the app only (the shop, gifts, events and per-use features); it cannot be withdrawn, transferred or exchanged for cash."},
	"agreement.p2":     {"充值赠送的金额（档位赠送、首充奖励、活动奖励）按充值页面公布的规则发放；到账以支付机构的结果为准，未到账的订单可在“我的充值”中查看进度。", "Bonuses (tier, first top-up and event bonuses) follow the rules shown on the recharge page; a top-up is credited once the payment provider reports it paid, and 我的充值 (My top-ups) shows the progress of every order."},
	"agreement.p3":     {"你可以在“消费保护”中设置每日、每月的消费与充值上限；未成年人请在监护人同意下充值，可开启青少年模式，限制单笔与每月的充值金额。", "You can set daily and monthly caps on spending and top-ups under Spending protection. Minors top up only with a guardian's consent and can use minors' mode, which caps each top-up and each month's."},
	"agreement.p4":     {"对充值有疑问，或需要申请退款，请联系客服。", "For questions about a top-up, or to ask for a refund, contact support."},
	"agreement.back":   {"返回充值", "Back to top-up"},

	// The support entry.
	"support.title":      {"遇到问题？", "Need help?"},
	"support.contact":    {"联系客服", "Contact support"},
	"support.hours":      {"客服：%s", "Support: %s"},
	"support.page_intro": {"充值未到账、扣款有疑问或想申请退款：先在“我的充值”查看订单进度，已支付的订单可在那里申请退款。", "A top-up not credited, a charge you do not recognise, or a refund: first look at the order in My top-ups, where a paid order can also be refunded."},
	"support.orders":     {"查看我的充值", "Open My top-ups"},
	"support.none":       {"本站尚未配置其他客服联系方式。", "This site has not configured another way to reach support."},
}
