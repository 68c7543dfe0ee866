package handlers

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"im2pay/spend"
	"im2pay/views/components"
	"im2pay/views/pages"
	"im2pay/wallet"
)

// shop shows the catalog; ?product=code reopens a purchase the person
// started (after topping up a shortfall), still unconfirmed. An unknown
// code is refused with 404 and never written into the page: a link must
// not make our page say what its author wants.
func (s *Server) shop(c echo.Context) error {
	var pending *pages.PendingView
	if code := c.QueryParam("product"); code != "" {
		if pending = s.pending(c, spend.Purchase{Product: code, Key: newRequestKey()}, nil); unknownOffer(pending) {
			return echo.NewHTTPError(http.StatusNotFound)
		}
	}
	return s.renderShop(c, http.StatusOK, pending)
}

// unknownOffer reports a reopened purchase the catalog does not have.
func unknownOffer(p *pages.PendingView) bool {
	return p != nil && p.Problems[""] != nil && p.Problems[""].Code == "shop.unknown"
}

func (s *Server) renderShop(c echo.Context, status int, pending *pages.PendingView) error {
	u, _ := currentUser(c)
	v, err := s.spend.Shop(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	keys := map[string]string{}
	for _, p := range v.Products {
		keys[p.Code] = newRequestKey()
	}
	view := pages.ShopPageView{Shop: v, Keys: keys, Pending: pending, Now: s.cfg.Now()}
	return render(c, status, pages.Shop(s.shell(c, "shop.title", "shop"), view), nil)
}

func (s *Server) buyProduct(c echo.Context) error {
	if err := strictForm(c, "product", "key", "confirmed", "price"); err != nil {
		return err
	}
	p, err := s.purchaseFrom(c, "product")
	if err != nil {
		return err
	}
	if _, err := s.spend.Buy(c.Request().Context(), p); err != nil {
		pending := s.pending(c, p, err)
		if pending == nil {
			return err
		}
		return s.renderShop(c, statusFor(err), pending)
	}
	s.flash(c, "shop.bought")
	return redirect(c, "/shop")
}

func (s *Server) events(c echo.Context) error {
	var pending *pages.PendingView
	if code := c.QueryParam("event"); code != "" {
		if pending = s.pending(c, spend.Purchase{Event: code, Key: newRequestKey()}, nil); unknownOffer(pending) {
			return echo.NewHTTPError(http.StatusNotFound)
		}
	}
	return s.renderEvents(c, http.StatusOK, pending)
}

func (s *Server) renderEvents(c echo.Context, status int, pending *pages.PendingView) error {
	u, _ := currentUser(c)
	events, err := s.spend.Events(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	keys := map[string]string{}
	for _, e := range events {
		keys[e.Code] = newRequestKey()
	}
	v := pages.EventsView{Events: events, Keys: keys, Pending: pending}
	return render(c, status, pages.Events(s.shell(c, "events.title", "events"), v), nil)
}

func (s *Server) buyBundle(c echo.Context) error {
	if err := strictForm(c, "event", "key", "confirmed", "price"); err != nil {
		return err
	}
	p, err := s.purchaseFrom(c, "event")
	if err != nil {
		return err
	}
	if _, err := s.spend.Buy(c.Request().Context(), p); err != nil {
		pending := s.pending(c, p, err)
		if pending == nil {
			return err
		}
		return s.renderEvents(c, statusFor(err), pending)
	}
	s.flash(c, "shop.bought")
	return redirect(c, "/events")
}

func (s *Server) purchaseFrom(c echo.Context, field string) (spend.Purchase, error) {
	u, _ := currentUser(c)
	p := spend.Purchase{UserID: u.ID, Key: c.FormValue("key"), Confirmed: c.FormValue("confirmed") == "1",
		Session: sessionHash(c)}
	// A confirmation without a quote is asked again (Buy); a quote that is
	// not an amount no page of ours sent.
	if price := c.FormValue("price"); price != "" {
		quoted, err := wallet.ParseMoney(price)
		if err != nil {
			return p, echo.NewHTTPError(http.StatusBadRequest)
		}
		p.Quoted = quoted
	}
	if field == "event" {
		p.Event = c.FormValue("event")
	} else {
		p.Product = c.FormValue("product")
	}
	return p, nil
}

// pending turns a purchase and what stopped it into the box that lets the
// person finish it: a confirmation, a shortfall top-up, or the reason. It
// is nil for errors that are not the person's to act on.
func (s *Server) pending(c echo.Context, p spend.Purchase, err error) *pages.PendingView {
	u, _ := currentUser(c)
	field, code, page := "product", p.Product, "/shop"
	if p.Event != "" {
		field, code, page = "event", p.Event, "/events"
	}
	v := &pages.PendingView{Action: page + "/buy", Field: field, Code: code, NameKey: field + "." + code,
		Key: p.Key, ReturnTo: page + "?" + url.Values{field: {code}}.Encode(), Cancel: page, CSRF: csrfToken(c)}
	if err == nil {
		// Reopened from a link: ask the domain what buying it now would do.
		p.UserID = u.ID
		err = s.spend.Preview(c.Request().Context(), p)
	}
	var need *spend.NeedsConfirmation
	var short *spend.Shortfall
	switch {
	case errors.As(err, &need):
		v.Price, v.BalanceAfter, v.Repriced = need.Price, need.BalanceAfter, need.Repriced
	case errors.As(err, &short):
		v.Price, v.Shortfall, v.Preset = short.Price, short, s.recharges.RoundUpToPreset(c.Request().Context(), short.Missing())
	default:
		problems, ok := components.ProblemsOf(err)
		if !ok {
			return nil
		}
		v.Problems = problems
	}
	return v
}

func statusFor(err error) int {
	var need *spend.NeedsConfirmation
	if errors.As(err, &need) {
		if need.Repriced {
			// 409: the price the request carried is not the price now.
			return http.StatusConflict
		}
		return http.StatusOK
	}
	return http.StatusUnprocessableEntity
}

func (s *Server) settingsPage(c echo.Context) error {
	u, _ := currentUser(c)
	st, err := s.spend.SettingsOf(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	sessions, err := s.sessionsView(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, pages.Settings(s.shell(c, "account.settings", "account"),
		st.ConfirmAbove.Yuan(), st.LowBalance.Yuan(), nil, sessions), nil)
}

func (s *Server) saveSettings(c echo.Context) error {
	if err := strictForm(c, "confirm_above", "low_balance"); err != nil {
		return err
	}
	u, _ := currentUser(c)
	confirm, low := c.FormValue("confirm_above"), c.FormValue("low_balance")
	err := s.spend.SaveSettings(c.Request().Context(), u.ID, confirm, low)
	if problems, ok := components.ProblemsOf(err); ok {
		sessions, err := s.sessionsView(c)
		if err != nil {
			return err
		}
		return render(c, http.StatusUnprocessableEntity, pages.Settings(s.shell(c, "account.settings", "account"),
			confirm, low, problems, sessions), nil)
	}
	if err != nil {
		return err
	}
	s.flash(c, "settings.saved")
	return redirect(c, "/account")
}

// flash queues a one-time notice for the next page.
func (s *Server) flash(c echo.Context, code string) {
	if sess := session(c); sess != nil {
		sess.AddFlash(code, sessFlash)
		if err := sess.Save(c.Request(), c.Response()); err != nil {
			s.log.ErrorContext(c.Request().Context(), "save flash", "err", err)
		}
	}
}
