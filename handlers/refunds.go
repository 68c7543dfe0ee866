package handlers

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"im2pay/audit"
	"im2pay/recharge"
	"im2pay/refund"
	"im2pay/views/pages"
	"im2pay/wallet"
)

// refundsShown bounds the refunds 我的充值 reads (it lists 100 orders).
const refundsShown = 300

// ordersRefunds is what 我的充值 shows of a person's refunds: each order's,
// the orders a refund may be asked for (the rest of the order, with its
// clawback, computed as the service does), the debt, and ?refund=<code>.
func (s *Server) ordersRefunds(ctx context.Context, userID int64, orders []recharge.Order, notice string) (pages.OrdersRefunds, error) {
	v := pages.OrdersRefunds{ByOrder: map[string][]pages.OrderRefund{}, Askable: map[string]pages.OrderRefund{}}
	if s.refunds == nil {
		return v, nil
	}
	list, err := s.refunds.OfUser(ctx, userID, refundsShown)
	if err != nil {
		return v, err
	}
	debt, err := s.refunds.Debt(ctx, userID)
	if err != nil {
		return v, err
	}
	v.Debt = wallet.Money(debt)
	type taken struct {
		amount, clawback int64
		open             bool
	}
	of := map[string]taken{}
	for _, r := range list {
		v.ByOrder[r.OutTradeNo] = append(v.ByOrder[r.OutTradeNo], pages.OrderRefund{State: r.State,
			Amount: wallet.Money(r.Amount), Clawback: wallet.Money(r.Clawback), External: r.External})
		t := of[r.OutTradeNo]
		switch r.State {
		case refund.StateInFlight, refund.StateSucceeded:
			t.amount, t.clawback = t.amount+r.Amount, t.clawback+r.Clawback
		}
		t.open = t.open || r.State == refund.StateRequested || r.State == refund.StateInFlight
		of[r.OutTradeNo] = t
	}
	for _, o := range orders {
		t := of[o.OutTradeNo]
		if o.State != recharge.OrderPaid || t.open || t.amount >= o.Amount {
			continue
		}
		left := o.Amount - t.amount
		v.Askable[o.OutTradeNo] = pages.OrderRefund{Amount: wallet.Money(left),
			Clawback: wallet.Money(refund.Clawback(o.TierBonus+o.FirstBonus, o.Amount, t.amount, t.clawback, left))}
	}
	if code := "orders.refund.notice." + notice; notice != "" && knownNotice[notice] {
		v.Notice = code
	}
	return v, nil
}

// knownNotice are the ?refund= codes 我的充值 says something about.
var knownNotice = map[string]bool{"asked": true, "open": true, "reason": true, "spent": true, "nothing": true}

// askRefund is a person's 申请退款 of an unspent top-up: the rest of the
// order, with a reason, waiting for finance's approval. Only the person's
// own paid order; the wallet must still hold the refund and its clawback.
// The answer is said on 我的充值.
func (s *Server) askRefund(c echo.Context) error {
	if s.refunds == nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	u, _ := currentUser(c)
	o, err := s.myOrder(c)
	if err != nil {
		return err
	}
	q, err := s.refunds.Preview(c.Request().Context(), o.OutTradeNo, o.Amount)
	amount := q.Refundable
	var short *refund.Shortfall
	if err != nil && !errors.As(err, &short) && !errors.Is(err, refund.ErrTooMuch) {
		if errors.Is(err, refund.ErrNotPaid) {
			return c.Redirect(http.StatusSeeOther, "/recharge/orders?refund=nothing")
		}
		return err
	}
	code := "asked"
	_, err = s.refunds.Request(c.Request().Context(), refund.Ask{OrderNo: o.OutTradeNo, Amount: amount,
		Reason: c.FormValue("reason"), UserID: u.ID}, audit.Entry{})
	switch {
	case err == nil:
	case errors.As(err, &short):
		code = "spent"
	case errors.Is(err, refund.ErrOpen):
		code = "open"
	case errors.Is(err, refund.ErrReason):
		code = "reason"
	case errors.Is(err, refund.ErrTooMuch), errors.Is(err, refund.ErrNotPaid):
		code = "nothing"
	default:
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/recharge/orders?refund="+code)
}
