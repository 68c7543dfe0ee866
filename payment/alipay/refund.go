package alipay

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	sdk "github.com/smartwalle/alipay/v3"

	"im2pay/payment"
)

var _ payment.Refunder = (*Provider)(nil)

// refundStatusSuccess is fastpay.refund.query's refund_status of a refund
// done; any other answer (the field missing) means not received or failed
// (PROVIDERS.md §1.4).
const refundStatusSuccess = "REFUND_SUCCESS"

// refusals maps the sub-codes of alipay.trade.refund that are a definite
// "no" (nothing refunded) to our terms (PROVIDERS.md §1.4, the sub-code list
// of fs:"ACQ.TRADE_STATUS_ERROR"). ACQ.SYSTEM_ERROR is not here: Alipay
// asks for a retry with the same parameters, so its outcome is unknown.
// Nor is ACQ.DISCORDANT_REPEAT_REQUEST: the out_request_no was used
// before, and that earlier refund may have moved money.
var refusals = map[string]payment.RefundFailure{
	"ACQ.SELLER_BALANCE_NOT_ENOUGH":   payment.RefundNoMerchantFunds,
	"ACQ.TRADE_HAS_FINISHED":          payment.RefundWindowPassed,
	"ACQ.REASON_TRADE_REFUND_FEE_ERR": payment.RefundAlreadyRefunded,
	"ACQ.REFUND_AMT_NOT_EQUAL_TOTAL":  payment.RefundAlreadyRefunded,
	"ACQ.TRADE_NOT_ALLOW_REFUND":      payment.RefundNotAllowed,
	"ACQ.REASON_TRADE_BEEN_FREEZEN":   payment.RefundNotAllowed,
	"ACQ.TRADE_STATUS_ERROR":          payment.RefundNotAllowed,
	"ACQ.TRADE_NOT_EXIST":             payment.RefundNotAllowed,
	"ACQ.INVALID_PARAMETER":           payment.RefundNotAllowed,
}

var requestNoRE = regexp.MustCompile(`^[0-9A-Za-z]{16,32}$`)

// Refund calls alipay.trade.refund with r.RequestNo as out_request_no, so a
// retry refunds once. Only fund_change=Y is a refund done now
// (developer.aliyun.com/article/707647); a used out_request_no answers
// fund_change=N (PROVIDERS.md §1.4), which says no new money moved, not
// whether the first call did: that is asked of fastpay.refund.query.
func (p *Provider) Refund(ctx context.Context, r payment.RefundRequest) (payment.RefundResult, error) {
	const method = "alipay.trade.refund"
	if r.Amount <= 0 || !requestNoRE.MatchString(r.RequestNo) || r.Currency != "CNY" {
		return payment.RefundResult{}, &payment.RefundRefusal{Failure: payment.RefundNotAllowed, Code: "im2pay.invalid_refund_request"}
	}
	rsp, err := p.client.TradeRefund(ctx, sdk.TradeRefund{OutTradeNo: r.OutTradeNo, RefundAmount: payment.FenToYuan(r.Amount),
		OutRequestNo: r.RequestNo, RefundReason: r.Reason})
	if err != nil || rsp == nil {
		return payment.RefundResult{}, apiError(method, err, sdk.Error{Code: "20000", SubMsg: "empty answer"})
	}
	if !rsp.Code.IsSuccess() {
		if f, ok := refusals[rsp.SubCode]; ok && rsp.Code == "40004" {
			return payment.RefundResult{}, &payment.RefundRefusal{Failure: f, Code: rsp.SubCode}
		}
		return payment.RefundResult{}, apiError(method, nil, rsp.Error)
	}
	total, err := payment.YuanToFen(rsp.RefundFee)
	if err != nil || rsp.OutTradeNo != r.OutTradeNo {
		return payment.RefundResult{}, fmt.Errorf("alipay: %s answer: %w", method, payment.ErrMalformed)
	}
	if rsp.FundChange != "Y" {
		// A repeat of this out_request_no: whether the first moved money is
		// the query's to say.
		res, err := p.QueryRefund(ctx, r)
		if errors.Is(err, payment.ErrRefundNotFound) {
			return payment.RefundResult{OutTradeNo: r.OutTradeNo, RequestNo: r.RequestNo, Status: payment.RefundProcessing,
				Currency: "CNY", Detail: "fund_change=N"}, nil
		}
		return res, err
	}
	return payment.RefundResult{OutTradeNo: r.OutTradeNo, RequestNo: r.RequestNo, RefundID: rsp.TradeNo + "-" + r.RequestNo,
		Status: payment.RefundSucceeded, Amount: r.Amount, Currency: "CNY", RefundedTotal: total, At: p.clock(),
		Detail: "fund_change=Y"}, nil
}

// QueryRefund calls alipay.trade.fastpay.refund.query. REFUND_SUCCESS is a
// refund done; an answer without it means not received or failed
// (PROVIDERS.md §1.4), which is ErrRefundNotFound: the caller sends the
// refund again under the same out_request_no, and Alipay either refunds it
// once or refuses it definitely. Alipay advises querying ≥10 s after the
// refund; the caller's schedule is slower than that.
func (p *Provider) QueryRefund(ctx context.Context, r payment.RefundRequest) (payment.RefundResult, error) {
	const method = "alipay.trade.fastpay.refund.query"
	rsp, err := p.client.TradeFastPayRefundQuery(ctx, sdk.TradeFastPayRefundQuery{OutTradeNo: r.OutTradeNo,
		OutRequestNo: r.RequestNo, QueryOptions: []string{"gmt_refund_pay"}})
	if err != nil || rsp == nil {
		return payment.RefundResult{}, apiError(method, err, sdk.Error{Code: "20000", SubMsg: "empty answer"})
	}
	switch {
	case !rsp.Code.IsSuccess() && rsp.SubCode == subTradeNotExist:
		return payment.RefundResult{}, fmt.Errorf("alipay: %s %s: %w", method, r.RequestNo, payment.ErrRefundNotFound)
	case !rsp.Code.IsSuccess():
		return payment.RefundResult{}, apiError(method, nil, rsp.Error)
	case rsp.RefundStatus != refundStatusSuccess:
		return payment.RefundResult{}, fmt.Errorf("alipay: %s %s: no refund_status: %w", method, r.RequestNo, payment.ErrRefundNotFound)
	case rsp.OutRequestNo != "" && rsp.OutRequestNo != r.RequestNo:
		return payment.RefundResult{}, fmt.Errorf("alipay: %s answered about %q: %w", method, rsp.OutRequestNo, payment.ErrMalformed)
	}
	amount, err := payment.YuanToFen(rsp.RefundAmount)
	if err != nil {
		return payment.RefundResult{}, fmt.Errorf("alipay: %s refund_amount %q: %w", method, rsp.RefundAmount, payment.ErrMalformed)
	}
	res := payment.RefundResult{OutTradeNo: r.OutTradeNo, RequestNo: r.RequestNo, RefundID: rsp.TradeNo + "-" + r.RequestNo,
		Status: payment.RefundSucceeded, Amount: amount, Currency: "CNY", Detail: refundStatusSuccess}
	if t, err := time.ParseInLocation(timeLayout, rsp.GMTRefundPay, beijing); err == nil {
		res.At = t
	}
	return res, nil
}

// refundNotification reads the refund fields Alipay adds to a payment
// notification (PROVIDERS.md §1.1: out_biz_no, refund_fee = everything
// refunded so far, gmt_refund). Alipay notifies a refund only once money
// moved, so it is a success. Whether it is ours is for the caller: it
// knows its out_request_no values; out_biz_no of a portal refund is
// Alipay's own.
func refundNotification(v url.Values) (*payment.RefundResult, error) {
	total, err := payment.YuanToFen(v.Get("refund_fee"))
	if err != nil || total <= 0 {
		return nil, fmt.Errorf("refund_fee %q: %w", v.Get("refund_fee"), payment.ErrMalformed)
	}
	no := v.Get("out_biz_no")
	if no == "" || len(no) > 64 {
		return nil, fmt.Errorf("out_biz_no %q: %w", no, payment.ErrMalformed)
	}
	r := &payment.RefundResult{OutTradeNo: v.Get("out_trade_no"), RequestNo: no, RefundID: v.Get("trade_no") + "-" + no,
		Status: payment.RefundSucceeded, Currency: "CNY", RefundedTotal: total, Detail: "notify " + v.Get("trade_status")}
	// gmt_refund carries milliseconds ("2026-12-03 10:00:00.000").
	if t, err := time.ParseInLocation(timeLayout, strings.SplitN(v.Get("gmt_refund"), ".", 2)[0], beijing); err == nil {
		r.At = t
	}
	return r, nil
}
