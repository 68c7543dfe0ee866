package i18n

// cashierTexts holds the recharge page's cashier strings: the balance, the
// preset badges, the promotion line, today's allowance, the pay bar, what
// a top-up is for, and why a top-up gets a second look.
var cashierTexts = map[string]texts{
	"cashier.balance": {"当前余额", "Balance"},

	// Badges on the preset tiles and the one-line promotion, built from the
	// rules in force: "满¥68送5%、满¥328送10%、首充送¥6".
	"cashier.badge_tier":  {"送%s", "+%s bonus"},
	"cashier.badge_first": {"首充+%s", "+%s first top-up"},
	"cashier.promo":       {"充值优惠：%s", "Bonuses: %s"},
	"cashier.promo_tier":  {"满%s送%s", "from %s, +%s"},
	"cashier.promo_first": {"首充送%s", "%s extra on your first top-up"},
	"cashier.promo_sep":   {"、", "; "},

	// Today's allowance under the daily limit.
	"cashier.left_today":    {"今日还可充值 %s（每日上限 %s）", "You can top up %s more today (daily limit %s)."},
	"cashier.own_left":      {"按你的消费保护设置，现在还可充值 %s。", "Your spending protection allows %s more top-up now."},
	"cashier.own_reached":   {"已达你的消费保护设置的充值上限。", "You have reached the top-up limit of your spending protection."},
	"cashier.own_link":      {"查看消费保护", "See spending protection"},
	"cashier.limit_reached": {"已达每日上限 %s，明天再来充值吧。", "Daily limit of %s reached: you can top up again tomorrow."},
	"cashier.over_today":    {"超出今日额度", "Over today's limit"},

	// The pay bar (fixed at the bottom on phones).
	"cashier.bar_pay":        {"实付", "You pay"},
	"cashier.bar_receive":    {"到账", "You get"},
	"cashier.pay_now":        {"立即充值", "Top up now"},
	"cashier.preview_button": {"查看到账金额", "Show what I get"},

	// What the top-up is for (the 余额不足 flow).
	"cashier.for_buy":  {"本次充值用于购买：%s。充值成功后可返回继续购买。", "This top-up is for: %s. Once it lands you can go back and finish the purchase."},
	"cashier.for_gift": {"本次充值用于送礼：%s ×%s 给 %s。充值成功后可返回继续送出。", "This top-up is for a gift: %s ×%s to %s. Once it lands you can go back and send it."},
	"cashier.for_back": {"充值成功后可返回刚才的页面继续。", "Once the top-up lands you can go back to where you were."},

	// The confirm step, when a top-up needs a second look.
	"cashier.look_title": {"请再确认一下", "Please take a second look"},
	"cashier.look_large": {"金额较大：%s，高于最大档位 %s。", "A large amount: %s, above the largest preset of %s."},
	"cashier.look_limit": {"充值后今日只剩 %s 可充值额度。", "After this top-up only %s of today's limit is left."},
}
