// Package ops is the operations console under /ops: staff login with a
// second factor, staff sessions of their own, CSRF, the role check, the
// audit log, and the page shell the console's areas render into. See
// routes.go for how an area plugs in.
package ops

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/a-h/templ"
	"github.com/jmoiron/sqlx"
	"github.com/labstack/echo/v4"

	"im2pay/adjust"
	"im2pay/audit"
	"im2pay/people"
	"im2pay/recharge"
	"im2pay/reconcile"
	"im2pay/redeem"
	"im2pay/refund"
	"im2pay/spend"
	"im2pay/staff"
	"im2pay/views/console"
	"im2pay/views/i18n"
)

// Deps is what the console needs from the process; each area adds the
// domain service it calls here.
type Deps struct {
	Staff *staff.Service
	// Recharge and Spend are the promotions area's: rule versions, events.
	Recharge *recharge.Service
	Spend    *spend.Service
	// People is the person page's reads and "end all sessions".
	People *people.Service
	// DB is the primary database: audit lines outside an action's own
	// transaction, and the audit page's reads.
	DB *sqlx.DB
	// Adjust is support's wallet adjustments (/ops/adjustments).
	Adjust *adjust.Service
	// Redeem is the redemption code batches (/ops/redeem).
	Redeem *redeem.Service
	// Refund is finance's refunds (the order page's form, /ops/refunds);
	// nil: not offered.
	Refund *refund.Service
	// Reconcile is the daily reconciliation's reports (/ops/reconcile);
	// nil: not offered.
	Reconcile *reconcile.Service
	// Secure marks the cookies Secure (the site is served over HTTPS).
	Secure bool
	// AllowCIDRs, when not empty, are the only networks /ops answers to;
	// everyone else gets 404, as if there were no console.
	AllowCIDRs []*net.IPNet
	// Now is the app clock (audit times; the staff service has its own).
	Now    func() time.Time
	Logger *slog.Logger
}

// Server is the console's handlers and their dependencies.
type Server struct {
	d   Deps
	log *slog.Logger
}

// Context keys of what the middleware found.
const (
	keyServer  = "ops.server"
	keySession = "ops.session"
	keyMember  = "ops.member"
	keyToken   = "ops.token"
	keyCSRF    = "ops.csrf"
)

// Mount adds /ops and everything under it to e. The site's middleware
// (security headers, body limit, same-origin check, locale) runs first;
// the users' session and CSRF skip /ops (handlers.skipsSession).
func Mount(e *echo.Echo, d Deps) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	s := &Server{d: d, log: d.Logger}
	s.routes(e)
}

// member is the logged-in staff member; behind requireStaff it is always
// set (the zero Member, who can do nothing, elsewhere).
func (s *Server) member(c echo.Context) staff.Member {
	m, _ := c.Get(keyMember).(staff.Member)
	return m
}

// csrfToken is the token every form of the page carries (field _csrf) and
// htmx sends (X-CSRF-Token): the staff session's own, or before login the
// login form's.
func csrfToken(c echo.Context) string {
	t, _ := c.Get(keyCSRF).(string)
	return t
}

// record appends e to the audit log through q (pass the action's
// transaction, so the action and its line commit together; nil writes on
// its own), filling in the time from the app clock, the staff member and
// the client's address.
func (s *Server) record(c echo.Context, q sqlx.ExecerContext, e audit.Entry) error {
	if q == nil {
		q = s.d.DB
	}
	return audit.Append(c.Request().Context(), q, s.Entry(c, e))
}

// Entry is e with who, when and from where filled in as record fills them:
// for a domain call that appends the line inside its own transaction
// (recharge.PublishRules, spend.AddEvent…), where record cannot reach.
func (s *Server) Entry(c echo.Context, e audit.Entry) audit.Entry {
	e.At = s.d.Now()
	if m := s.member(c); m.ID != 0 && e.StaffID == 0 && e.StaffName == "" {
		e.StaffID, e.StaffName = m.ID, m.Name
	}
	e.ClientIP = truncate(c.RealIP(), 64)
	e.StaffName = truncate(e.StaffName, 64)
	return e
}

// need refuses, with a 403 page and an audit line "denied", a member
// whose role lacks p. Every route that changes something names one.
func need(p staff.Permission) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			s, _ := c.Get(keyServer).(*Server)
			if s == nil {
				return errors.New("ops: need() outside the console's middleware")
			}
			m := s.member(c)
			if m.ID != 0 && m.Can(p) {
				return next(c)
			}
			if err := s.record(c, nil, audit.Entry{Action: "denied", Detail: truncate(string(p)+" "+c.Request().Method+" "+c.Request().URL.Path, 2000)}); err != nil {
				return err
			}
			return s.render(c, http.StatusForbidden, console.Forbidden())
		}
	}
}

// render sends page inside the console's shell, or alone to an htmx
// request that is not a boosted navigation.
func (s *Server) render(c echo.Context, status int, page templ.Component) error {
	c.Response().Header().Add("Vary", "HX-Request")
	h := c.Request().Header
	comp := page
	ctx := c.Request().Context()
	if h.Get("HX-Request") != "true" || h.Get("HX-Boosted") == "true" {
		comp = console.Page(s.shell(c))
		ctx = templ.WithChildren(ctx, page)
	}
	var buf bytes.Buffer
	if err := comp.Render(ctx, &buf); err != nil {
		return err
	}
	rh := c.Response().Header()
	rh.Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	rh.Set(echo.HeaderContentLength, strconv.Itoa(buf.Len()))
	c.Response().WriteHeader(status)
	_, err := c.Response().Write(buf.Bytes())
	return err
}

// shell is the frame of the page: the member, and the areas their role
// may open, the current one marked.
func (s *Server) shell(c echo.Context) console.Shell {
	sh := console.Shell{CSRF: csrfToken(c), Path: c.Request().URL.RequestURI()}
	m := s.member(c)
	if sess, ok := c.Get(keySession).(staff.Session); ok && sess.Stage == staff.StageFull && m.ID != 0 {
		sh.Name, sh.Role = m.Name, string(m.Role)
		path := c.Request().URL.Path
		for _, it := range nav {
			if !m.Can(it.need) {
				continue
			}
			sh.Nav = append(sh.Nav, console.NavItem{Path: it.path, Key: it.key})
			if (path == it.path || strings.HasPrefix(path, it.path+"/")) && len(it.path) > len(sh.Active) {
				sh.Active = it.path
			}
		}
	}
	if f := c.QueryParam("done"); strings.HasPrefix(f, "ops.") && i18n.Has(f) {
		sh.Flash = []string{f}
	}
	return sh
}

// redirect ends a successful POST: HX-Redirect for htmx, 303 otherwise.
func redirect(c echo.Context, to string) error {
	if c.Request().Header.Get("HX-Request") == "true" {
		c.Response().Header().Set("HX-Redirect", to)
		return c.NoContent(http.StatusOK)
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// truncate cuts s to at most n bytes, never inside a character: half a
// character is not UTF-8, which PostgreSQL refuses, so a typed name or a
// search of the right length would turn its audit line into a 500.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ctx is the request's context, for the domain calls.
func ctx(c echo.Context) context.Context { return c.Request().Context() }
