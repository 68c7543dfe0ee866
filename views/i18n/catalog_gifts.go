package i18n

// giftTexts holds the strings of gifts (礼物): catalog, sending, sent and received lists.
var giftTexts = map[string]texts{
	// nav.gifts is defined with the other nav items in catalog_spend.go.

	"gifts.title":          {"礼物", "Gifts"},
	"gifts.balance":        {"可用余额", "Balance"},
	"gifts.send_title":     {"送礼物", "Send a gift"},
	"gifts.choose_label":   {"选择礼物", "Choose a gift"},
	"gifts.to_label":       {"收礼人用户名", "Recipient's username"},
	"gifts.quantity_label": {"数量", "Quantity"},
	"gifts.quantity_hint":  {"%d–%d 份", "%d to %d"},
	"gifts.message_label":  {"留言（选填）", "Message (optional)"},
	"gifts.message_hint":   {"最多 %d 个字，对方会看到。", "Up to %d characters; the recipient sees it."},
	"gifts.submit":         {"送出礼物", "Send gift"},
	"gifts.received_title": {"收到的礼物", "Gifts received"},
	"gifts.sent_title":     {"送出的礼物", "Gifts sent"},
	"gifts.received_total": {"累计收到价值 %s 的礼物", "Gifts worth %s received in total"},
	"gifts.income_note":    {"收到的礼物计入礼物收益，不计入可用余额。", "Gifts you receive count as gift income, not as spendable balance."},
	"gifts.received_empty": {"还没有收到礼物。", "No gifts received yet."},
	"gifts.sent_empty":     {"还没有送出礼物。", "You have not sent any gifts yet."},
	"gifts.from":           {"来自", "From"},
	"gifts.to":             {"送给", "To"},
	"gifts.item_times":     {"%s × %d", "%s × %d"},
	"gifts.sent":           {"礼物已送出。", "Your gift has been sent."},

	"gift.name.rose":   {"玫瑰", "Rose"},
	"gift.name.heart":  {"爱心", "Heart"},
	"gift.name.cake":   {"蛋糕", "Cake"},
	"gift.name.crown":  {"皇冠", "Crown"},
	"gift.name.rocket": {"火箭", "Rocket"},
	"gift.name.castle": {"城堡", "Castle"},

	"desc.gift_sent": {"送出礼物", "Gift sent"},

	// Refusals (spend/gifts.go lists them with their fields and args).
	"gift.form_expired":     {"表单已失效，请重新提交。", "This form has expired. Please submit it again."},
	"gift.key_reused":       {"这份礼物已经送出过了。如需再送一份，请重新提交。", "This gift was already sent. Submit again to send another one."},
	"gift.to_empty":         {"请输入收礼人的用户名。", "Please enter the recipient's username."},
	"gift.to_unknown":       {"找不到用户“%s”，请检查用户名。", "There is no user named “%s”. Please check the name."},
	"gift.to_self":          {"不能给自己送礼物。", "You cannot send a gift to yourself."},
	"gift.choose":           {"请选择一件礼物。", "Please choose a gift."},
	"gift.unknown":          {"这件礼物不存在或已下架。", "That gift does not exist or is no longer offered."},
	"gift.quantity_range":   {"数量须为 %d 到 %d 之间的整数。", "The quantity must be a whole number from %d to %d."},
	"gift.message_too_long": {"留言最多 %d 个字。", "The message can have at most %d characters."},
	"gift.message_invalid":  {"留言包含无法使用的字符（如换行或控制字符）。", "The message contains characters that cannot be used (such as line breaks or control characters)."},
}
