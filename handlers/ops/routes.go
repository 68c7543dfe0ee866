package ops

// The console's contract, for each area (orders, wallets and adjustments,
// maintenance and promotions, redemption codes…):
//
//   - Register the area with ONE line in routes below, e.g. s.orderRoutes(g),
//     and write func (s *Server) orderRoutes(g *echo.Group) in the area's
//     own file. g is /ops behind the whole login (password, TOTP): a request
//     without a live staff session never reaches a handler of g. Paths are
//     relative: g.GET("/orders", s.orders) serves /ops/orders.
//   - Every route that changes something names its permission:
//     g.POST("/orders/:no/requery", s.requery, need(staff.Requery)). need
//     answers 403 with the console's page and appends a "denied" audit line.
//     Pages that only read need staff.View, which every role has; say so
//     anyway (need(staff.View)) where a page shows a person's data.
//   - Every POST carries the staff session's CSRF token: put
//     @components.CSRF(csrf) in the form (pass csrfToken(c) to the view);
//     htmx requests send it by themselves (the shell's hx-headers).
//   - s.member(c) is the logged-in staff member (ID, Name, Role).
//   - s.record(c, tx, audit.Entry{Action: "order.requery", ObjectKind:
//     "order", ObjectID: no, Before: …, After: …}) appends the audit line,
//     in the action's transaction when there is one (nil: on its own); it
//     fills in the time (app clock), the staff member and the address.
//   - s.render(c, status, page) sends a templ component (views/console or
//     the area's own views package) inside the console's shell; an htmx
//     request that is not boosted gets the component alone.
//   - Add the area's dependency to Deps (ops.go) and its entry to nav below.
//   - Text comes from views/i18n in zh-CN and en, keys "ops.<area>.…".
//   - Tests: newConsole(t) and loginAs(t, con, role) in harness_test.go.

import (
	"github.com/labstack/echo/v4"

	"im2pay/staff"
)

// navEntry is an area in the console's navigation, shown to the roles
// that hold need.
type navEntry struct {
	path, key string
	need      staff.Permission
}

// nav lists the console's areas in the order the navigation shows them.
var nav = []navEntry{
	{"/ops", "ops.nav.dashboard", staff.View},
	{"/ops/audit", "ops.nav.audit", staff.View},
	{"/ops/staff", "ops.nav.staff", staff.ManageStaff},
	{"/ops/promotions", "ops.nav.promotions", staff.View},
	{"/ops/orders", "ops.nav.orders", staff.View},
	{"/ops/people", "ops.nav.people", staff.View},
	{"/ops/adjustments", "ops.nav.adjustments", staff.View},
	{"/ops/refunds", "ops.nav.refunds", staff.View},
	{"/ops/redeem", "ops.nav.redeem", staff.View},
	{"/ops/maintenance", "ops.nav.maintenance", staff.View},
	{"/ops/reconcile", "ops.nav.reconcile", staff.View},
}

// routes is the whole console: its middleware in order, the login steps,
// then the areas behind the login.
func (s *Server) routes(e *echo.Echo) {
	pub := e.Group("/ops", s.allowFrom, s.loadStaff, s.checkCSRF)
	pub.GET("/login", s.loginPage)
	pub.POST("/login", s.login)
	pub.POST("/logout", s.logout)
	pub.POST("/lang", s.switchLang)
	pub.GET("/password", s.passwordPage)
	pub.POST("/password", s.changePassword)
	pub.GET("/totp/enroll", s.enrollPage)
	pub.POST("/totp/enroll", s.enroll)
	pub.GET("/totp", s.totpPage)
	pub.POST("/totp", s.totp)

	g := pub.Group("", s.requireStaff)
	g.GET("", s.dashboard, need(staff.View))
	g.GET("/", s.dashboard, need(staff.View))
	s.auditRoutes(g)
	s.staffRoutes(g)
	s.promotionRoutes(g)
	s.adjustRoutes(g)
	s.redeemRoutes(g)
	s.orderRoutes(g)
	s.refundRoutes(g)
	s.peopleRoutes(g)
	s.maintenanceRoutes(g)
	s.reconcileRoutes(g)
}
