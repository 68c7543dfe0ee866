package handlers

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"im2pay/ledger"
	"im2pay/views/components"
	"im2pay/views/i18n"
	"im2pay/views/pages"
)

func (s *Server) account(c echo.Context) error {
	u, _ := currentUser(c)
	o, err := s.wallet.AccountCenter(c.Request().Context(), u)
	if err != nil {
		return err
	}
	orders, err := s.recharges.RecentOrders(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, pages.Account(s.shell(c, "account.title", "account"), o, orders), nil)
}

// history serves the whole page, the filtered list (htmx filter) or the
// next rows (htmx "load more"); a plain link gets the whole page each time.
func (s *Server) history(c echo.Context) error {
	u, _ := currentUser(c)
	v := pages.HistoryView{Kind: c.QueryParam("kind"), From: c.QueryParam("from"), To: c.QueryParam("to")}
	for _, k := range ledger.Kinds {
		v.Kinds = append(v.Kinds, string(k))
	}
	status := http.StatusOK
	f, err := s.statement.ParseFilter(v.Kind, v.From, v.To, c.QueryParam("before"))
	if err != nil {
		var ok bool
		if v.Problems, ok = components.ProblemsOf(err); !ok {
			return err
		}
		status = http.StatusUnprocessableEntity
	} else if v.Page, err = s.statement.History(c.Request().Context(), u.WalletID, f); err != nil {
		return err
	}
	page := pages.History(s.shell(c, "history.title", "history"), v)
	partial := pages.HistoryResults(v)
	if f.Before != 0 && status == http.StatusOK {
		partial = pages.HistoryMore(v)
	}
	return render(c, status, page, partial)
}

// switchLang remembers the chosen language for a year and returns the
// person to the page they were on.
func (s *Server) switchLang(c echo.Context) error {
	lang, ok := i18n.Parse(c.FormValue("lang"))
	if !ok {
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	c.SetCookie(&http.Cookie{
		Name: langCookie, Value: string(lang), Path: "/", MaxAge: int((365 * 24 * time.Hour).Seconds()),
		HttpOnly: true, Secure: s.cfg.Secure, SameSite: http.SameSiteLaxMode,
	})
	return redirect(c, orDefault(safeNext(c.FormValue("next")), "/"))
}
