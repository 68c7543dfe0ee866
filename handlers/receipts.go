package handlers

import (
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"im2pay/db"
	"im2pay/payment"
	"im2pay/payment/paypal"
	"im2pay/recharge"
	"im2pay/views/pages"
)

// receiptRoutes registers the receipt (充值凭证) and the opened history
// line, beside the result page and history they complete.
func (s *Server) receiptRoutes(e *echo.Echo) {
	e.GET("/recharge/orders/:no/receipt", s.orderReceipt, s.requireLogin)
	e.GET("/history/lines/:id", s.historyLine, s.requireLogin)
}

// orderReceipt is the 充值凭证 of one of the person's own paid orders.
// Another person's order is 404 (myOrder), as is an order not paid: there
// is nothing to give a receipt for, and a receipt must never show money
// that did not arrive.
func (s *Server) orderReceipt(c echo.Context) error {
	o, err := s.myOrder(c)
	if err != nil {
		return err
	}
	if o.State != recharge.OrderPaid {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	u, _ := currentUser(c)
	v := pages.ReceiptView{Order: o, Username: u.Username}
	if p := (payment.Price{Currency: o.PayCurrency, Amount: o.PayAmount, Decimals: paypal.Decimals(o.PayCurrency)}); p.Foreign() {
		v.Foreign = p.String()
	}
	return render(c, http.StatusOK, pages.Receipt(s.shell(c, "receipt.title", "orders"), v), nil)
}

// myOrders is 我的充值: one keyset page of the person's orders, filtered by
// state and method. A filter value we do not know is dropped rather than
// refused: the form only offers known ones, and a bad link should still
// show the orders.
func (s *Server) myOrders(c echo.Context) error {
	u, _ := currentUser(c)
	f := recharge.MyOrdersFilter{State: c.QueryParam("state"), Method: c.QueryParam("method")}
	if !slices.Contains(pages.OrderStates, f.State) {
		f.State = ""
	}
	if !slices.Contains(pages.OrderMethods, f.Method) {
		f.Method = ""
	}
	if b, err := strconv.ParseInt(c.QueryParam("before"), 10, 64); err == nil && b > 0 {
		f.Before = b
	}
	page, err := s.recharges.OrdersPageOf(c.Request().Context(), u.ID, f)
	if err != nil {
		return err
	}
	refunds, err := s.ordersRefunds(c.Request().Context(), u.ID, page.Orders, c.QueryParam("refund"))
	if err != nil {
		return err
	}
	v := pages.OrdersView{Page: page, State: f.State, Method: f.Method, Before: f.Before, Refunds: refunds}
	return render(c, http.StatusOK, pages.Orders(s.shell(c, "orders.title", "orders"), v), nil)
}

// historyLine opens one line of the person's history: the order, method
// and bonus breakdown of a top-up, the recipient of a gift. A line of
// another wallet is 404, the same as one that does not exist.
func (s *Server) historyLine(c echo.Context) error {
	u, _ := currentUser(c)
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	ctx := c.Request().Context()
	d, err := s.statement.Line(ctx, u.WalletID, id)
	if errors.Is(err, db.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if err != nil {
		return err
	}
	v := pages.LineView{Line: d}
	if d.OrderNo != "" {
		// The ledger names the order; it is the person's own, since the
		// line is in their wallet, but OrderOf checks again.
		o, err := s.recharges.OrderOf(ctx, u.ID, d.OrderNo)
		switch {
		case err == nil:
			v.Order = &o
		case !errors.Is(err, recharge.ErrNotFound):
			return err
		}
	}
	return render(c, http.StatusOK, pages.Line(s.shell(c, "line.title", "history"), v), nil)
}
