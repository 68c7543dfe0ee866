package wechat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/h5"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"

	"im2pay/payment"
)

// Method implements payment.Provider.
func (p *Provider) Method() payment.Method { return payment.WeChat }

// China Standard Time: WeChat writes and expects times as
// "2006-01-02T15:04:05+08:00".
var cst = time.FixedZone("CST", 8*3600)

var outTradeNoRE = regexp.MustCompile(`^[0-9A-Za-z]{16,32}$`)

// descriptionMax is the byte length of the description field (string(127)).
const descriptionMax = 127

// Start creates the WeChat order: Native (code_url for a QR code) on
// desktop, H5 (h5_url to open in the phone's browser) on phones. WeChat
// answers a repeated identical request for the same out_trade_no with the
// same link, so calling Start again is safe.
func (p *Provider) Start(ctx context.Context, o payment.Order) (payment.Next, error) {
	if !outTradeNoRE.MatchString(o.OutTradeNo) || o.Amount <= 0 || o.Currency != "CNY" {
		return payment.Next{}, fmt.Errorf("wechat: start %q: order needs a [0-9A-Za-z]{16,32} number, a positive amount and CNY: %w",
			o.OutTradeNo, payment.ErrMalformed)
	}
	var expire *time.Time
	if !o.ExpiresAt.IsZero() {
		expire = core.Time(o.ExpiresAt.In(cst).Truncate(time.Second))
	}
	desc := core.String(truncate(o.Subject, descriptionMax))
	switch o.Device {
	case payment.Desktop:
		resp, _, err := (&native.NativeApiService{Client: p.client}).Prepay(ctx, native.PrepayRequest{
			Appid: core.String(p.cfg.AppID), Mchid: core.String(p.cfg.MchID), Description: desc,
			OutTradeNo: core.String(o.OutTradeNo), TimeExpire: expire, NotifyUrl: core.String(o.NotifyURL),
			Amount: &native.Amount{Total: core.Int64(o.Amount), Currency: core.String(o.Currency)},
		})
		if err != nil {
			return payment.Next{}, p.apiErr(ctx, "native prepay "+o.OutTradeNo, err)
		}
		if resp.CodeUrl == nil || *resp.CodeUrl == "" {
			return payment.Next{}, fmt.Errorf("wechat: native prepay %s: no code_url: %w", o.OutTradeNo, payment.ErrMalformed)
		}
		return payment.Next{QRCode: *resp.CodeUrl}, nil
	case payment.Phone:
		resp, _, err := (&h5.H5ApiService{Client: p.client}).Prepay(ctx, h5.PrepayRequest{
			Appid: core.String(p.cfg.AppID), Mchid: core.String(p.cfg.MchID), Description: desc,
			OutTradeNo: core.String(o.OutTradeNo), TimeExpire: expire, NotifyUrl: core.String(o.NotifyURL),
			Amount:    &h5.Amount{Total: core.Int64(o.Amount), Currency: core.String(o.Currency)},
			SceneInfo: &h5.SceneInfo{PayerClientIp: core.String(o.ClientIP), H5Info: &h5.H5Info{Type: core.String("Wap")}},
		})
		if err != nil {
			return payment.Next{}, p.apiErr(ctx, "h5 prepay "+o.OutTradeNo, err)
		}
		if resp.H5Url == nil || *resp.H5Url == "" {
			return payment.Next{}, fmt.Errorf("wechat: h5 prepay %s: no h5_url: %w", o.OutTradeNo, payment.ErrMalformed)
		}
		return payment.Next{RedirectURL: withRedirect(*resp.H5Url, o.ReturnURL)}, nil
	}
	return payment.Next{}, fmt.Errorf("wechat: start %s: unknown device %q: %w", o.OutTradeNo, o.Device, payment.ErrMalformed)
}

// withRedirect appends redirect_url to an h5_url, as WeChat documents it:
// after paying (or cancelling), WeChat's page sends the person there, with
// no parameters, so ReturnURL must identify the order itself.
func withRedirect(h5URL, returnURL string) string {
	if returnURL == "" {
		return h5URL
	}
	sep := "&"
	if !strings.Contains(h5URL, "?") {
		sep = "?"
	}
	return h5URL + sep + "redirect_url=" + url.QueryEscape(returnURL)
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// Query asks WeChat about an order by our number (ref is not needed).
func (p *Provider) Query(ctx context.Context, outTradeNo, _ string) (payment.Result, error) {
	tx, _, err := (&native.NativeApiService{Client: p.client}).QueryOrderByOutTradeNo(ctx,
		native.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String(outTradeNo), Mchid: core.String(p.cfg.MchID)})
	if err != nil {
		return payment.Result{}, p.apiErr(ctx, "query "+outTradeNo, err)
	}
	return p.result(*tx, outTradeNo)
}

// Complete is a query: WeChat needs no server call after the person pays.
func (p *Provider) Complete(ctx context.Context, outTradeNo, ref string) (payment.Result, error) {
	return p.Query(ctx, outTradeNo, ref)
}

// Close closes an unpaid order. A 204 proves nothing: WeChat answers it for
// an order number it does not know too, and APIv3's answer for a paid
// order is not published (ORDERPAID is v2's code, still read if it comes).
// So a close that reports success is followed by one query, and an order
// found paid is ErrAlreadyPaid (PROVIDERS.md §2.3, table §5 row 15).
func (p *Provider) Close(ctx context.Context, outTradeNo, ref string) error {
	_, err := (&native.NativeApiService{Client: p.client}).CloseOrder(ctx,
		native.CloseOrderRequest{OutTradeNo: core.String(outTradeNo), Mchid: core.String(p.cfg.MchID)})
	if err != nil {
		return p.apiErr(ctx, "close "+outTradeNo, err)
	}
	res, err := p.Query(ctx, outTradeNo, ref)
	switch {
	case errors.Is(err, payment.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("wechat: query after closing %s: %w", outTradeNo, err)
	case res.Status == payment.StatusPaid:
		return fmt.Errorf("wechat: close %s: %w", outTradeNo, payment.ErrAlreadyPaid)
	}
	return nil
}

// ParseReturn accepts the person's return. H5 sends them back to
// redirect_url without any parameter (and Native never sends them back), so
// there is nothing to verify: the caller knows the order from its own URL
// and must query.
func (p *Provider) ParseReturn(context.Context, url.Values, url.Values) (payment.Return, error) {
	return payment.Return{}, nil
}

// apiErr translates WeChat's error codes that mean something to our app,
// keeping the SDK's *core.APIError in the chain for logs and tests. A code
// is acted on only when the error answer carries a valid WeChat Pay
// signature: the SDK does not verify non-2xx answers.
func (p *Provider) apiErr(ctx context.Context, op string, err error) error {
	var ae *core.APIError
	if !errors.As(err, &ae) {
		return fmt.Errorf("wechat: %s: %w", op, err)
	}
	var meaning error
	switch ae.Code {
	case "ORDERPAID":
		meaning = payment.ErrAlreadyPaid
	case "ORDER_NOT_EXIST", "ORDERNOTEXIST":
		meaning = payment.ErrNotFound
	default:
		return fmt.Errorf("wechat: %s: %w", op, err)
	}
	res := &http.Response{StatusCode: ae.StatusCode, Header: ae.Header, Body: io.NopCloser(strings.NewReader(ae.Body))}
	if verr := p.checker.Validate(ctx, res); verr != nil {
		return fmt.Errorf("wechat: %s: unsigned %s answer: %w: %v", op, ae.Code, payment.ErrBadSignature, verr)
	}
	return fmt.Errorf("wechat: %s: %w: %w", op, meaning, err)
}

var _ payment.Provider = (*Provider)(nil)
