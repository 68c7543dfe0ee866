package i18n

// liveTexts holds the strings of the live balance: the header's balance and
// the toasts that say what moved.
var liveTexts = map[string]texts{
	"live.balance":       {"余额", "Balance"},
	"live.topup":         {"充值 %s 已到账", "Top-up of %s credited"},
	"live.gift_received": {"收到 %s 送的 %s ×%d", "%s sent you %s ×%d"},
	"live.charge":        {"%s 扣费 %s", "%s: %s charged"},
	"live.credited":      {"%s %s 已到账", "%s: %s credited"},
	"live.debited":       {"%s 支出 %s", "%s: %s paid"},
}
