package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"im2pay/account"
	"im2pay/views/pages"
)

// sessionsView lists the user's sessions for the settings page.
func (s *Server) sessionsView(c echo.Context) (pages.SessionsView, error) {
	u, _ := currentUser(c)
	rows, err := s.accounts.Sessions(c.Request().Context(), u.ID)
	if err != nil {
		return pages.SessionsView{}, err
	}
	current, _ := c.Get("session_public_id").(int64)
	v := pages.SessionsView{CSRF: csrfToken(c)}
	for _, r := range rows {
		v.Lines = append(v.Lines, pages.SessionLine{PublicID: r.PublicID, Device: deviceName(r.UserAgent),
			LastSeen: r.LastSeenAt, Address: r.ClientIP, Current: r.PublicID == current})
	}
	return v, nil
}

// endSession logs out one of the person's other sessions. Someone else's
// session, or one already gone, is a 404: the answer never tells whether
// a session id belongs to somebody.
func (s *Server) endSession(c echo.Context) error {
	u, _ := currentUser(c)
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	err = s.accounts.EndSession(c.Request().Context(), u.ID, id)
	if errors.Is(err, account.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if err != nil {
		return err
	}
	s.flash(c, "sessions.ended")
	return redirect(c, "/account/settings")
}

// endOtherSessions logs the person out everywhere but here, and moves this
// session to the new generation with the row.
func (s *Server) endOtherSessions(c echo.Context) error {
	u, _ := currentUser(c)
	gen, err := s.accounts.EndOtherSessions(c.Request().Context(), u.ID, sessionHash(c))
	if err != nil {
		return err
	}
	if sess := session(c); sess != nil {
		sess.Values[sessGeneration] = int64(gen)
	}
	s.flash(c, "sessions.ended_others")
	return redirect(c, "/account/settings")
}

// deviceName reads a browser and a system from a User-Agent, as far as the
// common ones go; the order of the checks matters, since Edge and WeChat
// also say Chrome and Safari, and Chrome also says Safari.
func deviceName(ua string) pages.DeviceName {
	var d pages.DeviceName
	browsers := []struct{ token, name string }{
		{"MicroMessenger", "WeChat"}, {"AlipayClient", "Alipay"}, {"Edg/", "Edge"}, {"OPR/", "Opera"},
		{"Firefox/", "Firefox"}, {"HeadlessChrome", "Chrome (headless)"}, {"Chrome/", "Chrome"},
		{"CriOS/", "Chrome"}, {"Safari/", "Safari"},
	}
	for _, b := range browsers {
		if strings.Contains(ua, b.token) {
			d.Browser = b.name
			break
		}
	}
	systems := []struct{ token, name string }{
		{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	}
	for _, sy := range systems {
		if strings.Contains(ua, sy.token) {
			d.System = sy.name
			break
		}
	}
	return d
}
