package unionpay

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"

	"im2pay/payment"
)

// Refunds are 退货 (txnType 04) on backTransReq.do, PROVIDERS.md §3.4
// (UnionPay's demo Form_6_4_Refund): a transaction of its own with a new
// orderId and txnTime, naming the consumption by origQryId. The synchronous
// answer only says whether UnionPay accepted it; the outcome is the back
// notification's respCode or the query's origRespCode (§3.3, §3.1).

const (
	txnRefund    = "04"
	txnSubRefund = "00"
)

// refundNoRE is ACP's orderId: 8–32 letters or digits, no '-' or '_' (§3.4).
var refundNoRE = regexp.MustCompile(`^[0-9A-Za-z]{8,32}$`)

var _ payment.Refunder = (*Provider)(nil)

// Refund sends the 04 transaction. orderId is r.RequestNo and txnTime is
// r.RequestedAt in Beijing time, both kept across retries, so a retry is
// the same transaction: UnionPay refuses a second one with 12 (重复交易),
// which here means our earlier send arrived, and the query says how it
// went. reqReserved carries our order number: UnionPay echoes it in the
// refund's notification and query answers (§3.4), which is how a refund
// notification names our order (and how ours differ from refunds made in
// the merchant portal, which have none).
func (p *Provider) Refund(ctx context.Context, r payment.RefundRequest) (payment.RefundResult, error) {
	if err := p.checkRefund(r); err != nil {
		return payment.RefundResult{}, err
	}
	if p.cfg.BackTransURL == "" {
		return payment.RefundResult{}, errors.New("unionpay: refund needs back_trans_url in the config")
	}
	txnTime := r.RequestedAt.In(beijing).Format(timeLayout)
	f, err := p.call(ctx, p.cfg.BackTransURL, map[string]string{
		"version": version, "encoding": encoding, "signMethod": signMethod,
		"txnType": txnRefund, "txnSubType": txnSubRefund, "bizType": bizGateway, "channelType": "07",
		"accessType": accessDirect, "merId": p.cfg.MerID, "orderId": r.RequestNo, "txnTime": txnTime,
		"txnAmt": strconv.FormatInt(r.Amount, 10), "currencyCode": currencyCNY, "origQryId": r.TradeNo,
		"backUrl": r.NotifyURL, "reqReserved": r.OutTradeNo, "certId": p.certID,
	})
	if err != nil {
		return payment.RefundResult{}, fmt.Errorf("unionpay: refund %s of %s: %w", r.RequestNo, r.OutTradeNo, err)
	}
	code := f["respCode"]
	switch {
	case code == CodeSuccess:
		// Accepted (受理), not refunded: the notification or query decides.
		if o := f["orderId"]; o != "" && o != r.RequestNo {
			return payment.RefundResult{}, fmt.Errorf("unionpay: refund %s answered for %q: %w", r.RequestNo, o, payment.ErrMalformed)
		}
		return payment.RefundResult{OutTradeNo: r.OutTradeNo, RequestNo: r.RequestNo, RefundID: f["queryId"],
			Status: payment.RefundProcessing, Amount: r.Amount, Currency: "CNY"}, nil
	case code == "12":
		// 重复交易: this orderId was already sent (a retry after a lost
		// answer); the query says what became of it.
		return p.QueryRefund(ctx, r)
	case code == "03" || code == "04" || code == "05":
		// Timeout / unknown / accepted but not confirmed: §3.4 says query.
		return payment.RefundResult{}, fmt.Errorf("unionpay: refund %s: respCode %s %s, outcome unknown", r.RequestNo, code, f["respMsg"])
	}
	if failure, ok := refundRefusals[code]; ok {
		return payment.RefundResult{}, &payment.RefundRefusal{Failure: failure, Code: code}
	}
	// 01 (failed), 02 (system closed), 06 (busy), 99 and codes we do not
	// know: nothing says whether UnionPay kept the transaction, so the
	// outcome is unknown and the query decides (34 there: never accepted).
	return payment.RefundResult{}, fmt.Errorf("unionpay: refund %s: respCode %s %s", r.RequestNo, code, f["respMsg"])
}

// refundRefusals are the synchronous respCodes that refuse a 04 for good.
// The two-digit codes are the third-party enumeration of PROVIDERS.md §3.2
// (unverified against UnionPay's own 附录). None of the public material
// names a code for "amount over what is left" or "past the 11-month
// window" (§3.4 states the window, not its code); we read 36 (与原交易信息
// 不符) as the former and 35 (原交易不存在或状态不正确) as the latter and
// as "no such paid consumption", and 45 (原交易已被退货或撤销) as fully
// refunded. The sandbox answers with these codes.
var refundRefusals = map[string]payment.RefundFailure{
	"35": payment.RefundNotAllowed,      // original missing, in the wrong state, or too old
	"36": payment.RefundAlreadyRefunded, // differs from the original: more than is left to refund
	"45": payment.RefundAlreadyRefunded, // original already refunded or revoked
	"31": payment.RefundNotAllowed,      // merchant state (e.g. refunds not enabled)
	"32": payment.RefundNotAllowed,      // no permission for this transaction
	"38": payment.RefundNotAllowed,      // risk control
	"10": payment.RefundNotAllowed,      // format error: the same request never succeeds
	"11": payment.RefundNotAllowed,      // our signature refused: likewise
	"13": payment.RefundNotAllowed,      // missing elements: likewise
}

// QueryRefund asks queryTrans.do about the 04 transaction (orderId =
// RequestNo, txnTime = RequestedAt): respCode 00 puts the refund's result
// in origRespCode (00/A6 succeeded; 03/04/05 processing; anything else
// failed, §3.1), 34 is ErrRefundNotFound, 03/04/05 mean the query itself
// timed out (an error: ask again).
func (p *Provider) QueryRefund(ctx context.Context, r payment.RefundRequest) (payment.RefundResult, error) {
	if err := p.checkRefund(r); err != nil {
		return payment.RefundResult{}, err
	}
	f, err := p.call(ctx, p.cfg.QueryURL, map[string]string{
		"version": version, "encoding": encoding, "signMethod": signMethod,
		"txnType": txnQuery, "txnSubType": "00", "bizType": "000000", "accessType": accessDirect,
		"merId": p.cfg.MerID, "orderId": r.RequestNo, "txnTime": r.RequestedAt.In(beijing).Format(timeLayout),
		"certId": p.certID,
	})
	if err != nil {
		return payment.RefundResult{}, fmt.Errorf("unionpay: query refund %s: %w", r.RequestNo, err)
	}
	switch code := f["respCode"]; code {
	case CodeSuccess:
	case CodeNoSuchTxn:
		if f["merId"] != p.cfg.MerID || f["orderId"] != r.RequestNo {
			return payment.RefundResult{}, fmt.Errorf("unionpay: 34 about %q/%q: %w", f["merId"], f["orderId"], payment.ErrWrongMerchant)
		}
		return payment.RefundResult{}, fmt.Errorf("unionpay: refund %s: %w", r.RequestNo, payment.ErrRefundNotFound)
	default:
		return payment.RefundResult{}, fmt.Errorf("unionpay: query refund %s: respCode %s %s", r.RequestNo, code, f["respMsg"])
	}
	res, err := p.decodeRefund(f, "origRespCode")
	if err != nil {
		return payment.RefundResult{}, err
	}
	// The answer must be about this refund of this consumption.
	if res.RequestNo != r.RequestNo || f["origQryId"] != "" && f["origQryId"] != r.TradeNo ||
		res.OutTradeNo != "" && res.OutTradeNo != r.OutTradeNo {
		return payment.RefundResult{}, fmt.Errorf("unionpay: refund %s answered as %q of %q/%q: %w",
			r.RequestNo, res.RequestNo, f["origQryId"], res.OutTradeNo, payment.ErrWrongMerchant)
	}
	res.OutTradeNo, res.External = r.OutTradeNo, false
	return res, nil
}

func (p *Provider) checkRefund(r payment.RefundRequest) error {
	switch {
	case !outTradeNoRE.MatchString(r.OutTradeNo), !refundNoRE.MatchString(r.RequestNo), r.TradeNo == "",
		len(r.TradeNo) > 32, r.Amount <= 0, r.RequestedAt.IsZero():
		return fmt.Errorf("unionpay: refund %q of %q (%q, %d fen): %w", r.RequestNo, r.OutTradeNo, r.TradeNo, r.Amount, payment.ErrMalformed)
	case r.Currency != "" && r.Currency != "CNY":
		return fmt.Errorf("unionpay: refund currency %q: only CNY: %w", r.Currency, payment.ErrMalformed)
	case !httpURL(r.NotifyURL):
		return fmt.Errorf("unionpay: refund %s needs an http(s) NotifyURL (backUrl): %w", r.RequestNo, payment.ErrMalformed)
	}
	return nil
}

// decodeRefund reads a verified 04 transaction (its notification, or a
// query answer with codeField origRespCode).
func (p *Provider) decodeRefund(f map[string]string, codeField string) (payment.RefundResult, error) {
	if f["txnType"] != txnRefund {
		return payment.RefundResult{}, fmt.Errorf("unionpay: expected a refund, got txnType %q: %w", f["txnType"], payment.ErrMalformed)
	}
	if !refundNoRE.MatchString(f["orderId"]) {
		return payment.RefundResult{}, fmt.Errorf("unionpay: refund orderId %q: %w", f["orderId"], payment.ErrMalformed)
	}
	amount, err := parseFen(f["txnAmt"])
	if err != nil {
		return payment.RefundResult{}, fmt.Errorf("unionpay: refund txnAmt %q: %w", f["txnAmt"], payment.ErrMalformed)
	}
	code := f[codeField]
	if code == "" {
		return payment.RefundResult{}, fmt.Errorf("unionpay: refund without %s: %w", codeField, payment.ErrMalformed)
	}
	cur := f["currencyCode"]
	if cur == "" {
		cur = currencyCNY // ACP answers in CNY when it leaves the code out
	}
	res := payment.RefundResult{RequestNo: f["orderId"], RefundID: f["queryId"], Amount: amount,
		Currency: currencyName(cur), Detail: code + " " + f[codeField[:len(codeField)-4]+"Msg"]}
	if outTradeNoRE.MatchString(f["reqReserved"]) {
		res.OutTradeNo = f["reqReserved"]
	} else {
		// We send reqReserved with every refund; one without it was made
		// outside the app (商户服务平台). Its orderId is the portal's.
		res.External = true
	}
	switch code {
	case "00", "A6":
		res.Status = payment.RefundSucceeded
		res.At = paidAt(f["txnTime"], f["traceTime"])
	case "03", "04", "05":
		res.Status = payment.RefundProcessing
	default:
		res.Status, res.Failure = payment.RefundFailed, refundFailureFor(code)
	}
	return res, nil
}

// refundFailureFor names why a 04 failed after it was accepted. No public
// material lists the asynchronous failure codes of 退货 (PROVIDERS.md §3.4
// is silent); these follow the meanings of §3.2.
func refundFailureFor(code string) payment.RefundFailure {
	switch code {
	case "45", "36":
		return payment.RefundAlreadyRefunded
	case "61", "62", "63", "73":
		return payment.RefundAccountClosed // the card can no longer receive money
	}
	return payment.RefundNotAllowed
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
