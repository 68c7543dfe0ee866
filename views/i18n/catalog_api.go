package i18n

// apiTexts holds the strings of the service API: the descriptions of per-use
// charges in the history, and the messages of the API's error answers (the
// JSON "message", in the caller's Accept-Language; callers branch on the
// stable "error" code, never on the text).
var apiTexts = map[string]texts{
	// One per spend.ChargeReasons entry.
	"desc.charge_priority_message": {"加急消息", "Priority message"},
	"desc.charge_message_recall":   {"超时撤回消息", "Late message recall"},
	"desc.charge_voice_to_text":    {"语音转文字", "Voice to text"},
	"desc.charge_translation":      {"消息翻译", "Message translation"},
	"desc.charge_large_file":       {"大文件传输", "Large file transfer"},

	"api.unauthorized":       {"缺少服务令牌（Authorization: Bearer …），或服务 API 未启用。", "A service token (Authorization: Bearer …) is required, or the service API is not enabled."},
	"api.forbidden":          {"服务令牌无效。", "The service token is not valid."},
	"api.media_type":         {"请求体必须是 JSON（Content-Type: application/json）。", "The body must be JSON (Content-Type: application/json)."},
	"api.body_too_large":     {"请求体超过 %d 字节。", "The body is larger than %d bytes."},
	"api.body_utf8":          {"请求体不是有效的 UTF-8。", "The body is not valid UTF-8."},
	"api.body_json":          {"请求体不是一个 JSON 对象。", "The body is not one JSON object."},
	"api.field_unknown":      {"未知字段 %s。", "Unknown field %s."},
	"api.field_duplicate":    {"字段 %s 出现了不止一次。", "Field %s appears more than once."},
	"api.field_missing":      {"缺少字段 %s。", "Field %s is missing."},
	"api.field_type":         {"字段 %s 的类型不对。", "Field %s has the wrong type."},
	"api.amount_integer":     {"amount_fen 必须是以分为单位的整数，不带小数点或指数。", "amount_fen must be a whole number of fen, without a decimal point or exponent."},
	"api.amount_range":       {"amount_fen 必须在 1 到 %d 之间。", "amount_fen must be between 1 and %d."},
	"api.user_invalid":       {"user 必须是 1 到 64 字节的用户名。", "user must be a username of 1 to 64 bytes."},
	"api.user_unknown":       {"用户不存在。", "No such user."},
	"api.reason_unknown":     {"不支持的 reason。", "This reason is not supported."},
	"api.key_invalid":        {"idempotency_key 必须是 1 到 %d 个可见 ASCII 字符。", "idempotency_key must be 1 to %d visible ASCII characters."},
	"api.key_reused":         {"该 idempotency_key 已用于另一个请求。", "This idempotency_key was already used for a different request."},
	"api.item_unknown":       {"不支持的 item。", "This item is not supported."},
	"api.not_found":          {"没有这个接口。", "No such endpoint."},
	"api.method_not_allowed": {"该接口不支持此方法。", "This endpoint does not support that method."},
	"api.bad_request":        {"请求无效。", "The request is not valid."},
	"api.internal":           {"系统繁忙，请稍后用同一个 idempotency_key 重试。", "Something went wrong on our side. Please retry later with the same idempotency_key."},
}
