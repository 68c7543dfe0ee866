package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"im2pay/recharge"
	"im2pay/wallet"
)

// recheckOrder is 再次查询: ask the provider now, and always answer. The
// answer travels to the result page in its URL (what was said, and when);
// a made-up one can only show one of the catalog's own sentences.
func (s *Server) recheckOrder(c echo.Context) error {
	o, err := s.myOrder(c)
	if err != nil {
		return err
	}
	o, a := s.recharges.Recheck(c.Request().Context(), o)
	q := url.Values{"said": {a.Said}, "at": {strconv.FormatInt(a.At.Unix(), 10)}}
	return redirect(c, "/recharge/orders/"+o.OutTradeNo+"?"+q.Encode())
}

// answers are the things 再次查询 can say (recharge.Answer.Said).
var answers = map[string]bool{"unpaid": true, "paid": true, "processing": true, "failed": true, "closed": true,
	"cancelled": true, "not_started": true, "error": true, "cancel_failed": true}

// answerOf reads the answer a recheck sent the result page, if any.
func answerOf(c echo.Context, o recharge.Order) *recharge.Answer {
	said := c.QueryParam("said")
	at, err := strconv.ParseInt(c.QueryParam("at"), 10, 64)
	if !answers[said] || err != nil || at <= 0 {
		return nil
	}
	return &recharge.Answer{Method: o.Method, Said: said, At: time.Unix(at, 0)}
}

// cancelOrder is 取消订单, for every method: closed at the provider where it
// has a close, then 已取消 for good.
func (s *Server) cancelOrder(c echo.Context) error {
	o, err := s.myOrder(c)
	if err != nil {
		return err
	}
	if o, err = s.recharges.Cancel(c.Request().Context(), o); err != nil {
		// Not closed at the provider: the order stays open and the page
		// shows it so; the person may try again.
		s.log.Warn("cancel order", "order", o.OutTradeNo, "err", err)
		q := url.Values{"said": {"cancel_failed"}, "at": {strconv.FormatInt(s.recharges.Now().Unix(), 10)}}
		return redirect(c, "/recharge/orders/"+o.OutTradeNo+"?"+q.Encode())
	}
	return redirect(c, "/recharge/orders/"+o.OutTradeNo)
}

// saidPaid is "我已支付" on the QR page: the order reads 处理中 until the
// provider confirms it.
func (s *Server) saidPaid(c echo.Context) error {
	o, err := s.myOrder(c)
	if err != nil {
		return err
	}
	if o, err = s.recharges.SaidPaid(c.Request().Context(), o); err != nil {
		s.log.Warn("order said paid", "order", o.OutTradeNo, "err", err)
	}
	return redirect(c, "/recharge/orders/"+o.OutTradeNo)
}

// renewOrder is 重新支付 for an order that can no longer be paid, and the
// fresh QR code for an expired one: a new order like it, made once, and
// straight on to paying it.
func (s *Server) renewOrder(c echo.Context) error {
	o, err := s.myOrder(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if o, err = s.recharges.Check(ctx, o); err != nil {
		s.log.Warn("check order", "order", o.OutTradeNo, "err", err)
	}
	n, err := s.recharges.Renew(ctx, o)
	if errors.Is(err, recharge.ErrOrderClosed) {
		return redirect(c, "/recharge/orders/"+o.OutTradeNo)
	}
	if err != nil {
		// A rule in force now refuses it (a limit, maintenance): the
		// recharge page explains, with the amount filled in.
		s.log.Info("renew order", "order", o.OutTradeNo, "err", err)
		return redirect(c, "/recharge?"+url.Values{"method": {o.Method}, "amount": {wallet.Money(o.Amount).Yuan()},
			"return_to": {o.ReturnTo}}.Encode())
	}
	return c.Redirect(http.StatusSeeOther, "/recharge/orders/"+n.OutTradeNo+"/pay")
}
