package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"slices"
	"time"

	"im2pay/payment"
	"im2pay/payment/alipay"
	"im2pay/payment/paypal"
	"im2pay/payment/unionpay"
	"im2pay/payment/wechat"
)

// paymentConfig is the merchant side of every provider: where it lives and
// which keys it uses. It is a file (PAYMENT_CONFIG) because it names key
// files; the sandbox writes one for development, production supplies its
// own. A missing section leaves that method out.
type paymentConfig struct {
	Alipay *alipay.Config   `json:"alipay,omitempty"`
	WeChat *wechat.Config   `json:"wechat,omitempty"`
	Card   *unionpay.Config `json:"card,omitempty"`
	PayPal *paypal.Config   `json:"paypal,omitempty"`
}

func readPaymentConfig(path string) (paymentConfig, error) {
	var pc paymentConfig
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return pc, nil
	}
	if err != nil {
		return pc, fmt.Errorf("payment configuration: %w", err)
	}
	if err := json.Unmarshal(raw, &pc); err != nil {
		return pc, fmt.Errorf("payment configuration %s: %w", path, err)
	}
	return pc, nil
}

func writePaymentConfig(path string, pc paymentConfig) error {
	raw, err := json.MarshalIndent(pc, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(raw, '\n'), 0o600); err != nil {
		return fmt.Errorf("write payment configuration: %w", err)
	}
	return nil
}

// openProviders builds the providers named in the payment configuration,
// and the origins our pages may send forms (and form redirects) to: each
// provider's API origin and web origins (payment.WebOrigins), then the
// extra FORM_ACTION_ORIGINS.
func openProviders(cfg config) (map[payment.Method]payment.Provider, []string, error) {
	pc, err := readPaymentConfig(cfg.PaymentConfig)
	if err != nil {
		return nil, nil, err
	}
	client := &http.Client{Timeout: 15 * time.Second}
	out := map[payment.Method]payment.Provider{}
	var errs []error
	add := func(m payment.Method, p payment.Provider, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m, err))
			return
		}
		out[m] = p
	}
	if pc.Alipay != nil {
		p, err := alipay.New(*pc.Alipay, client)
		add(payment.Alipay, p, err)
	}
	if pc.WeChat != nil {
		p, err := wechat.New(*pc.WeChat, client)
		add(payment.WeChat, p, err)
	}
	if pc.Card != nil {
		p, err := unionpay.New(*pc.Card, client)
		add(payment.Card, p, err)
	}
	if pc.PayPal != nil {
		p, err := paypal.New(*pc.PayPal, client)
		add(payment.PayPal, p, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	origins, err := pc.formOrigins(cfg.FormActionOrigins)
	if err != nil {
		return nil, nil, err
	}
	return out, origins, nil
}

// formOrigins gathers every configured provider's form-action origins,
// in the order of the methods, then the extra ones, without duplicates.
func (pc paymentConfig) formOrigins(extra []string) ([]string, error) {
	var lists []func() ([]string, error)
	if pc.Alipay != nil {
		lists = append(lists, pc.Alipay.FormOrigins)
	}
	if pc.WeChat != nil {
		lists = append(lists, pc.WeChat.FormOrigins)
	}
	if pc.Card != nil {
		lists = append(lists, pc.Card.FormOrigins)
	}
	if pc.PayPal != nil {
		lists = append(lists, pc.PayPal.FormOrigins)
	}
	lists = append(lists, func() ([]string, error) { return extra, nil })
	var out []string
	for _, list := range lists {
		got, err := list()
		if err != nil {
			return nil, err
		}
		for _, o := range got {
			if !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	return out, nil
}
