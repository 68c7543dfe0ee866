package handlers

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"im2pay/payment"
	"im2pay/recharge"
	"im2pay/views/components"
	"im2pay/views/pages"
	"im2pay/wallet"
)

// createOrder turns a confirmed top-up into an order (once per request key)
// and sends the person on to pay.
func (s *Server) createOrder(c echo.Context) error {
	if err := strictForm(c, "method", "amount", "key", "return_to", "device", "rules_version"); err != nil {
		return err
	}
	u, _ := currentUser(c)
	// The version the confirmed quote was priced under; absent or garbled
	// means the rules in force now.
	version, _ := strconv.ParseInt(c.FormValue("rules_version"), 10, 64)
	o, err := s.recharges.CreateOrder(c.Request().Context(), recharge.NewOrder{
		UserID: u.ID, Method: c.FormValue("method"), Amount: c.FormValue("amount"),
		Device: device(c), RequestKey: c.FormValue("key"), ReturnTo: safeNext(c.FormValue("return_to")),
		RulesVersion: version,
	})
	if problems, ok := components.ProblemsOf(err); ok {
		v, verr := s.rechargeView(c, c.FormValue("method"), c.FormValue("amount"))
		if verr != nil {
			return verr
		}
		if errors.Is(err, recharge.ErrTermsChanged) {
			s.quote(c, &v) // the new terms, next to the notice that they changed
		}
		v.Problems = problems
		return render(c, http.StatusUnprocessableEntity, pages.Recharge(s.shell(c, "recharge.title", "recharge"), v), nil)
	}
	if err != nil {
		return err
	}
	return redirect(c, "/recharge/orders/"+o.OutTradeNo+"/pay")
}

// payOrder sends the person to the provider: a redirect, our QR page, or a
// form their browser posts.
func (s *Server) payOrder(c echo.Context) error {
	o, err := s.myOrder(c)
	if err != nil {
		return err
	}
	next, err := s.recharges.Pay(c.Request().Context(), o, c.RealIP())
	if errors.Is(err, recharge.ErrOrderClosed) {
		return c.Redirect(http.StatusSeeOther, "/recharge/orders/"+o.OutTradeNo)
	}
	if problems, ok := components.ProblemsOf(err); ok {
		v, verr := s.rechargeView(c, o.Method, wallet.Money(o.Amount).Yuan())
		if verr != nil {
			return verr
		}
		v.Problems = problems
		return render(c, http.StatusServiceUnavailable, pages.Recharge(s.shell(c, "recharge.title", "recharge"), v), nil)
	}
	if err != nil {
		s.log.Error("start payment", "order", o.OutTradeNo, "err", err)
		return c.Redirect(http.StatusSeeOther, "/recharge/orders/"+o.OutTradeNo+"?start_failed=1")
	}
	sh := s.shell(c, "pay.title", "recharge")
	switch {
	case next.RedirectURL != "":
		return c.Redirect(http.StatusSeeOther, next.RedirectURL)
	case next.Form != nil:
		return render(c, http.StatusOK, pages.PayForm(sh, pages.OrderView{Order: o}, *next.Form), nil)
	default:
		qr, err := qrDataURI(next.QRCode)
		if err != nil {
			return err
		}
		v, err := s.orderView(c, o)
		if err != nil {
			return err
		}
		return render(c, http.StatusOK, pages.PayQR(sh, v, qr, s.cfg.ScanURL(next.QRCode)), nil)
	}
}

// orderResult is the result page: processing, success or failure.
func (s *Server) orderResult(c echo.Context) error {
	o, err := s.myOrder(c)
	if err != nil {
		return err
	}
	if o, err = s.recharges.Check(c.Request().Context(), o); err != nil {
		s.log.Warn("check order", "order", o.OutTradeNo, "err", err)
	}
	v, err := s.orderView(c, o)
	if err != nil {
		return err
	}
	v.Answer = answerOf(c, o)
	return render(c, http.StatusOK, pages.Result(s.shell(c, "result.title", "recharge"), v), pages.ResultStatus(v))
}

// orderStatus is what the result and QR pages poll. The QR page only wants
// to leave once the order resolves: it gets HX-Redirect then, 204 before.
func (s *Server) orderStatus(c echo.Context) error {
	o, err := s.myOrder(c)
	if err != nil {
		return err
	}
	if o, err = s.recharges.Check(c.Request().Context(), o); err != nil {
		s.log.Warn("check order", "order", o.OutTradeNo, "err", err)
	}
	if c.QueryParam("qr") == "1" {
		if o.State == recharge.OrderAwaiting {
			return c.NoContent(http.StatusNoContent)
		}
		return redirect(c, "/recharge/orders/"+o.OutTradeNo)
	}
	v, err := s.orderView(c, o)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, pages.Result(s.shell(c, "result.title", "recharge"), v), pages.ResultStatus(v))
}

// providerReturn receives the person back from the provider. It needs no
// login (a cross-site POST from the card page carries no Lax cookie): it
// verifies, lets the provider's own answer settle the order, and redirects
// to the result page, which does need the login.
func (s *Server) providerReturn(c echo.Context) error {
	no := c.Param("no")
	o, err := s.recharges.OrderByNo(c.Request().Context(), no)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	form, _ := c.FormParams()
	if c.Request().Method == http.MethodGet {
		form = url.Values{}
	}
	_, _, err = s.recharges.Return(c.Request().Context(), o, c.QueryParams(), form)
	if err != nil {
		s.log.Warn("provider return refused", "order", no, "err", err)
	}
	// The result page shows the order's state, whatever the return said.
	return c.Redirect(http.StatusSeeOther, "/recharge/orders/"+no)
}

// notify receives a provider's asynchronous notification: raw body, no
// session, no CSRF; only a valid signature makes it count. The wallet says
// what to answer; this writes it.
func (s *Server) notify(c echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	method := c.Param("method")
	ack, err := s.recharges.Notify(c.Request().Context(), method, c.Request().Header, body)
	switch {
	case errors.Is(err, recharge.ErrUnknownOrder):
		// Genuine, yet no order of ours: acknowledged so the provider stops
		// retrying, and worth a person's look.
		s.log.Warn("verified notification for an unknown order", "method", method, "err", err, "ip", c.RealIP())
	case err != nil:
		s.log.Warn("notification not accepted", "method", method, "err", err, "ip", c.RealIP())
	}
	return writeAck(c, ack)
}

// writeAck sends a provider's acknowledgement byte for byte as the provider
// documents it. A zero Ack means no provider answers for the method.
func writeAck(c echo.Context, a payment.Ack) error {
	if a.Status == 0 {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	w := c.Response()
	if a.ContentType != "" {
		w.Header().Set(echo.HeaderContentType, a.ContentType)
	}
	w.WriteHeader(a.Status)
	if len(a.Body) == 0 {
		return nil
	}
	if _, err := w.Write(a.Body); err != nil {
		return fmt.Errorf("acknowledge notification: %w", err)
	}
	return nil
}

func (s *Server) myOrder(c echo.Context) (recharge.Order, error) {
	u, _ := currentUser(c)
	o, err := s.recharges.OrderOf(c.Request().Context(), u.ID, c.Param("no"))
	if errors.Is(err, recharge.ErrNotFound) {
		return o, echo.NewHTTPError(http.StatusNotFound)
	}
	return o, err
}

func (s *Server) orderView(c echo.Context, o recharge.Order) (pages.OrderView, error) {
	v := pages.OrderView{Order: o, StartFailed: c.QueryParam("start_failed") == "1", CSRF: csrfToken(c),
		Started:   recharge.Started(o),
		Remaining: s.recharges.Remaining(o)}
	if o.State == recharge.OrderPaid {
		u, _ := currentUser(c)
		ov, err := s.center.AccountCenter(c.Request().Context(), u)
		if err != nil {
			return v, err
		}
		v.Balance = ov.Balance
	}
	return v, nil
}

// device picks the provider flow: a phone browser gets the mobile flow
// (wap pay, H5); the form may override it.
func device(c echo.Context) payment.Device {
	switch c.FormValue("device") {
	case "phone":
		return payment.Phone
	case "desktop":
		return payment.Desktop
	}
	ua := c.Request().UserAgent()
	for _, marker := range []string{"Mobile", "Android", "iPhone", "iPad"} {
		if strings.Contains(ua, marker) {
			return payment.Phone
		}
	}
	return payment.Desktop
}

// formAmount is the typed custom amount when there is one, else the preset.
func formAmount(c echo.Context) string {
	if custom := strings.TrimSpace(c.QueryParam("custom")); custom != "" {
		return custom
	}
	return c.QueryParam("amount")
}

func newRequestKey() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
