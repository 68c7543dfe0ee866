package handlers

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"im2pay/account"
)

// deviceCookie is OWASP's device cookie ("Slow Down Online Guessing
// Attacks with Device Cookies"): issued at each successful login, it lets
// this browser keep logging in to the accounts it logged in to while
// someone else's guesses hold those accounts locked. Like the session, it
// carries a random token whose SHA-256 the database keeps.
const deviceCookie = "im2pay_device"

// deviceLifetime is how long a browser stays known without logging in.
const deviceLifetime = 180 * 24 * time.Hour

// deviceToken is the request's device token, "" without a well-formed one.
func (s *Server) deviceToken(c echo.Context) string {
	ck, err := c.Cookie(deviceCookie)
	if err != nil {
		return ""
	}
	if _, ok := tokenHash(ck.Value); !ok {
		return ""
	}
	return ck.Value
}

// devicePaths are the only pages the device cookie goes to: the two that
// check a password. On /account/password it lets the owner change their
// password while strangers' guesses hold the account locked.
var devicePaths = []string{"/login", "/account/password"}

// trustDevice remembers that this browser logged in to u, issuing its
// device cookie first when it has none.
func (s *Server) trustDevice(c echo.Context, token string, u account.User) error {
	if token == "" {
		var err error
		if token, err = newToken(); err != nil {
			return err
		}
	}
	hash, _ := tokenHash(token)
	if err := s.accounts.TrustDevice(c.Request().Context(), hash, u.ID); err != nil {
		return err
	}
	for _, path := range devicePaths {
		c.SetCookie(&http.Cookie{Name: deviceCookie, Value: token, Path: path, MaxAge: int(deviceLifetime / time.Second),
			HttpOnly: true, Secure: s.cfg.Secure, SameSite: http.SameSiteLaxMode})
	}
	return nil
}
