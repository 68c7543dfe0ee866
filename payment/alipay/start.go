package alipay

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	sdk "github.com/smartwalle/alipay/v3"

	"im2pay/payment"
)

// Product codes Alipay requires for each flow.
const (
	productPage = "FAST_INSTANT_TRADE_PAY" // 电脑网站支付, alipay.trade.page.pay
	productWap  = "QUICK_WAP_WAY"          // 手机网站支付, alipay.trade.wap.pay
)

// QuitParam is the query parameter Start adds to the wap flow's quit_url
// (where Alipay sends a person who gives up); ParseReturn reads it as a
// cancellation. Page pay has no quit_url in Alipay's protocol.
const QuitParam = "alipay_quit"

var outTradeNoRE = regexp.MustCompile(`^[0-9A-Za-z]{16,32}$`)

// Start builds the signed gateway URL the person's browser opens. Nothing is
// sent to Alipay here: the trade comes into being when the browser reaches
// the gateway, which is also why calling Start again is safe — the new URL
// (only its timestamp and signature differ) opens the same trade, because
// Alipay keys trades by out_trade_no and refuses changed details
// (ACQ.CONTEXT_INCONSISTENT).
func (p *Provider) Start(_ context.Context, o payment.Order) (payment.Next, error) {
	if err := checkOrder(o); err != nil {
		return payment.Next{}, err
	}
	trade := sdk.Trade{
		NotifyURL:   o.NotifyURL,
		ReturnURL:   o.ReturnURL,
		Subject:     o.Subject,
		OutTradeNo:  o.OutTradeNo,
		TotalAmount: payment.FenToYuan(o.Amount),
		// A balance top-up is a virtual good (goods_type 0): Alipay then
		// keeps 花呗 credit out of the payment.
		GoodsType: "0",
		// Naming our seller makes a misconfigured app fail at the gateway
		// instead of collecting money for someone else.
		SellerId:   p.cfg.SellerID,
		TimeExpire: o.ExpiresAt.In(beijing).Format(timeLayout),
	}
	var (
		u   *url.URL
		err error
	)
	switch o.Device {
	case payment.Phone:
		trade.ProductCode = productWap
		// TradeWapPay declares its own time_expire that shadows Trade's in
		// JSON; it must be set on the outer struct or it is not sent at all.
		u, err = p.client.TradeWapPay(sdk.TradeWapPay{Trade: trade, QuitURL: quitURL(o.ReturnURL), TimeExpire: trade.TimeExpire})
	default:
		trade.ProductCode = productPage
		u, err = p.client.TradePagePay(sdk.TradePagePay{Trade: trade})
	}
	if err != nil {
		return payment.Next{}, fmt.Errorf("alipay: sign %s: %w", o.OutTradeNo, err)
	}
	return payment.Next{RedirectURL: u.String()}, nil
}

func checkOrder(o payment.Order) error {
	bad := func(why string) error { return fmt.Errorf("alipay: order %q: %s", o.OutTradeNo, why) }
	switch {
	case !outTradeNoRE.MatchString(o.OutTradeNo):
		return bad("out_trade_no must be 16-32 letters or digits")
	case o.Amount <= 0:
		return bad("amount must be positive")
	case o.Currency != "CNY":
		// Domestic Alipay acquiring prices in CNY only.
		return bad("currency must be CNY")
	case o.Subject == "" || utf8.RuneCountInString(o.Subject) > 256:
		return bad("subject must have 1-256 characters")
	case o.Device != payment.Desktop && o.Device != payment.Phone:
		return bad("device must be desktop or phone")
	case o.ExpiresAt.IsZero():
		return bad("expiry time is required (time_expire)")
	}
	if err := absURL(o.NotifyURL, false); err != nil {
		return bad("notify URL: " + err.Error())
	}
	// Alipay signs the whole query string it appends to return_url, so a
	// query of our own would make every return fail verification.
	if err := absURL(o.ReturnURL, true); err != nil {
		return bad("return URL: " + err.Error())
	}
	return nil
}

func absURL(s string, noQuery bool) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	case noQuery && (u.RawQuery != "" || strings.Contains(s, "?")):
		return fmt.Errorf("%q must not carry a query", s)
	}
	return nil
}

// quitURL is the return URL marked as a cancellation.
func quitURL(returnURL string) string {
	return returnURL + "?" + QuitParam + "=1"
}
