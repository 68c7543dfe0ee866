package recharge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"im2pay/payment"
	"im2pay/wallet"
)

// Cancel is 取消订单, and PayPal's cancel return: the order becomes 已取消
// and stays so. Where the provider has a close it is closed there first, so
// the cashier stops taking money (Alipay, WeChat Pay); UnionPay's gateway
// and PayPal's Orders API have none (PROVIDERS.md §3.3, §4.3), and an
// order we never capture or pay out is closed by not doing so. If the
// close finds the order paid meanwhile, the payment is credited instead. A
// payment that still arrives after a cancel is credited by Settle too: the
// state machine lets a cancelled order become paid, never lose money.
func (s *Service) Cancel(ctx context.Context, o Order) (Order, error) {
	if !IsOpen(o.State) {
		return o, nil
	}
	if Started(o) {
		p, err := s.provider(o.Method)
		if err != nil {
			return o, err
		}
		err = p.Close(ctx, o.OutTradeNo, o.ProviderRef)
		s.event(ctx, o.Method, "close", o.OutTradeNo, err == nil, "cancelled", errText(err), "")
		switch {
		case errors.Is(err, payment.ErrAlreadyPaid):
			return s.ask(ctx, o)
		case err != nil && !errors.Is(err, payment.ErrNotFound):
			// Not closed at the provider: the order stays open, and the
			// person is told to try again.
			return o, fmt.Errorf("cancel order %s: %w", o.OutTradeNo, err)
		}
	}
	if _, err := s.move(ctx, o, OrderCancelled, ""); err != nil {
		return o, err
	}
	return s.OrderByNo(ctx, o.OutTradeNo)
}

// SaidPaid is "我已支付": the person says they paid, so the order reads
// 处理中 until the provider confirms it (or the order expires unpaid). The
// provider is asked at once, within the usual rationing.
func (s *Service) SaidPaid(ctx context.Context, o Order) (Order, error) {
	if o.State == OrderAwaiting && Started(o) {
		if _, err := s.move(ctx, o, OrderProcessing, ""); err != nil {
			return o, err
		}
		var err error
		if o, err = s.OrderByNo(ctx, o.OutTradeNo); err != nil {
			return o, err
		}
	}
	return s.Check(ctx, o)
}

// Answer is what 再次查询 tells the person: what the provider said, and when.
type Answer struct {
	Method string
	// Said is one of: unpaid, paid, processing, failed, closed, cancelled
	// (the order's own final state: nothing was asked), not_started (the
	// order never reached the provider), error (the provider could not be
	// asked; the order is safe and is asked again later).
	Said string
	At   time.Time
	// Err is why the provider could not be asked (Said "error"): for the
	// log, never for the person.
	Err error
	// Provider is the provider's answer as it came (zero when it was not
	// asked), for the staff order page.
	Provider payment.Result
}

// Recheck is 再次查询: it always answers. It asks the provider now, past
// the rationing of the page's polls (the person asked; only the order's
// owner can), and settles what it says.
func (s *Service) Recheck(ctx context.Context, o Order) (Order, Answer) {
	a := Answer{Method: o.Method, At: s.now()}
	if !IsOpen(o.State) {
		a.Said = o.State
		return o, a
	}
	if !Started(o) {
		a.Said = "not_started"
		return o, a
	}
	return s.askAnswer(ctx, o, a)
}

// askAnswer asks the provider about a started order, settles what it
// says (Settle, through askResult) and tells what it said.
func (s *Service) askAnswer(ctx context.Context, o Order, a Answer) (Order, Answer) {
	if err := s.markOrderChecked(ctx, o.ID, a.At); err != nil {
		a.Said, a.Err = "error", err
		return o, a
	}
	after, res, err := s.askResult(ctx, o)
	a.Provider = res
	switch {
	case errors.Is(err, payment.ErrNotFound):
		// Alipay creates a trade only once the person logs in at its
		// cashier (PROVIDERS.md §1.1): not known there is not paid.
		a.Said = "unpaid"
	case err != nil:
		s.log.Warn("recheck order", "order", o.OutTradeNo, "err", err)
		a.Said, a.Err = "error", err
	case after.State == OrderPaid:
		a.Said = "paid"
	case !IsOpen(after.State):
		a.Said = after.State
	case res.Status == payment.StatusProcessing || after.State == OrderProcessing && res.Status == payment.StatusPaid:
		a.Said = "processing"
	default:
		a.Said = "unpaid"
	}
	return after, a
}

// Renew is 重新支付 for an order that can no longer be paid (cancelled,
// closed, failed, or an expired WeChat QR code): a new order like it, made
// once however often it is asked for (its request key derives from the
// old order), priced under the rules in force now.
func (s *Service) Renew(ctx context.Context, o Order) (Order, error) {
	if IsOpen(o.State) && s.now().Before(o.ExpiresAt) {
		return o, nil
	}
	if o.State == OrderPaid {
		return o, ErrOrderClosed
	}
	// The same request key finds the order the first renewal made.
	key := "renew-" + o.OutTradeNo
	return s.CreateOrder(ctx, NewOrder{UserID: o.UserID, Method: o.Method, Amount: wallet.Money(o.Amount).Yuan(),
		Device: payment.Device(o.Device), RequestKey: key, ReturnTo: o.ReturnTo})
}
