package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"im2pay/views/components"
	"im2pay/views/pages"
)

// redeemPage shows the redemption code form.
func (s *Server) redeemPage(c echo.Context) error {
	sh := s.shell(c, "redeem.title", "account")
	return render(c, http.StatusOK, pages.Redeem(sh, pages.RedeemFormView{}), nil)
}

// redeemCode credits a code once, or shows the form again with why not.
// A throttled person gets 429, so a script sees it as what it is.
func (s *Server) redeemCode(c echo.Context) error {
	if err := strictForm(c, "code"); err != nil {
		return err
	}
	u, _ := currentUser(c)
	f := pages.RedeemFormView{Code: c.FormValue("code")}
	_, err := s.redeem.Redeem(c.Request().Context(), u.ID, c.RealIP(), f.Code)
	if err != nil {
		problems, ok := components.ProblemsOf(err)
		if !ok {
			return err
		}
		f.Problems = problems
		status := http.StatusUnprocessableEntity
		if p := problems["code"]; p != nil && p.Code == "redeem.throttled" {
			status = http.StatusTooManyRequests
		}
		sh := s.shell(c, "redeem.title", "account")
		return render(c, status, pages.Redeem(sh, f), pages.RedeemForm(sh.CSRF, f))
	}
	if sess := session(c); sess != nil {
		sess.AddFlash("redeem.done", sessFlash)
		if err := sess.Save(c.Request(), c.Response()); err != nil {
			// The code is credited; only the notice is lost.
			s.log.ErrorContext(c.Request().Context(), "save session after redemption", "err", err)
		}
	}
	return redirect(c, "/account/redeem")
}
