package handlers

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"im2pay/internal/reqlog"
	"im2pay/views/i18n"
)

// contentSecurityPolicy allows scripts and styles from this site only: no
// inline script, no eval (htmx runs with allowEval off), no framing. Forms
// may go to this site and to the payment providers' origins.
func contentSecurityPolicy(formOrigins []string) string {
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
		"form-action 'self'" + strings.Join(append([]string{""}, formOrigins...), " ") + "; frame-ancestors 'none'"
}

// securityHeaders runs before everything that can fail, so error pages carry
// the headers too.
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", s.csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if s.cfg.Secure {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		if !strings.HasPrefix(c.Request().URL.Path, "/static/") {
			// Balances and histories must not linger in shared caches.
			h.Set("Cache-Control", "no-store")
		}
		return next(c)
	}
}

// sameOrigin refuses state changes that a browser says came from another
// site, by Fetch Metadata or by Origin. It then removes Sec-Fetch-Site from
// every request, safe ones included: Echo's CSRF middleware trusts that
// header alone (it skips the token on a same-origin request, and on a GET
// it issues a placeholder instead of a token), and we want both locks.
func (s *Server) sameOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		site := r.Header.Get("Sec-Fetch-Site")
		r.Header.Del("Sec-Fetch-Site")
		c.Set(fetchSiteKey, site) // the live routes check reads too (liveGuard)
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		if isProviderCallback(r.URL.Path) || isServiceAPI(r.URL.Path) {
			return next(c)
		}
		if site != "" && site != "same-origin" && site != "none" {
			return errCrossSite
		}
		if origin := r.Header.Get("Origin"); origin != "" && origin != s.origin(c) {
			return errCrossSite
		}
		return next(c)
	}
}

var errCrossSite = echo.NewHTTPError(http.StatusForbidden, "error.csrf")

func (s *Server) origin(c echo.Context) string {
	if s.cfg.Origin != "" {
		return s.cfg.Origin
	}
	scheme := "http"
	if s.cfg.Secure {
		scheme = "https"
	}
	return scheme + "://" + c.Request().Host
}

// csrf checks a per-browser token (form field _csrf or X-CSRF-Token header)
// on every unsafe request. Any failure is a 403, whatever the cause.
func (s *Server) csrf() echo.MiddlewareFunc {
	return middleware.CSRFWithConfig(middleware.CSRFConfig{
		Skipper:        skipsSession,
		TokenLookup:    "form:_csrf,header:X-CSRF-Token",
		CookieName:     "im2pay_csrf",
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   s.cfg.Secure,
		CookieSameSite: http.SameSiteLaxMode,
		CookieMaxAge:   12 * 3600,
		ErrorHandler: func(err error, c echo.Context) error {
			return errCrossSite
		},
	})
}

func csrfToken(c echo.Context) string {
	t, _ := c.Get(middleware.DefaultCSRFConfig.ContextKey).(string)
	return t
}

const langCookie = "im2pay_lang"

// locale decides the reader's language: their choice in a cookie, else the
// browser's Accept-Language, else Chinese.
func (s *Server) locale(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		lang := i18n.Match(c.Request().Header.Get("Accept-Language"))
		if ck, err := c.Cookie(langCookie); err == nil {
			if l, ok := i18n.Parse(ck.Value); ok {
				lang = l
			}
		}
		r := c.Request()
		c.SetRequest(r.WithContext(i18n.WithLocale(r.Context(), lang, s.cfg.Location)))
		c.Response().Header().Set("Content-Language", string(lang))
		c.Response().Header().Add("Vary", "Accept-Language")
		return next(c)
	}
}

// requestID names each request: a short, plain id a proxy in front sent
// (so one id follows the request through both logs), else a fresh one. The
// id goes back in X-Request-Id, on error pages, and into the request's
// context, where the logger finds it for every line the request writes.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !plainID(id) {
			id = newRequestID()
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		c.SetRequest(c.Request().WithContext(reqlog.WithID(c.Request().Context(), id)))
		return next(c)
	}
}

// plainID accepts an incoming id of 8 to 64 letters, digits, '-', '_' or
// '.': anything else could forge log lines or fill them.
func plainID(id string) bool {
	if len(id) < 8 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// measure counts each request for Prometheus under its route pattern.
// The access log inside it has turned any error into the answer already;
// an error it passed on unanswered is counted with the status it will get.
func (s *Server) measure(next echo.HandlerFunc) echo.HandlerFunc {
	if s.cfg.Metrics == nil {
		return next
	}
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		status := c.Response().Status
		if err != nil && !c.Response().Committed {
			status = http.StatusInternalServerError
			var he *echo.HTTPError
			if errors.As(err, &he) {
				status = he.Code
			}
		}
		route := c.Path()
		if route == "" || route == "/*" {
			route = "unmatched" // no route: the raw path would make a series per probe
		}
		s.cfg.Metrics.Request(route, c.Request().Method, status, time.Since(start))
		return err
	}
}

// accessLog writes one structured line per request; the logger adds its
// request id from the context.
func (s *Server) accessLog() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURIPath: true, LogMethod: true, LogLatency: true, LogRemoteIP: true,
		LogError: true, HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			attrs := []any{"method", v.Method, "path", v.URIPath, "route", c.Path(), "status", v.Status,
				"latency_ms", v.Latency.Milliseconds(), "ip", v.RemoteIP}
			ctx := c.Request().Context()
			var he *echo.HTTPError
			// A 4xx and a client that went away are not our failures.
			if v.Error != nil && !(errors.As(v.Error, &he) && he.Code < 500) && !errors.Is(v.Error, context.Canceled) {
				s.log.ErrorContext(ctx, "request", append(attrs, "err", v.Error)...)
				return nil
			}
			s.log.InfoContext(ctx, "request", attrs...)
			return nil
		},
	})
}

// ipExtractor decides whom the login throttle counts. Without trusted
// proxies the TCP peer is the client and X-Forwarded-For is ignored.
func (s *Server) ipExtractor() echo.IPExtractor {
	if len(s.cfg.TrustedProxies) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range s.cfg.TrustedProxies {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// proxyHeaders name a request that came through a reverse proxy.
var proxyHeaders = []string{echo.HeaderXForwardedFor, echo.HeaderXRealIP, "Forwarded"}

// warnUntrustedProxy says once, in the log, that requests seem to arrive
// through a proxy while TRUSTED_PROXIES is unset: every client behind it
// then counts as the proxy's one address, and 300 failed logins from
// anyone there would lock everyone there out of logging in. A request
// seems proxied when it carries a forwarding header, or, in production
// (where people come from the internet), when its peer is a loopback or
// private address, as a reverse proxy on the same host or network is.
func (s *Server) warnUntrustedProxy(next echo.HandlerFunc) echo.HandlerFunc {
	if len(s.cfg.TrustedProxies) > 0 {
		return next
	}
	return func(c echo.Context) error {
		if why := s.proxySign(c.Request()); why != "" {
			s.proxyWarning.Do(func() {
				s.log.WarnContext(c.Request().Context(), "requests arrive through a proxy but TRUSTED_PROXIES is unset: every client behind it "+
					"counts as one address for the login and sign-up limits; set TRUSTED_PROXIES to the proxy's "+
					"addresses (CIDR)", "proxy", c.RealIP(), "sign", why)
			})
		}
		return next(c)
	}
}

// proxySign names what makes r look proxied, "" when nothing does.
func (s *Server) proxySign(r *http.Request) string {
	for _, h := range proxyHeaders {
		if r.Header.Get(h) != "" {
			return "header " + h
		}
	}
	if !s.cfg.Secure {
		return ""
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	if ip, err := netip.ParseAddr(host); err == nil && (ip.Unmap().IsLoopback() || ip.Unmap().IsPrivate()) {
		return "peer " + ip.Unmap().String()
	}
	return ""
}
