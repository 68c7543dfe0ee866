package alipay

import (
	"context"
	"errors"
	"fmt"

	sdk "github.com/smartwalle/alipay/v3"

	"im2pay/payment"
)

// Sub-codes of Alipay's signed 40004 (Business Failed) answers that this
// package acts on.
const (
	subTradeNotExist = "ACQ.TRADE_NOT_EXIST"    // Alipay has no such trade (the person never reached the gateway)
	subStatusError   = "ACQ.TRADE_STATUS_ERROR" // the trade's state forbids the operation (close of a paid trade)
)

// failureReasons reads the sub_code of a signed 40004 answer about a trade
// whose payment was refused. The codes are Alipay's own (trade.pay / page
// cashier vocabulary); the sandbox answers trade.query with the first code of
// each group for the matching outcome:
//
//	ACQ.PAYMENT_AUTH_CODE_INVALID            ← wrong payment password, third try (wrong_details)
//	ACQ.PAYMENT_FAIL                         ← declined
//	ACQ.BUYER_BALANCE_NOT_ENOUGH             ← insufficient_funds
//	ACQ.BUYER_ENABLE_STATUS_FORBID           ← restricted
//	ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR ← over_limit (the buyer's daily limit)
//	ACQ.TOTAL_FEE_EXCEED                     ← over_limit (total_amount above 100000000.00 yuan)
//
// A cancellation has no code at Alipay: the trade stays WAIT_BUYER_PAY and
// the person comes back through quit_url (see ParseReturn).
var failureReasons = map[string]payment.Reason{
	"ACQ.PAYMENT_AUTH_CODE_INVALID":              payment.ReasonWrongDetails,
	"ACQ.PAYMENT_FAIL":                           payment.ReasonDeclined,
	"ACQ.PAYMENT_REQUEST_HAS_RISK":               payment.ReasonDeclined,
	"ACQ.NO_PAYMENT_INSTRUMENTS_AVAILABLE":       payment.ReasonDeclined,
	"ACQ.BUYER_BALANCE_NOT_ENOUGH":               payment.ReasonNoFunds,
	"ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH":      payment.ReasonNoFunds,
	"ACQ.BUYER_ENABLE_STATUS_FORBID":             payment.ReasonRestricted,
	"ACQ.ERROR_BUYER_CERTIFY_LEVEL_LIMIT":        payment.ReasonRestricted,
	"ACQ.ERROR_BALANCE_PAYMENT_DISABLE":          payment.ReasonRestricted,
	"ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR":   payment.ReasonOverLimit,
	"ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR": payment.ReasonOverLimit,
	"ACQ.TOTAL_FEE_EXCEED":                       payment.ReasonOverLimit,
	"ACQ.BEYOND_PAY_RESTRICTION":                 payment.ReasonOverLimit,
	"ACQ.BEYOND_PER_RECEIPT_RESTRICTION":         payment.ReasonOverLimit,
}

// Query asks alipay.trade.query about our order. The answer is signed; a
// trade Alipay does not know is ErrNotFound, a refused payment is
// StatusFailed with the reason its sub_code names.
func (p *Provider) Query(ctx context.Context, outTradeNo, _ string) (payment.Result, error) {
	const method = "alipay.trade.query"
	rsp, err := p.client.TradeQuery(ctx, sdk.TradeQuery{OutTradeNo: outTradeNo})
	if err != nil || rsp == nil {
		return payment.Result{}, apiError(method, err, sdk.Error{Code: "20000", SubMsg: "empty answer"})
	}
	if rsp.Code.IsSuccess() {
		if rsp.OutTradeNo != outTradeNo {
			return payment.Result{}, fmt.Errorf("alipay: %s answered about %q: %w", method, rsp.OutTradeNo, payment.ErrMalformed)
		}
		res, err := decodeTrade(rsp.OutTradeNo, rsp.TradeNo, rsp.TradeStatus, rsp.TotalAmount, rsp.SendPayDate)
		if err != nil {
			return res, fmt.Errorf("alipay: %s: %w", method, err)
		}
		if rsp.TransCurrency != "" {
			res.Currency = rsp.TransCurrency
		}
		return res, nil
	}
	if rsp.SubCode == subTradeNotExist {
		return payment.Result{OutTradeNo: outTradeNo}, fmt.Errorf("alipay: %s %s: %w", method, outTradeNo, payment.ErrNotFound)
	}
	if reason, ok := failureReasons[rsp.SubCode]; ok && rsp.Code == "40004" {
		res := payment.Result{OutTradeNo: outTradeNo, TradeNo: rsp.TradeNo, Status: payment.StatusFailed,
			Reason: reason, Currency: "CNY", Final: true}
		if rsp.TotalAmount != "" {
			if res.Amount, err = payment.YuanToFen(rsp.TotalAmount); err != nil {
				return res, fmt.Errorf("alipay: %s total_amount: %w", method, payment.ErrMalformed)
			}
		}
		return res, nil
	}
	return payment.Result{}, apiError(method, nil, rsp.Error)
}

// Complete is a query: Alipay needs no server call after the return.
func (p *Provider) Complete(ctx context.Context, outTradeNo, ref string) (payment.Result, error) {
	return p.Query(ctx, outTradeNo, ref)
}

// Close calls alipay.trade.close. Alipay refuses to close a paid trade with
// ACQ.TRADE_STATUS_ERROR, which is also its answer for one already closed,
// so that answer is settled by a query. A trade Alipay never created is
// ErrNotFound; its URL stops working at time_expire.
func (p *Provider) Close(ctx context.Context, outTradeNo, ref string) error {
	const method = "alipay.trade.close"
	rsp, err := p.client.TradeClose(ctx, sdk.TradeClose{OutTradeNo: outTradeNo})
	if err != nil || rsp == nil {
		return apiError(method, err, sdk.Error{Code: "20000", SubMsg: "empty answer"})
	}
	switch {
	case rsp.Code.IsSuccess():
		return nil
	case rsp.SubCode == subTradeNotExist:
		return fmt.Errorf("alipay: %s %s: %w", method, outTradeNo, payment.ErrNotFound)
	case rsp.SubCode != subStatusError:
		return apiError(method, nil, rsp.Error)
	}
	res, err := p.Query(ctx, outTradeNo, ref)
	switch {
	case err != nil:
		return err
	case res.Status == payment.StatusPaid:
		return fmt.Errorf("alipay: close %s: %w", outTradeNo, payment.ErrAlreadyPaid)
	case res.Status == payment.StatusClosed || res.Status == payment.StatusFailed:
		return nil
	}
	return apiError(method, nil, rsp.Error)
}

// Refunded is Alipay's answer to a refund.
type Refunded struct {
	OutTradeNo string
	TradeNo    string
	// Total is refund_fee: everything refunded on the trade so far, in fen.
	Total int64
	// FundChange is false when Alipay had already made this refund (the same
	// out_request_no again): no new money moved.
	FundChange bool
}

// Refund refunds amountFen of a paid order through alipay.trade.refund.
// requestNo (out_request_no) makes the call idempotent: repeat it with the
// same number after a timeout. A full refund closes the trade at Alipay
// (TRADE_CLOSED). Refusals come back as *APIError (e.g.
// ACQ.REFUND_AMT_NOT_EQUAL_TOTAL when more than the rest is asked for).
func (p *Provider) Refund(ctx context.Context, outTradeNo string, amountFen int64, requestNo string) (Refunded, error) {
	const method = "alipay.trade.refund"
	if amountFen <= 0 || requestNo == "" || len(requestNo) > 64 {
		return Refunded{}, errors.New("alipay: refund needs a positive amount and a request number of 1-64 characters")
	}
	rsp, err := p.client.TradeRefund(ctx, sdk.TradeRefund{OutTradeNo: outTradeNo,
		RefundAmount: payment.FenToYuan(amountFen), OutRequestNo: requestNo})
	if err != nil || rsp == nil {
		return Refunded{}, apiError(method, err, sdk.Error{Code: "20000", SubMsg: "empty answer"})
	}
	if !rsp.Code.IsSuccess() {
		if rsp.SubCode == subTradeNotExist {
			return Refunded{}, fmt.Errorf("alipay: %s %s: %w", method, outTradeNo, payment.ErrNotFound)
		}
		return Refunded{}, apiError(method, nil, rsp.Error)
	}
	total, err := payment.YuanToFen(rsp.RefundFee)
	if err != nil || rsp.OutTradeNo != outTradeNo {
		return Refunded{}, fmt.Errorf("alipay: %s answer: %w", method, payment.ErrMalformed)
	}
	return Refunded{OutTradeNo: rsp.OutTradeNo, TradeNo: rsp.TradeNo, Total: total, FundChange: rsp.FundChange == "Y"}, nil
}
