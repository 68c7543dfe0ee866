package components

import (
	"context"

	"im2pay/views/i18n"
)

// ToastText says what a movement was: a top-up credited, a gift received
// (who, what, how many), a charge, or any other line as the history
// describes it, with its amount.
func ToastText(ctx context.Context, t Toast) string {
	switch {
	case t.GiftFrom != "":
		return i18n.T(ctx, "live.gift_received", t.GiftFrom, i18n.T(ctx, "gift.name."+t.GiftItem), t.GiftQuantity)
	case t.Kind == "topup" && t.Amount > 0:
		return i18n.T(ctx, "live.topup", t.Amount.String())
	case t.Kind == "charge" && t.Amount < 0:
		return i18n.T(ctx, "live.charge", i18n.Describe(ctx, t.Description), (-t.Amount).String())
	case t.Amount > 0:
		return i18n.T(ctx, "live.credited", i18n.Describe(ctx, t.Description), t.Amount.String())
	case t.Amount < 0:
		return i18n.T(ctx, "live.debited", i18n.Describe(ctx, t.Description), (-t.Amount).String())
	}
	return i18n.Describe(ctx, t.Description)
}
