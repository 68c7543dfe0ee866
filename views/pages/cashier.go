package pages

import (
	"context"
	"strconv"
	"strings"

	"im2pay/recharge"
	"im2pay/views/i18n"
	"im2pay/wallet"
)

// PresetTile is one preset amount and what it earns this person now.
type PresetTile struct {
	Amount     wallet.Money
	TierBonus  wallet.Money
	FirstBonus wallet.Money
	OverToday  bool // more than today's limit still admits
}

// Purpose is what a top-up from the 余额不足 flow is for, read from where
// it returns to.
type Purpose struct {
	Kind     string // "buy" (a product or an event's bundle), "gift", "back" (only where it returns)
	NameKey  string // catalog key of the product, bundle or gift
	Quantity string // gifts only
	To       string // gifts only: the recipient's username
}

// Notice is one catalog text with its arguments.
type Notice struct {
	Key  string
	Args []any
}

// chosen is the amount asked for as money (0: none, or not an amount).
func (v RechargeView) chosen() wallet.Money {
	m, err := wallet.ParseMoney(v.Amount)
	if err != nil {
		return 0
	}
	return m
}

// tileChosen: the tile is highlighted when the amount asked for is its
// amount, however it was typed ("68", "68.0", the tile itself).
func (v RechargeView) tileChosen(t PresetTile) bool {
	return !t.OverToday && v.chosen() == t.Amount
}

// customValue keeps a typed amount that is not one of the presets.
func customValue(v RechargeView) string {
	for _, t := range v.Tiles {
		if v.tileChosen(t) {
			return ""
		}
	}
	return v.Amount
}

// limitReached: today's limit admits nothing more.
func (v RechargeView) limitReached() bool { return v.DailyMax > 0 && v.LeftToday <= 0 }

// canPay: some method is open and today's limit admits something.
func (v RechargeView) canPay() bool { return v.anyOpen() && !v.limitReached() }

// shortYuan drops ".00" from whole yuan, as badges and the rules line do
// ("送¥3.40", "满¥68").
func shortYuan(m wallet.Money) string {
	if m%100 == 0 {
		return "¥" + strconv.FormatInt(int64(m)/100, 10)
	}
	return m.String()
}

// bpPercent writes basis points as a percentage: 500 is "5%", 250 "2.5%".
func bpPercent(bp int64) string {
	s := strconv.FormatInt(bp/100, 10)
	if frac := bp % 100; frac != 0 {
		s += strings.TrimRight("."+strconv.FormatInt(100+frac, 10)[1:], "0")
	}
	return s + "%"
}

// promoLine states the promotion in force for this person in one line
// (满¥68送5%、满¥328送10%、首充送¥6), built from the rules, never typed.
func promoLine(ctx context.Context, tiers []recharge.BonusTier, first wallet.Money) string {
	var parts []string
	for _, t := range tiers {
		parts = append(parts, i18n.T(ctx, "cashier.promo_tier", shortYuan(t.Min), bpPercent(t.BasisPoints)))
	}
	if first > 0 {
		parts = append(parts, i18n.T(ctx, "cashier.promo_first", shortYuan(first)))
	}
	if len(parts) == 0 {
		return ""
	}
	return i18n.T(ctx, "cashier.promo", strings.Join(parts, i18n.T(ctx, "cashier.promo_sep")))
}

// purposeText is the line saying what the top-up is for.
func purposeText(ctx context.Context, p Purpose) string {
	switch p.Kind {
	case "buy":
		return i18n.T(ctx, "cashier.for_buy", i18n.T(ctx, p.NameKey))
	case "gift":
		return i18n.T(ctx, "cashier.for_gift", i18n.T(ctx, p.NameKey), p.Quantity, p.To)
	}
	return i18n.T(ctx, "cashier.for_back")
}

// payLabel is what the bar says the person pays: the provider's currency
// when it collects in another one.
func payLabel(q recharge.Quote) string {
	if q.Pay != nil {
		return q.Pay.String()
	}
	return q.Amount.String()
}
