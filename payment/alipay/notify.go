package alipay

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	sdk "github.com/smartwalle/alipay/v3"

	"im2pay/payment"
)

// Return methods Alipay puts in the signed query it appends to return_url.
const (
	returnPage = "alipay.trade.page.pay.return"
	returnWap  = "alipay.trade.wap.pay.return"
)

// ParseNotification verifies an asynchronous notification (a form-encoded
// POST, RSA2 over every parameter but sign and sign_type), checks that it is
// for our app and seller, and decodes the trade state. A genuine refund
// notification (it carries out_biz_no / refund_fee) is returned with Refund
// set and no payment state.
func (p *Provider) ParseNotification(ctx context.Context, _ payment.Header, body []byte) (payment.Notification, error) {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return payment.Notification{}, fmt.Errorf("alipay notification: %w", payment.ErrMalformed)
	}
	if err := p.verify(ctx, v); err != nil {
		return payment.Notification{}, fmt.Errorf("alipay notification: %w", err)
	}
	n := payment.Notification{EventID: v.Get("notify_id")}
	n.OutTradeNo = v.Get("out_trade_no")
	if v.Get("out_biz_no") != "" || v.Get("refund_fee") != "" || v.Get("gmt_refund") != "" {
		// A refund re-sends the payment's notification with its fields
		// added: about the refund, never a new payment (PROVIDERS.md §1.1, §1.8).
		if !outTradeNoRE.MatchString(n.OutTradeNo) {
			return n, fmt.Errorf("alipay notification: out_trade_no %q: %w", n.OutTradeNo, payment.ErrMalformed)
		}
		r, err := refundNotification(v)
		if err != nil {
			return n, fmt.Errorf("alipay notification: refund of %s: %w", n.OutTradeNo, err)
		}
		n.TradeNo, n.Refund = v.Get("trade_no"), r
		return n, nil
	}
	res, err := decodeTrade(v.Get("out_trade_no"), v.Get("trade_no"), sdk.TradeStatus(v.Get("trade_status")),
		v.Get("total_amount"), v.Get("gmt_payment"))
	if err != nil {
		return n, fmt.Errorf("alipay notification: %w", err)
	}
	n.Result = res
	return n, nil
}

// Ack is exactly "success" (Alipay stops retrying) or "fail" (it retries
// on its schedule); any other body also counts as a failure.
func (p *Provider) Ack(ok bool) payment.Ack {
	a := payment.Ack{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8", Body: []byte("fail")}
	if ok {
		a.Body = []byte("success")
	}
	return a
}

// ParseReturn verifies the person's GET back to return_url. After a payment
// Alipay appends a signed query (method alipay.trade.page.pay.return or
// alipay.trade.wap.pay.return, out_trade_no, trade_no, total_amount, app_id,
// seller_id, timestamp, sign…): it is verified like a notification. A return
// without Alipay's parameters is a person who came back without paying: the
// quit_url (wap) is marked with QuitParam and reads as Cancelled; any other
// plain return yields an empty Return, not an error: OutTradeNo is "" and our
// return URL's path names the order. Neither kind proves a payment.
func (p *Provider) ParseReturn(ctx context.Context, query url.Values, form url.Values) (payment.Return, error) {
	v := query
	if v.Get("sign") == "" && form.Get("sign") != "" {
		v = form
	}
	if v.Get("sign") == "" {
		for _, k := range []string{"out_trade_no", "trade_no", "total_amount", "method", "app_id", "seller_id"} {
			if v.Has(k) {
				// Payment details without a signature are a forgery.
				return payment.Return{}, fmt.Errorf("alipay return: unsigned %s: %w", k, payment.ErrBadSignature)
			}
		}
		return payment.Return{Cancelled: v.Get(QuitParam) == "1"}, nil
	}
	if err := p.verify(ctx, v); err != nil {
		return payment.Return{}, fmt.Errorf("alipay return: %w", err)
	}
	if m := v.Get("method"); m != returnPage && m != returnWap {
		return payment.Return{}, fmt.Errorf("alipay return: method %q: %w", m, payment.ErrMalformed)
	}
	if !outTradeNoRE.MatchString(v.Get("out_trade_no")) {
		return payment.Return{}, fmt.Errorf("alipay return: out_trade_no: %w", payment.ErrMalformed)
	}
	return payment.Return{OutTradeNo: v.Get("out_trade_no")}, nil
}

// verify checks a notification or return the way Alipay documents it, and
// fails closed: one value per parameter, sign_type RSA2, the signature over
// every parameter but sign and sign_type, then our app_id and seller_id.
func (p *Provider) verify(ctx context.Context, v url.Values) error {
	for k, vs := range v {
		if len(vs) != 1 {
			return fmt.Errorf("parameter %q repeated: %w", k, payment.ErrMalformed)
		}
	}
	if v.Get("sign") == "" {
		return fmt.Errorf("no sign: %w", payment.ErrBadSignature)
	}
	if t := v.Get("sign_type"); t != "RSA2" {
		return fmt.Errorf("sign_type %q: %w", t, payment.ErrBadSignature)
	}
	// We use public-key mode. Given an alipay_cert_sn the SDK would look
	// for that certificate and, not finding it, download it from the
	// gateway: a sender-chosen network call we refuse to make.
	if v.Has("alipay_cert_sn") {
		return fmt.Errorf("certificate-mode message: %w", payment.ErrBadSignature)
	}
	if err := p.client.VerifySign(ctx, v); err != nil {
		return fmt.Errorf("%v: %w", err, payment.ErrBadSignature)
	}
	if v.Get("app_id") != p.cfg.AppID {
		return fmt.Errorf("app_id %q: %w", v.Get("app_id"), payment.ErrWrongMerchant)
	}
	if a := v.Get("auth_app_id"); a != "" && a != p.cfg.AppID {
		return fmt.Errorf("auth_app_id %q: %w", a, payment.ErrWrongMerchant)
	}
	if v.Get("seller_id") != p.cfg.SellerID {
		return fmt.Errorf("seller_id %q: %w", v.Get("seller_id"), payment.ErrWrongMerchant)
	}
	return nil
}

// decodeTrade maps what Alipay says about a trade to a Result. Domestic
// Alipay states no currency for CNY trades, so Currency is "CNY".
func decodeTrade(outTradeNo, tradeNo string, st sdk.TradeStatus, total, paidAt string) (payment.Result, error) {
	r := payment.Result{OutTradeNo: outTradeNo, TradeNo: tradeNo, Currency: "CNY"}
	if !outTradeNoRE.MatchString(outTradeNo) {
		return r, fmt.Errorf("out_trade_no %q: %w", outTradeNo, payment.ErrMalformed)
	}
	amount, err := payment.YuanToFen(total)
	if err != nil {
		return r, fmt.Errorf("total_amount %q: %w", total, payment.ErrMalformed)
	}
	r.Amount = amount
	switch st {
	case sdk.TradeStatusSuccess:
		// Paid, still refundable: a TRADE_FINISHED follows when the refund
		// window ends, so this answer is not final.
		r.Status = payment.StatusPaid
	case sdk.TradeStatusFinished:
		r.Status, r.Final = payment.StatusPaid, true
	case sdk.TradeStatusWaitBuyerPay:
		r.Status = payment.StatusPending
	case sdk.TradeStatusClosed:
		// Closed unpaid (timeout, alipay.trade.close) or fully refunded.
		r.Status, r.Final = payment.StatusClosed, true
	default:
		return r, fmt.Errorf("trade_status %q: %w", st, payment.ErrMalformed)
	}
	if r.Status == payment.StatusPaid && paidAt != "" {
		if t, err := time.ParseInLocation(timeLayout, paidAt, beijing); err == nil {
			r.PaidAt = t
		}
	}
	return r, nil
}
