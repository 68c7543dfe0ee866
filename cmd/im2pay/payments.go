package main

import (
	"im2pay/payment"
)

// openProviders builds the payment providers from the configuration.
func openProviders(cfg config) (map[payment.Method]payment.Provider, error) {
	return map[payment.Method]payment.Provider{}, nil
}
