package unionpay

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"im2pay/payment"
)

// ParseNotification verifies a back notification (后台通知): UnionPay POSTs
// the signed result as an application/x-www-form-urlencoded body to backUrl.
// ACP notifications carry no delivery id; EventID is the queryId, UnionPay's
// serial number of the transaction.
func (p *Provider) ParseNotification(_ context.Context, _ payment.Header, body []byte) (payment.Notification, error) {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return payment.Notification{}, fmt.Errorf("unionpay: notification body: %v: %w", err, payment.ErrMalformed)
	}
	f, err := single(v)
	if err != nil {
		return payment.Notification{}, err
	}
	if f["txnType"] == txnRefund {
		return p.refundNotification(f)
	}
	res, err := p.decode(f, "respCode")
	if err != nil {
		return payment.Notification{}, err
	}
	return payment.Notification{Result: res, EventID: f["queryId"]}, nil
}

// refundNotification reads the back notification of a 04 transaction: ours
// (reqReserved names our order) or one made in the merchant portal. It is
// never a payment: Result carries only the order (when named) and the
// consumption's queryId (origQryId) as TradeNo, by which the caller finds
// the order of a portal refund.
func (p *Provider) refundNotification(f map[string]string) (payment.Notification, error) {
	if err := p.verify(f); err != nil {
		return payment.Notification{}, err
	}
	if f["merId"] != p.cfg.MerID {
		return payment.Notification{}, fmt.Errorf("unionpay: refund notice for merId %q: %w", f["merId"], payment.ErrWrongMerchant)
	}
	if f["origQryId"] == "" {
		return payment.Notification{}, fmt.Errorf("unionpay: refund notice without origQryId: %w", payment.ErrMalformed)
	}
	rr, err := p.decodeRefund(f, "respCode")
	if err != nil {
		return payment.Notification{}, err
	}
	return payment.Notification{Result: payment.Result{OutTradeNo: rr.OutTradeNo, TradeNo: f["origQryId"]},
		EventID: f["queryId"], Refund: &rr}, nil
}

// Ack answers a back notification. UnionPay counts HTTP 200 as received
// and resends on anything else, so a refusal is a 500.
func (p *Provider) Ack(ok bool) payment.Ack {
	if ok {
		return payment.Ack{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8", Body: []byte("ok")}
	}
	return payment.Ack{Status: http.StatusInternalServerError, ContentType: "text/plain; charset=utf-8", Body: []byte("fail")}
}

// ParseReturn verifies the front notification (前台通知): the person's
// browser POSTs the same signed fields as the back notification to frontUrl.
// The fields are read from the POST form; when the form carries no
// signature they are read from the query string instead (the sandbox's
// Simulate hands out frontUrl with the signed fields in the query, and the
// check is the same either way). For that to verify, frontUrl itself must
// have no query string of its own.
func (p *Provider) ParseReturn(_ context.Context, query url.Values, form url.Values) (payment.Return, error) {
	src := form
	if len(form["signature"]) == 0 {
		src = query
	}
	f, err := single(src)
	if err != nil {
		return payment.Return{}, err
	}
	res, err := p.decode(f, "respCode")
	if err != nil {
		return payment.Return{}, err
	}
	return payment.Return{OutTradeNo: res.OutTradeNo, Cancelled: res.Reason == payment.ReasonCancelled}, nil
}

// decode verifies f and reads the consumption result it states; codeField
// is respCode in notifications and origRespCode in query answers. The
// amount and currency are returned as UnionPay stated them, for the caller
// to compare with the order.
func (p *Provider) decode(f map[string]string, codeField string) (payment.Result, error) {
	if err := p.verify(f); err != nil {
		return payment.Result{}, err
	}
	if f["merId"] != p.cfg.MerID {
		return payment.Result{}, fmt.Errorf("unionpay: merId %q: %w", f["merId"], payment.ErrWrongMerchant)
	}
	if f["txnType"] != txnConsume || f["txnSubType"] != "01" {
		// A genuine refund (04) or reversal (31) notice: not payment state.
		return payment.Result{}, fmt.Errorf("unionpay: txnType %q/%q: %w", f["txnType"], f["txnSubType"], payment.ErrIgnored)
	}
	if !outTradeNoRE.MatchString(f["orderId"]) {
		return payment.Result{}, fmt.Errorf("unionpay: orderId %q: %w", f["orderId"], payment.ErrMalformed)
	}
	amount, err := parseFen(f["txnAmt"])
	if err != nil || f["currencyCode"] == "" {
		return payment.Result{}, fmt.Errorf("unionpay: txnAmt %q / currencyCode %q: %w",
			f["txnAmt"], f["currencyCode"], payment.ErrMalformed)
	}
	res := payment.Result{OutTradeNo: f["orderId"], Amount: amount, Currency: currencyName(f["currencyCode"])}
	code := f[codeField]
	if code == "" {
		return payment.Result{}, fmt.Errorf("unionpay: no %s: %w", codeField, payment.ErrMalformed)
	}
	res.Status, res.Reason, res.Final = StatusFor(code)
	if res.Status == payment.StatusPaid {
		if f["queryId"] == "" {
			return payment.Result{}, fmt.Errorf("unionpay: paid without queryId: %w", payment.ErrMalformed)
		}
		res.TradeNo = f["queryId"]
		res.PaidAt = paidAt(f["txnTime"], f["traceTime"])
	}
	return res, nil
}

// parseFen reads txnAmt: an integer number of fen, digits only.
func parseFen(s string) (int64, error) {
	if s == "" || len(s) > 12 {
		return 0, payment.ErrMalformed
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, payment.ErrMalformed
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, payment.ErrMalformed
	}
	return n, nil
}

// currencyName maps ISO 4217 numeric codes to letters for the ones we take;
// any other code is returned as is, so that it never equals our "CNY".
func currencyName(code string) string {
	if code == currencyCNY {
		return "CNY"
	}
	return code
}

// paidAt reads traceTime (MMDDhhmmss, Beijing time, the moment the system
// trace number was assigned) in the year of txnTime, moving to the next
// year for a payment made across New Year. Zero when either is unreadable.
func paidAt(txnTime, traceTime string) time.Time {
	ordered, err := time.ParseInLocation(timeLayout, txnTime, beijing)
	if err != nil || len(traceTime) != 10 {
		return time.Time{}
	}
	t, err := time.ParseInLocation(timeLayout, strconv.Itoa(ordered.Year())+traceTime, beijing)
	if err != nil {
		return time.Time{}
	}
	if t.Before(ordered.AddDate(0, 0, -1)) {
		t = t.AddDate(1, 0, 0)
	}
	return t
}
