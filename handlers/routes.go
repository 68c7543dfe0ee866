package handlers

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"im2pay/handlers/ops"
	"im2pay/static"
)

// maxBody bounds every request body: our forms are small, and a huge body
// must cost us nothing.
const maxBody = "64K"

// routes is the whole site: the middleware in the order it runs, then every
// route. Read it top to bottom.
func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = s.ipExtractor()
	e.HTTPErrorHandler = s.handleError

	e.Use(middleware.Recover())
	e.Use(requestID)
	e.Use(s.measure)
	e.Use(s.accessLog())
	e.Use(s.warnUntrustedProxy)
	e.Use(s.securityHeaders)
	e.Use(middleware.BodyLimit(maxBody))
	e.Use(s.sameOrigin)
	e.Use(s.locale)
	e.Use(s.supportContext)
	e.Use(s.refuseBadText)
	e.Use(s.loadSession)
	e.Use(s.csrf())

	e.GET("/livez", livez)
	e.GET("/readyz", s.readyz)
	e.GET("/healthz", s.readyz) // the older name, kept for existing checks
	e.StaticFS("/static", static.FS)

	e.GET("/", s.home)
	e.POST("/lang", s.switchLang)
	e.GET("/login", s.loginPage)
	e.POST("/login", s.login)
	e.GET("/register", s.registerPage)
	e.POST("/register", s.register)
	e.POST("/logout", s.logout)

	// Per-route, not e.Group(""): an empty-prefix group would also wrap the
	// not-found handler and send every unknown path to the login page.
	e.GET("/account", s.account, s.requireLogin)
	e.GET("/history", s.history, s.requireLogin)
	e.GET("/recharge", s.recharge, s.requireLogin)
	e.POST("/recharge", s.rechargeSubmit, s.requireLogin) // the page's 立即充值 (cashier.go)
	e.GET("/recharge/preview", s.rechargePreview, s.requireLogin)
	e.GET("/recharge/confirm", s.rechargeConfirm, s.requireLogin)
	e.POST("/recharge/orders", s.createOrder, s.requireLogin)
	e.GET("/recharge/orders", s.myOrders, s.requireLogin)
	e.GET("/recharge/orders/:no", s.orderResult, s.requireLogin)
	e.GET("/recharge/orders/:no/pay", s.payOrder, s.requireLogin)
	e.GET("/recharge/orders/:no/status", s.orderStatus, s.requireLogin)
	e.POST("/recharge/orders/:no/check", s.recheckOrder, s.requireLogin)
	e.POST("/recharge/orders/:no/cancel", s.cancelOrder, s.requireLogin)
	e.POST("/recharge/orders/:no/paid", s.saidPaid, s.requireLogin)
	e.POST("/recharge/orders/:no/renew", s.renewOrder, s.requireLogin)
	e.POST("/recharge/orders/:no/refund", s.askRefund, s.requireLogin)

	// Provider callbacks: no session, no CSRF token; each one proves itself
	// by the provider's signature (see isProviderCallback).
	e.GET("/recharge/orders/:no/return", s.providerReturn)
	e.POST("/recharge/orders/:no/return", s.providerReturn)
	e.POST("/pay/notify/:method", s.notify)
	e.GET("/account/password", s.passwordPage, s.requireLogin)
	e.POST("/account/password", s.changePassword, s.requireLogin)

	s.spendRoutes(e)
	s.giftRoutes(e)
	s.statementRoutes(e)
	s.apiRoutes(e)
	if s.ops != nil {
		ops.Mount(e, *s.ops) // the operations console, its own sessions and CSRF
	}
	s.redeemRoutes(e)
	s.liveRoutes(e)
	s.protectRoutes(e)
	s.receiptRoutes(e)
	return e
}

// skipsSession lists paths that need neither a session nor a CSRF cookie:
// health, static files, provider callbacks, the service API (bearer
// token, no cookies, so nothing for a cross-site request to ride on), and
// the operations console, which has its own staff session and CSRF: a
// user's session must never be read there.
func skipsSession(c echo.Context) bool {
	p := c.Request().URL.Path
	return p == "/healthz" || p == "/livez" || p == "/readyz" || strings.HasPrefix(p, "/static/") || isProviderCallback(p) || isServiceAPI(p) || isOps(p)
}

// isOps matches the operations console under /ops (package ops).
func isOps(path string) bool { return path == "/ops" || strings.HasPrefix(path, "/ops/") }

// isServiceAPI matches the IM backend's API under /api/v1/.
func isServiceAPI(path string) bool { return strings.HasPrefix(path, "/api/") }

// isProviderCallback matches the only routes exempt from CSRF: providers
// post there from their own servers or the person's browser, and each
// request is accepted only with the provider's valid signature.
func isProviderCallback(path string) bool {
	if strings.HasPrefix(path, "/pay/notify/") {
		return true
	}
	rest, ok := strings.CutPrefix(path, "/recharge/orders/")
	return ok && strings.HasSuffix(rest, "/return") && strings.Count(rest, "/") == 1
}

// livez answers while the process can serve at all: a supervisor restarts
// the process when it stops answering, and nothing here may depend on the
// database, or a database outage would restart every instance for nothing.
func livez(c echo.Context) error { return c.String(http.StatusOK, "ok\n") }

// readyz answers 200 when this instance may take traffic: the database
// answers and holds exactly the schema this binary was built for.
func (s *Server) readyz(c echo.Context) error {
	if err := s.wallet.Ready(c.Request().Context()); err != nil {
		s.log.WarnContext(c.Request().Context(), "not ready", "err", err)
		return c.String(http.StatusServiceUnavailable, "not ready: database unreachable or schema not current\n")
	}
	return c.String(http.StatusOK, "ok\n")
}

// streamedPaths answer with a stream that can outlast any whole-request
// deadline: the CSV exports, which renew a write deadline page by page so a
// reader that stops is still cut off, and the live balance stream. The server gives every other request
// one deadline for all its work (see cmd/im2pay's withDeadline); a stream's
// database reads are each bounded by the pool's read timeout instead.
var streamedPaths = map[string]bool{
	"/history/export.csv": true,
	"/ops/orders.csv":     true,
	LiveStreamPath:        true,
}

// Streams reports whether path answers with a stream (see streamedPaths).
func Streams(path string) bool { return streamedPaths[path] }
