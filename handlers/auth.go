package handlers

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/a-h/templ"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"im2pay/account"
	"im2pay/views/components"
	"im2pay/views/layout"
	"im2pay/views/pages"
)

const sessionCookie = "im2pay_session"

// loadSession attaches the session and, when logged in, the user.
func (s *Server) loadSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if skipsSession(c) {
			return next(c)
		}
		l, err := s.sessions.load(c.Request(), sessionCookie)
		if err != nil {
			return err
		}
		sess, user := l.sess, l.user
		c.Set("session", sess)
		c.Set("session_public_id", l.publicID)
		if uid, ok := sess.Values[sessUserID].(int64); ok {
			// The session's query brought its user along; a session whose
			// row and data disagree is read the slow way.
			if user != nil && user.ID == uid {
				c.Set("user", *user)
				return next(c)
			}
			u, err := s.accounts.UserByID(c.Request().Context(), uid)
			switch {
			case err == nil:
				c.Set("user", u)
			case !errors.Is(err, account.ErrNotFound):
				return err
			}
		}
		return next(c)
	}
}

func session(c echo.Context) *sessions.Session {
	sess, _ := c.Get("session").(*sessions.Session)
	return sess
}

// sessionHash is the hash of the request's session token, which a payment
// holds while it commits (spend.Purchase.Session); nil without a session.
func sessionHash(c echo.Context) []byte {
	sess := session(c)
	if sess == nil || sess.IsNew {
		return nil
	}
	hash, _ := tokenHash(sess.ID)
	return hash
}

func currentUser(c echo.Context) (account.User, bool) {
	u, ok := c.Get("user").(account.User)
	return u, ok
}

// requireLogin sends a visitor to the login page and back here afterwards.
func (s *Server) requireLogin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := currentUser(c); ok {
			return next(c)
		}
		to := "/login"
		if c.Request().Method == http.MethodGet {
			to += "?next=" + url.QueryEscape(c.Request().URL.RequestURI())
		}
		return redirect(c, to)
	}
}

func (s *Server) home(c echo.Context) error {
	if _, ok := currentUser(c); ok {
		return c.Redirect(http.StatusSeeOther, "/account")
	}
	return c.Redirect(http.StatusSeeOther, "/login")
}

func (s *Server) loginPage(c echo.Context) error {
	next := safeNext(c.QueryParam("next"))
	if _, ok := currentUser(c); ok {
		return c.Redirect(http.StatusSeeOther, orDefault(next, "/account"))
	}
	f := pages.AuthForm{Next: next}
	if next != "" {
		f.Notice = "login.required"
	}
	return render(c, http.StatusOK, pages.Login(s.shell(c, "login.title", ""), f), nil)
}

func (s *Server) login(c echo.Context) error {
	f := pages.AuthForm{Username: c.FormValue("username"), Next: safeNext(c.FormValue("next"))}
	device := s.deviceToken(c)
	deviceHash, _ := tokenHash(device)
	u, err := s.accounts.Authenticate(c.Request().Context(), account.Attempt{Username: f.Username,
		Password: c.FormValue("password"), ClientIP: c.RealIP(), DeviceHash: deviceHash})
	if err != nil {
		return s.refuseAuth(c, err, f, pages.Login, pages.LoginForm, "login.title")
	}
	if err := s.trustDevice(c, device, u); err != nil {
		return err
	}
	if err := s.startSession(c, u, ""); err != nil {
		return err
	}
	return redirect(c, orDefault(f.Next, "/account"))
}

func (s *Server) registerPage(c echo.Context) error {
	f := pages.AuthForm{Next: safeNext(c.QueryParam("next"))}
	return render(c, http.StatusOK, pages.Register(s.shell(c, "register.title", ""), f), nil)
}

func (s *Server) register(c echo.Context) error {
	f := pages.AuthForm{Username: c.FormValue("username"), Next: safeNext(c.FormValue("next"))}
	u, err := s.accounts.Register(c.Request().Context(), f.Username, c.FormValue("password"), c.RealIP())
	if err != nil {
		return s.refuseAuth(c, err, f, pages.Register, pages.RegisterForm, "register.title")
	}
	if err := s.trustDevice(c, s.deviceToken(c), u); err != nil {
		return err
	}
	if err := s.startSession(c, u, "register.welcome"); err != nil {
		return err
	}
	return redirect(c, orDefault(f.Next, "/account"))
}

type (
	authPage func(layout.Shell, pages.AuthForm) templ.Component
	authForm func(csrf string, f pages.AuthForm) templ.Component
)

// refuseAuth re-renders the form with the person's problems: 422 for a
// mistake, 429 while throttled, as the page or (for htmx) the form alone.
func (s *Server) refuseAuth(c echo.Context, err error, f pages.AuthForm, page authPage, form authForm, title string) error {
	problems, ok := components.ProblemsOf(err)
	if !ok {
		return err
	}
	f.Problems = problems
	status := http.StatusUnprocessableEntity
	if p := problems[""]; p != nil && (p.Code == "login.throttled" || p.Code == "register.throttled") {
		status = http.StatusTooManyRequests
	}
	sh := s.shell(c, title, "")
	return render(c, status, page(sh, f), form(sh.CSRF, f))
}

// startSession logs u in on a fresh session id.
func (s *Server) startSession(c echo.Context, u account.User, flash string) error {
	sess := session(c)
	if err := s.sessions.Renew(c.Request(), sess); err != nil {
		return err
	}
	sess.Values = map[any]any{sessUserID: u.ID, sessGeneration: int64(u.SessionGeneration)}
	if flash != "" {
		sess.AddFlash(flash, sessFlash)
	}
	return sess.Save(c.Request(), c.Response())
}

func (s *Server) logout(c echo.Context) error {
	if sess := session(c); sess != nil && !sess.IsNew {
		sess.Options.MaxAge = -1
		if err := sess.Save(c.Request(), c.Response()); err != nil {
			return err
		}
	}
	return redirect(c, "/login")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (s *Server) passwordPage(c echo.Context) error {
	return render(c, http.StatusOK, pages.Password(s.shell(c, "password.title", "account"), nil), nil)
}

// changePassword checks the current password under the login limits, ends
// every session of the user (the store does that, under a new generation)
// and gives the person who changed it a fresh one.
func (s *Server) changePassword(c echo.Context) error {
	u, _ := currentUser(c)
	deviceHash, _ := tokenHash(s.deviceToken(c))
	gen, err := s.accounts.ChangePassword(c.Request().Context(), u.ID, c.FormValue("current_password"),
		c.FormValue("password"), account.Attempt{ClientIP: c.RealIP(), DeviceHash: deviceHash})
	if err != nil {
		problems, ok := components.ProblemsOf(err)
		if !ok {
			return err
		}
		status := http.StatusUnprocessableEntity
		if p := problems["current_password"]; p != nil && p.Code == "password.throttled" {
			status = http.StatusTooManyRequests
		}
		sh := s.shell(c, "password.title", "account")
		return render(c, status, pages.Password(sh, problems), pages.PasswordForm(sh.CSRF, problems))
	}
	u.SessionGeneration = gen
	if err := s.startSession(c, u, "password.changed"); err != nil {
		return err
	}
	return redirect(c, "/account")
}
