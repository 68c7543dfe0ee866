package pages

import (
	"strconv"
	"strings"

	"im2pay/spend"
	"im2pay/wallet"
)

// giftUnit is the unit price of the gift chosen on f (0: none chosen).
func giftUnit(f GiftFormView) wallet.Money {
	for _, it := range f.Items {
		if it.Code == f.Gift {
			return it.Price
		}
	}
	return 0
}

// giftQuantityN is f's quantity when it is one a gift may have, else 0,
// so the total never shows an amount that could not be sent.
func giftQuantityN(f GiftFormView) int {
	n, err := strconv.Atoi(strings.TrimSpace(f.Quantity))
	if err != nil || n < spend.MinGiftQuantity || n > spend.MaxGiftQuantity {
		return 0
	}
	return n
}

func giftQuantity(f GiftFormView) string { return strconv.Itoa(giftQuantityN(f)) }
