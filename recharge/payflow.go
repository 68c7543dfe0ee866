package recharge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"im2pay/db"
	"im2pay/payment"
	"im2pay/wallet"
)

// checkEvery limits how often one order's page may make us ask the
// provider: polling pages must not flood it.
const checkEvery = 4 * time.Second

// ErrOrderClosed means the order can no longer be paid.
var ErrOrderClosed = errors.New("recharge: order is no longer payable")

// OrderOf loads an order of userID. Another person's order is ErrNotFound,
// exactly like a missing one, so order numbers reveal nothing.
func (s *Service) OrderOf(ctx context.Context, userID int64, no string) (Order, error) {
	o, err := s.OrderByNo(ctx, no)
	if err == nil && o.UserID != userID {
		return Order{}, fmt.Errorf("order %q of another user: %w", no, db.ErrNotFound)
	}
	return o, err
}

// OrdersOf lists a person's orders, newest first.
func (s *Service) OrdersOf(ctx context.Context, userID int64) ([]Order, error) {
	return s.ordersOfUser(ctx, userID, 0, 100)
}

// recentOrders is how many top-ups the account center lists.
const recentOrders = 3

// RecentOrders lists a person's latest few orders, newest first, for the
// account center.
func (s *Service) RecentOrders(ctx context.Context, userID int64) ([]Order, error) {
	return s.ordersOfUser(ctx, userID, 0, recentOrders)
}

func (s *Service) provider(m string) (payment.Provider, error) {
	p, ok := s.providers[payment.Method(m)]
	if !ok {
		return nil, fmt.Errorf("payment method %q is not configured", m)
	}
	return p, nil
}

// Pay says where the person goes to pay an order: the stored next step if
// the provider was already asked (a second click reuses the payment), else
// a fresh one from the provider.
func (s *Service) Pay(ctx context.Context, o Order, clientIP string) (payment.Next, error) {
	if !IsOpen(o.State) || !s.now().Before(o.ExpiresAt) {
		return payment.Next{}, ErrOrderClosed
	}
	if o.NextURL != "" || o.NextQR != "" || len(o.NextForm) > 0 {
		next := payment.Next{RedirectURL: o.NextURL, QRCode: o.NextQR, ProviderRef: o.ProviderRef}
		if len(o.NextForm) > 0 {
			next.Form = &payment.FormPost{}
			if err := json.Unmarshal(o.NextForm, next.Form); err != nil {
				return payment.Next{}, fmt.Errorf("stored form of order %s: %w", o.OutTradeNo, err)
			}
		}
		return next, nil
	}
	if err := s.checkMaintenance(ctx, payment.Method(o.Method)); err != nil {
		return payment.Next{}, err
	}
	p, err := s.provider(o.Method)
	if err != nil {
		return payment.Next{}, err
	}
	next, err := p.Start(ctx, payment.Order{
		OutTradeNo: o.OutTradeNo, Amount: o.PayAmount, Currency: o.PayCurrency, // the price the order stored
		Subject: "IM2.0 Pay 余额充值 ¥" + wallet.Money(o.Amount).Yuan(), // ungrouped: providers show it as sent
		Device:  payment.Device(o.Device), ClientIP: clientIP, ExpiresAt: o.ExpiresAt,
		ReturnURL: s.baseURL + "/recharge/orders/" + o.OutTradeNo + "/return",
		NotifyURL: s.baseURL + "/pay/notify/" + o.Method,
	})
	s.event(ctx, o.Method, "start", o.OutTradeNo, err == nil, "", errText(err), "")
	if err != nil {
		return payment.Next{}, fmt.Errorf("start payment of order %s: %w", o.OutTradeNo, err)
	}
	var form []byte
	if next.Form != nil {
		if form, err = json.Marshal(next.Form); err != nil {
			return payment.Next{}, err
		}
	}
	if err := s.SetOrderNext(ctx, o.ID, next.RedirectURL, next.QRCode, form, next.ProviderRef); err != nil {
		return payment.Next{}, err
	}
	return next, nil
}

// Check asks the provider about an open order of the person and settles
// what it says. It asks at most every few seconds per order, across every
// instance and however many pages ask at once; an order that never reached
// its provider is not asked about (there is nothing to ask).
func (s *Service) Check(ctx context.Context, o Order) (Order, error) {
	if !IsOpen(o.State) {
		return o, nil
	}
	expired := !s.now().Before(o.ExpiresAt)
	if !Started(o) {
		if !expired {
			return o, nil
		}
		// Never reached the provider: nothing to ask, closed here.
		if _, err := s.move(ctx, o, OrderClosed, ""); err != nil {
			return o, err
		}
		return s.OrderByNo(ctx, o.OutTradeNo)
	}
	turn, err := s.claimCheck(ctx, o.ID, s.now(), checkEvery)
	if err != nil || !turn {
		return o, err
	}
	after, err := s.ask(ctx, o)
	if IsOpen(after.State) && expired {
		// Past its expiry and not paid: closed now, at the provider too,
		// so every page shows 已关闭 without waiting for the reconciler.
		return s.closeExpired(ctx, after, err)
	}
	return after, err
}

// Remaining is how long an open order can still be paid, by the app's
// clock (the one that wrote its expiry): the pages count it down.
func (s *Service) Remaining(o Order) time.Duration {
	if !IsOpen(o.State) {
		return 0
	}
	return max(o.ExpiresAt.Sub(s.now()), 0)
}

// Started reports whether the provider was asked to collect the order.
func Started(o Order) bool {
	return o.ProviderRef != "" || o.NextURL != "" || o.NextQR != "" || len(o.NextForm) > 0
}

// ask asks the provider about an open order and settles what it says;
// the caller has stamped the order as checked.
func (s *Service) ask(ctx context.Context, o Order) (Order, error) {
	o, _, err := s.askResult(ctx, o)
	if errors.Is(err, payment.ErrNotFound) {
		return o, nil // not created at the provider yet: nothing to settle
	}
	return o, err
}

// askResult is ask that also returns what the provider said.
func (s *Service) askResult(ctx context.Context, o Order) (Order, payment.Result, error) {
	p, err := s.provider(o.Method)
	if err != nil {
		return o, payment.Result{}, err
	}
	// Complete is a query for every provider but PayPal, where an approved
	// order needs its capture; either way the provider's answer, not the
	// person's browser, decides.
	res, err := p.Complete(ctx, o.OutTradeNo, o.ProviderRef)
	// "No such payment" is an answer too, and a verified one (Alipay signs
	// its ACQ.TRADE_NOT_EXIST before the person logs in at the cashier).
	verified := err == nil || errors.Is(err, payment.ErrNotFound)
	s.event(ctx, o.Method, "complete", o.OutTradeNo, verified, string(res.Status), errText(err), "")
	if errors.Is(err, payment.ErrNotFound) {
		return o, res, err
	}
	if err != nil {
		return o, res, fmt.Errorf("check order %s: %w", o.OutTradeNo, err)
	}
	res.OutTradeNo = o.OutTradeNo
	// o was read before the provider was asked: Settle decides under the
	// order's row lock, and uses o only for what an order never changes
	// while it is unpaid (its owner, method, price and bonus) or to answer
	// a paid order.
	o, err = s.Settle(ctx, payment.Method(o.Method), res, &o)
	return o, res, err
}

// Return handles the person coming back from the provider: it verifies what
// they bring (and refuses a forgery), but credits only through Check, from
// the provider's own answer.
func (s *Service) Return(ctx context.Context, o Order, query, form url.Values) (Order, payment.Return, error) {
	p, err := s.provider(o.Method)
	if err != nil {
		return o, payment.Return{}, err
	}
	ret, err := p.ParseReturn(ctx, query, form)
	switch {
	case err != nil:
		err = fmt.Errorf("return for order %s: %w", o.OutTradeNo, err)
	case ret.OutTradeNo != "" && ret.OutTradeNo != o.OutTradeNo:
		err = fmt.Errorf("return for order %s names order %s: %w", o.OutTradeNo, ret.OutTradeNo, payment.ErrWrongMerchant)
	case ret.ProviderRef != "" && o.ProviderRef != "" && ret.ProviderRef != o.ProviderRef:
		err = fmt.Errorf("return for order %s names payment %s: %w", o.OutTradeNo, ret.ProviderRef, payment.ErrWrongMerchant)
	}
	if err != nil {
		// Counted, not stored: anyone may send returns.
		s.refused(ctx, o.Method, "return", err, query.Encode())
		return o, ret, err
	}
	if !IsOpen(o.State) {
		return o, ret, nil
	}
	// A return needs no login, and where the provider signs nothing anyone
	// may send one: reloading or forging returns must neither make us call
	// the provider nor grow the event log more than once per order every
	// few seconds.
	turn, err := s.claimCheck(ctx, o.ID, s.now(), checkEvery)
	if err != nil || !turn {
		return o, ret, err
	}
	s.event(ctx, o.Method, "return", o.OutTradeNo, true, "", "", query.Encode())
	if ret.Cancelled && cancelsOnReturn(payment.Method(o.Method)) {
		o, err = s.Cancel(ctx, o)
		return o, ret, err
	}
	o, err = s.ask(ctx, o)
	return o, ret, err
}

// cancelsOnReturn says whether a provider's "cancelled" return is the
// person cancelling the payment. PayPal's cancel_url is (PROVIDERS.md §4.2:
// "Cancel and return", and an order is closed by not capturing it, §4.3).
// Alipay's quit_url only says the person left the cashier: Alipay has no
// cancelled state and the trade stays WAIT_BUYER_PAY, payable until it
// expires (§1.1, §1.2), so the order stays 待支付. UnionPay states a
// cancellation in its respCode (69, §3.2), which Settle reads from the
// query and the notifications.
func cancelsOnReturn(m payment.Method) bool { return m == payment.PayPal }

func (s *Service) event(ctx context.Context, method, kind, no string, verified bool, status, detail, body string) {
	// The event log is forensics, not a precondition: a failure to record
	// must not turn a good payment into an error.
	_ = s.recordEvent(ctx, eventRow(method, kind, no, verified, status, detail, body))
}

// eventRow is a payment event made storable.
func eventRow(method, kind, no string, verified bool, status, detail, body string) PaymentEvent {
	if len(body) > 16<<10 {
		body = body[:16<<10]
	}
	// PostgreSQL text refuses NUL and invalid UTF-8; a hostile body must
	// still be stored, so it is made storable rather than dropped.
	body = strings.ReplaceAll(strings.ToValidUTF8(body, "\uFFFD"), "\x00", "\uFFFD")
	return PaymentEvent{Method: method, Kind: kind, OutTradeNo: no, Verified: verified,
		Status: status, Detail: detail, Body: body}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
