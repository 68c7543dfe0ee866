package i18n

// securityTexts holds the strings of accounts that stay shut: the sign-up
// and password limits, the session list, a repriced purchase, and text
// input refused at the edge.
var securityTexts = map[string]texts{
	"register.throttled": {"此网络注册的账号过多，请约 %d 分钟后再试。", "Too many accounts were created from this network. Please try again in about %d minutes."},
	"password.throttled": {"当前密码错误次数过多，请约 %d 分钟后再试。", "Too many wrong current passwords. Please try again in about %d minutes."},

	"sessions.title":          {"登录设备", "Where you're logged in"},
	"sessions.hint":           {"不认识的设备？将它退出，并修改密码。", "A device you don't recognise? Log it out and change your password."},
	"sessions.current":        {"当前设备", "This device"},
	"sessions.last_seen":      {"最近使用", "Last active"},
	"sessions.address":        {"地址", "address"},
	"sessions.end":            {"退出", "Log out"},
	"sessions.end_others":     {"退出其他所有设备", "Log out everywhere else"},
	"sessions.unknown_device": {"未知设备", "Unknown device"},
	"sessions.ended":          {"该设备已退出登录。", "That device has been logged out."},
	"sessions.ended_others":   {"其他所有设备均已退出登录。", "Every other device has been logged out."},

	"shop.repriced": {"价格已变为 %s，请确认后再购买。", "The price is now %s. Please confirm it before buying."},

	"api.text_invalid":   {"请求含有空字符（NUL），无法处理。", "The request contains a null character (NUL) and cannot be processed."},
	"error.text_invalid": {"提交的内容含有无效字符（如空字符或非 UTF-8 编码），请检查后重试。", "What was sent contains characters that are not allowed (such as a null character or invalid UTF-8). Please check it and try again."},
}
