package alipay

import (
	"context"
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

// Query asks alipay.trade.query about our order. The answer is signed; a
// trade Alipay does not know is ErrNotFound (the person never logged in at
// the cashier). Page and wap pay report no refusal to the merchant: a
// refused payment leaves the trade WAIT_BUYER_PAY, read as pending, and
// ACQ.PAYMENT_FAIL or ACQ.BUYER_BALANCE_NOT_ENOUGH belong to
// alipay.trade.pay, another product (PROVIDERS.md §1.2), so any other
// 40004 is an API error, never an invented reason.
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
