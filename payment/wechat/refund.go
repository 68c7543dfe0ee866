package wechat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"

	"im2pay/payment"
)

// Refund statuses (status in the Refund answer, refund_status in the
// notification), PROVIDERS.md §2.4 (WXGO refunddomestic Status.md).
const (
	RefundStatusSuccess    = "SUCCESS"
	RefundStatusProcessing = "PROCESSING"
	RefundStatusClosed     = "CLOSED"
	RefundStatusAbnormal   = "ABNORMAL"
)

// Refund notification events, PROVIDERS.md §2.4 (pay.weixin.qq.com/doc/v3/merchant/4012082053).
const (
	EventRefundSuccess  = "REFUND.SUCCESS"
	EventRefundAbnormal = "REFUND.ABNORMAL"
	EventRefundClosed   = "REFUND.CLOSED"
)

// Refund error codes. The list is the one the official Go SDK documents
// on RefundsApiService.Create (wechatpay-go v0.2.21,
// services/refunddomestic/api_refunds.go): PROVIDERS.md §2.4 could only
// name v2's NOTENOUGH and left the v3 code unverified; the SDK's table
// names NOT_ENOUGH (商户可用退款余额不足, "此状态代表退款申请失败"). The HTTP
// status that comes with each code is not in that table; we read the code.
const (
	CodeNotEnough           = "NOT_ENOUGH"            // the merchant's refundable balance is short
	CodeUserAccountAbnormal = "USER_ACCOUNT_ABNORMAL" // the payer's account was closed
	CodeInvalidRequest      = "INVALID_REQUEST"       // well-formed, against a business rule
	CodeNoAuth              = "NO_AUTH"               // no right to refund this order
	CodeParamError          = "PARAM_ERROR"
	CodeResourceNotExists   = "RESOURCE_NOT_EXISTS" // unknown or unpaid order (create), unknown refund (query)
	CodeFrequencyLimited    = "FREQUENCY_LIMITED"   // not accepted: slow down and retry the same number
	CodeSystemError         = "SYSTEM_ERROR"        // retry the same number
)

// Messages the sandbox puts on INVALID_REQUEST answers, which say which
// rule a refund broke. WeChat's own texts are not a documented contract
// (unverified), so the client only refines the failure with them and
// treats any other INVALID_REQUEST as RefundNotAllowed, still definite.
const (
	MsgRefundWindowPassed = "交易时间超过一年的订单无法提交退款"
	MsgRefundExceeds      = "申请退款金额超过订单可退金额"
	MsgRefundTooMany      = "退款次数超过限制"
)

// reasonMax is the length of reason, in characters (PROVIDERS.md §2.4: ≤80).
const reasonMax = 80

// Refund asks WeChat to refund r (POST /v3/refund/domestic/refunds,
// PROVIDERS.md §2.4). The answer only means accepted: PROCESSING is the
// usual one, the outcome follows by REFUND.* notification or QueryRefund.
// The same out_refund_no refunds once, so a retry after a lost answer
// reuses r.RequestNo. A definite refusal is a *payment.RefundRefusal;
// FREQUENCY_LIMITED, SYSTEM_ERROR, 5xx and transport failures are plain
// errors (outcome unknown: query, then retry with the same number).
func (p *Provider) Refund(ctx context.Context, r payment.RefundRequest) (payment.RefundResult, error) {
	if err := checkRefund(r); err != nil {
		return payment.RefundResult{}, err
	}
	req := refunddomestic.CreateRequest{
		OutRefundNo: core.String(r.RequestNo),
		Amount: &refunddomestic.AmountReq{Refund: core.Int64(r.Amount), Total: core.Int64(r.Total),
			Currency: core.String("CNY")},
	}
	// transaction_id or out_trade_no, not both: WeChat takes either.
	if r.TradeNo != "" {
		req.TransactionId = core.String(r.TradeNo)
	} else {
		req.OutTradeNo = core.String(r.OutTradeNo)
	}
	if reason := truncateRunes(strings.TrimSpace(r.Reason), reasonMax); reason != "" {
		req.Reason = core.String(reason)
	}
	// notify_url overrides the refund URL set on the merchant platform
	// (§2.4); without one WeChat notifies the platform's.
	if r.NotifyURL != "" {
		req.NotifyUrl = core.String(r.NotifyURL)
	}
	resp, _, err := (&refunddomestic.RefundsApiService{Client: p.client}).Create(ctx, req)
	if err != nil {
		return payment.RefundResult{}, p.refundErr(ctx, "refund "+r.RequestNo, err, false)
	}
	return p.refundResult(resp, r)
}

// QueryRefund asks WeChat about the refund r.RequestNo
// (GET /v3/refund/domestic/refunds/{out_refund_no}); RESOURCE_NOT_EXISTS
// is payment.ErrRefundNotFound: WeChat never accepted it.
func (p *Provider) QueryRefund(ctx context.Context, r payment.RefundRequest) (payment.RefundResult, error) {
	if !outTradeNoRE.MatchString(r.RequestNo) {
		return payment.RefundResult{}, fmt.Errorf("wechat: query refund %q: not a [0-9A-Za-z]{16,32} number: %w",
			r.RequestNo, payment.ErrMalformed)
	}
	resp, _, err := (&refunddomestic.RefundsApiService{Client: p.client}).QueryByOutRefundNo(ctx,
		refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String(r.RequestNo)})
	if err != nil {
		return payment.RefundResult{}, p.refundErr(ctx, "query refund "+r.RequestNo, err, true)
	}
	return p.refundResult(resp, r)
}

func checkRefund(r payment.RefundRequest) error {
	switch {
	case !outTradeNoRE.MatchString(r.RequestNo):
		return fmt.Errorf("wechat: refund %q: not a [0-9A-Za-z]{16,32} number: %w", r.RequestNo, payment.ErrMalformed)
	case r.TradeNo == "" && !outTradeNoRE.MatchString(r.OutTradeNo):
		return fmt.Errorf("wechat: refund %s: no transaction_id and order number %q: %w", r.RequestNo, r.OutTradeNo, payment.ErrMalformed)
	case r.Amount <= 0 || r.Total <= 0 || r.Amount > r.Total:
		return fmt.Errorf("wechat: refund %s: amount %d of total %d: %w", r.RequestNo, r.Amount, r.Total, payment.ErrMalformed)
	case r.Currency != "CNY":
		// amount.currency "目前只支持人民币：CNY" (WXGO AmountReq).
		return fmt.Errorf("wechat: refund %s in %q: WeChat refunds CNY only: %w", r.RequestNo, r.Currency, payment.ErrMalformed)
	}
	return nil
}

// refundResult checks that a verified answer is about the refund we asked
// for: a refund number reused with other parameters gets the first
// refund back from WeChat ("同一退款单号多次请求只退一笔"), and we must not
// read it as this one.
func (p *Provider) refundResult(resp *refunddomestic.Refund, r payment.RefundRequest) (payment.RefundResult, error) {
	if resp == nil {
		return payment.RefundResult{}, fmt.Errorf("wechat: refund %s: empty answer: %w", r.RequestNo, payment.ErrMalformed)
	}
	var status string
	if resp.Status != nil {
		status = string(*resp.Status)
	}
	a := refundAnswer{
		outTradeNo: str(resp.OutTradeNo), transactionID: str(resp.TransactionId), outRefundNo: str(resp.OutRefundNo),
		refundID: str(resp.RefundId), status: status,
	}
	if resp.Amount != nil {
		if resp.Amount.Refund != nil {
			a.amount = *resp.Amount.Refund
		}
		a.currency = str(resp.Amount.Currency)
	}
	if resp.SuccessTime != nil {
		a.at = *resp.SuccessTime
	} else if resp.CreateTime != nil {
		a.at = *resp.CreateTime
	}
	res, err := a.result()
	if err != nil {
		return payment.RefundResult{}, err
	}
	if res.RequestNo != r.RequestNo || (r.OutTradeNo != "" && res.OutTradeNo != r.OutTradeNo) ||
		(r.TradeNo != "" && a.transactionID != r.TradeNo) {
		return payment.RefundResult{}, fmt.Errorf("wechat: asked about refund %s of %s, answer names %s of %s: %w",
			r.RequestNo, r.OutTradeNo, res.RequestNo, res.OutTradeNo, payment.ErrWrongMerchant)
	}
	// Amount is checked for Refund and for a query that names it: an
	// answer about another amount is not an answer about this request.
	if r.Amount != 0 && res.Amount != r.Amount {
		return payment.RefundResult{}, fmt.Errorf("wechat: refund %s: asked %d, WeChat holds %d under this number: %w",
			r.RequestNo, r.Amount, res.Amount, payment.ErrMalformed)
	}
	return res, nil
}

// refundAnswer is what the query answer and the notification's plaintext
// share.
type refundAnswer struct {
	outTradeNo, transactionID, outRefundNo, refundID, status, currency string
	amount                                                             int64
	at                                                                 time.Time
}

// result maps WeChat's refund status to ours (PROVIDERS.md §2.4):
//   - SUCCESS: the money went back.
//   - PROCESSING: accepted, outcome to come.
//   - CLOSED: failed for good ("resubmit with a new out_refund_no"), e.g.
//     PROCESSING for more than 7 days for lack of merchant balance; so
//     RefundFailed with RefundNoMerchantFunds, the cause the docs name
//     (WeChat's answer carries no reason field).
//   - ABNORMAL: the payer's card was cancelled or frozen. The docs say it
//     is NOT final: someone settles it on the merchant platform or via
//     apply-abnormal-refund, after which it succeeds. So it stays
//     RefundProcessing (the money stays in flight, never reversed to the
//     wallet while WeChat may still pay it out), with Detail "ABNORMAL"
//     for finance to act on (§2.8: "ABNORMAL needs people or the API").
func (a refundAnswer) result() (payment.RefundResult, error) {
	if a.outRefundNo == "" || a.outTradeNo == "" || a.amount <= 0 {
		return payment.RefundResult{}, fmt.Errorf("wechat: refund answer without numbers or amount: %w", payment.ErrMalformed)
	}
	r := payment.RefundResult{OutTradeNo: a.outTradeNo, RequestNo: a.outRefundNo, RefundID: a.refundID,
		Amount: a.amount, Currency: a.currency, At: a.at, Detail: a.status}
	if r.Currency == "" {
		// The notification's amount has no currency (§2.4 lists total,
		// refund, payer_total, payer_refund); WeChat refunds CNY only.
		r.Currency = "CNY"
	}
	switch a.status {
	case RefundStatusSuccess:
		r.Status = payment.RefundSucceeded
	case RefundStatusProcessing, RefundStatusAbnormal:
		r.Status = payment.RefundProcessing
	case RefundStatusClosed:
		r.Status, r.Failure = payment.RefundFailed, payment.RefundNoMerchantFunds
	default:
		return payment.RefundResult{}, fmt.Errorf("wechat: refund %s: unknown status %q: %w", a.outRefundNo, a.status, payment.ErrMalformed)
	}
	return r, nil
}

// refundErr turns WeChat's error answers to refund calls into ours. A code
// is acted on only when the error answer carries a valid WeChat Pay
// signature (the SDK verifies 2xx answers only): an unsigned "no" could be
// anyone's, and reading it as definite would reverse a refund WeChat may
// have made. Everything not listed stays an error of unknown outcome.
func (p *Provider) refundErr(ctx context.Context, op string, err error, query bool) error {
	var ae *core.APIError
	if !errors.As(err, &ae) {
		return fmt.Errorf("wechat: %s: %w", op, err)
	}
	var meaning error
	switch {
	case query && ae.Code == CodeResourceNotExists:
		meaning = payment.ErrRefundNotFound
	case !query:
		if f, ok := refusal(ae.Code, ae.Message); ok {
			meaning = &payment.RefundRefusal{Failure: f, Code: ae.Code}
		}
	}
	if meaning == nil {
		return fmt.Errorf("wechat: %s: %w", op, err)
	}
	res := &http.Response{StatusCode: ae.StatusCode, Header: ae.Header, Body: io.NopCloser(strings.NewReader(ae.Body))}
	if verr := p.checker.Validate(ctx, res); verr != nil {
		return fmt.Errorf("wechat: %s: unsigned %s answer: %w: %v", op, ae.Code, payment.ErrBadSignature, verr)
	}
	return fmt.Errorf("wechat: %s: %w: %w", op, meaning, err)
}

// refusal says whether a refund error code is definite: the SDK's table
// (see the Code constants) says of NOT_ENOUGH, USER_ACCOUNT_ABNORMAL,
// INVALID_REQUEST and NO_AUTH "此状态代表退款申请失败"; RESOURCE_NOT_EXISTS
// (no such paid order) and PARAM_ERROR cannot succeed on a retry either.
// FREQUENCY_LIMITED ("该笔退款未受理") and SYSTEM_ERROR ask for the same
// request again, so they are not refusals.
func refusal(code, msg string) (payment.RefundFailure, bool) {
	switch code {
	case CodeNotEnough:
		return payment.RefundNoMerchantFunds, true
	case CodeUserAccountAbnormal:
		return payment.RefundAccountClosed, true
	case CodeNoAuth, CodeParamError, CodeResourceNotExists:
		return payment.RefundNotAllowed, true
	case CodeInvalidRequest:
		switch {
		case strings.Contains(msg, MsgRefundWindowPassed):
			return payment.RefundWindowPassed, true
		case strings.Contains(msg, MsgRefundExceeds):
			return payment.RefundAlreadyRefunded, true
		}
		return payment.RefundNotAllowed, true
	}
	return "", false
}

// truncateRunes cuts s to at most n characters.
func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

var _ payment.Refunder = (*Provider)(nil)
