package ops

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net"
	"net/http"

	"github.com/labstack/echo/v4"

	"im2pay/staff"
)

// Cookies of the console: both Path=/ops, so a browser never sends them to
// the person-facing pages, and named apart from the users' session cookie,
// so neither side can read the other's.
const (
	sessionCookie = "im2pay_ops"
	// loginCookie carries the login form's CSRF token before there is a
	// session to bind it to (a double submit, behind SameSite=Strict and
	// the site's Origin check).
	loginCookie = "im2pay_ops_login"
)

var (
	errCSRF = echo.NewHTTPError(http.StatusForbidden, "error.csrf")
)

// allowFrom answers 404 outside OPS_ALLOW_CIDRS, before anything else of
// the console runs: from there, there is no console.
func (s *Server) allowFrom(next echo.HandlerFunc) echo.HandlerFunc {
	if len(s.d.AllowCIDRs) == 0 {
		return next
	}
	return func(c echo.Context) error {
		ip := net.ParseIP(c.RealIP())
		for _, n := range s.d.AllowCIDRs {
			if ip != nil && n.Contains(ip) {
				return next(c)
			}
		}
		return echo.ErrNotFound
	}
}

// loadStaff finds the staff session of the cookie, if it is alive, and
// the CSRF token the page's forms carry.
func (s *Server) loadStaff(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Set(keyServer, s)
		if ck, err := c.Cookie(sessionCookie); err == nil {
			sess, m, err := s.d.Staff.Session(ctx(c), ck.Value)
			switch {
			case errors.Is(err, staff.ErrNoSession):
				s.clearCookie(c, sessionCookie)
			case err != nil:
				return err
			default:
				c.Set(keySession, sess)
				c.Set(keyMember, m)
				c.Set(keyToken, ck.Value)
				c.Set(keyCSRF, sess.CSRF)
				return next(c)
			}
		}
		// No session: the login form's token, from its cookie or new.
		if ck, err := c.Cookie(loginCookie); err == nil && len(ck.Value) == 43 {
			c.Set(keyCSRF, ck.Value)
		} else if c.Request().Method == http.MethodGet {
			t := newToken()
			s.setCookie(c, loginCookie, t)
			c.Set(keyCSRF, t)
		}
		return next(c)
	}
}

// checkCSRF refuses every unsafe request whose token (form field _csrf
// or header X-CSRF-Token) is not the session's, or before login the login
// form's. Any failure is the same 403.
func (s *Server) checkCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		want := csrfToken(c)
		got := c.Request().Header.Get("X-CSRF-Token")
		if got == "" {
			got = c.FormValue("_csrf")
		}
		if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			return errCSRF
		}
		return next(c)
	}
}

// requireStaff lets only a fully logged-in member through; anyone else is
// sent to the step of the login they are at, and sees no data.
func (s *Server) requireStaff(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sess, ok := c.Get(keySession).(staff.Session)
		if !ok || sess.Stage != staff.StageFull {
			return redirect(c, stagePath(sess.Stage))
		}
		return next(c)
	}
}

// stagePath is the page of a login step ("" and unknown: the login).
func stagePath(st staff.Stage) string {
	switch st {
	case staff.StageChangePassword:
		return "/ops/password"
	case staff.StageEnroll:
		return "/ops/totp/enroll"
	case staff.StageTOTP:
		return "/ops/totp"
	case staff.StageFull:
		return "/ops"
	}
	return "/ops/login"
}

func (s *Server) setCookie(c echo.Context, name, value string) {
	c.SetCookie(&http.Cookie{Name: name, Value: value, Path: "/ops", HttpOnly: true, Secure: s.d.Secure,
		SameSite: http.SameSiteStrictMode})
}

func (s *Server) clearCookie(c echo.Context, name string) {
	c.SetCookie(&http.Cookie{Name: name, Path: "/ops", MaxAge: -1, HttpOnly: true, Secure: s.d.Secure,
		SameSite: http.SameSiteStrictMode})
}

// newToken is 256 random bits, URL-safe (43 characters).
func newToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
