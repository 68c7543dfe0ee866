package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"im2pay/limits"
	"im2pay/views/components"
	"im2pay/views/pages"
)

// protectRoutes registers spending protection (issue 16): the caps a
// person sets, minors' mode, the recharge agreement and the support page.
func (s *Server) protectRoutes(e *echo.Echo) {
	e.GET("/account/protection", s.protectionPage, s.requireLogin)
	e.POST("/account/protection/caps", s.saveCaps, s.requireLogin)
	e.POST("/account/protection/minors", s.minorsOn, s.requireLogin)
	e.POST("/account/protection/minors/off", s.minorsOff, s.requireLogin)
	e.GET("/recharge/agreement", s.agreementPage)
	e.GET("/support", s.supportPage)
}

// supportContext gives every page the support entry's configuration
// (components.Support reads it).
func (s *Server) supportContext(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		c.SetRequest(r.WithContext(components.WithSupport(r.Context(), s.cfg.Support)))
		return next(c)
	}
}

func (s *Server) renderProtection(c echo.Context, status int, typed map[limits.Cap]string, problems components.Problems) error {
	u, _ := currentUser(c)
	st, err := s.spend.Limits().StatusOf(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	v := pages.ProtectionView{Status: st, Typed: typed, Problems: problems, Location: s.cfg.Location}
	return render(c, status, pages.Protection(s.shell(c, "protect.title", "account"), v), nil)
}

func (s *Server) protectionPage(c echo.Context) error {
	return s.renderProtection(c, http.StatusOK, nil, nil)
}

// saveCaps saves the four caps; a raise waits a day (package limits).
func (s *Server) saveCaps(c echo.Context) error {
	names := make([]string, len(limits.Caps))
	typed := map[limits.Cap]string{}
	for i, cp := range limits.Caps {
		names[i] = string(cp)
		typed[cp] = c.FormValue(string(cp))
	}
	if err := strictForm(c, names...); err != nil {
		return err
	}
	u, _ := currentUser(c)
	err := s.spend.Limits().SetCaps(c.Request().Context(), u.ID, typed)
	if problems, ok := components.ProblemsOf(err); ok {
		return s.renderProtection(c, http.StatusUnprocessableEntity, typed, problems)
	}
	if err != nil {
		return err
	}
	s.flash(c, "protect.caps_saved")
	return redirect(c, "/account/protection")
}

func (s *Server) minorsOn(c echo.Context) error {
	if err := strictForm(c, "pin", "pin_again"); err != nil {
		return err
	}
	u, _ := currentUser(c)
	err := s.spend.Limits().MinorsOn(c.Request().Context(), u.ID, c.FormValue("pin"), c.FormValue("pin_again"))
	return s.minorsAnswer(c, err, "protect.minors_turned_on")
}

// minorsOff needs the guardian PIN; wrong ones are counted and throttled
// by package limits, whatever address or session they come from.
func (s *Server) minorsOff(c echo.Context) error {
	if err := strictForm(c, "pin"); err != nil {
		return err
	}
	u, _ := currentUser(c)
	err := s.spend.Limits().MinorsOff(c.Request().Context(), u.ID, c.FormValue("pin"))
	return s.minorsAnswer(c, err, "protect.minors_turned_off")
}

func (s *Server) minorsAnswer(c echo.Context, err error, done string) error {
	if problems, ok := components.ProblemsOf(err); ok {
		return s.renderProtection(c, http.StatusUnprocessableEntity, nil, problems)
	}
	if err != nil {
		return err
	}
	s.flash(c, done)
	return redirect(c, "/account/protection")
}

func (s *Server) agreementPage(c echo.Context) error {
	return render(c, http.StatusOK, pages.AgreementPage(s.shell(c, "agreement.title", "recharge")), nil)
}

func (s *Server) supportPage(c echo.Context) error {
	return render(c, http.StatusOK, pages.SupportPage(s.shell(c, "support.contact", ""), s.cfg.Support.Contact), nil)
}

// isLimitRefusal reports a refusal by the person's own caps or minors'
// mode, which the API answers as limit_reached.
func isLimitRefusal(err error) bool {
	var r *limits.Refused
	return errors.As(err, &r)
}
