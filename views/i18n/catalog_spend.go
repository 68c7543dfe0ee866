package i18n

// spendTexts holds the strings of the shop (增值服务), events (活动) and the
// shortfall (余额不足) flow.
var spendTexts = map[string]texts{
	"shortfall.title":  {"余额不足", "Not enough balance"},
	"shortfall.detail": {"还差 %s。充值后会回到这里，购买尚未确认。", "You need %s more. After topping up you come back here; nothing is bought yet."},
	"shortfall.topup":  {"充值 %s", "Top up %s"},
}
