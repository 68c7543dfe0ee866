// Package handlers is the web tier: every route, the middleware in its
// order, and one small handler per action. It keeps no state of its own;
// sessions live in PostgreSQL, so instances can run side by side.
package handlers

import (
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"im2pay/account"
	"im2pay/center"
	"im2pay/handlers/ops"
	"im2pay/internal/reqlog"
	"im2pay/live"
	"im2pay/metrics"
	"im2pay/recharge"
	"im2pay/redeem"
	"im2pay/refund"
	"im2pay/spend"
	"im2pay/statement"
	"im2pay/views/components"
	"im2pay/wallet"
)

// Config is what the web tier needs from the process configuration.
type Config struct {
	// Secure means the site is served over HTTPS: cookies get Secure and
	// responses get HSTS. Off only in development on plain HTTP.
	Secure bool
	// Origin is the site's own origin (scheme://host[:port]) for the Origin
	// check; empty means "the Host the request came to".
	Origin string
	// TrustedProxies are the networks whose X-Forwarded-For we believe;
	// empty means the client address is the TCP peer, so a forged header
	// cannot change whom the login throttle counts.
	TrustedProxies  []*net.IPNet
	Location        *time.Location
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
	Now             func() time.Time
	Logger          *slog.Logger
	// FormActionOrigins are the providers' origins our pages may send a
	// form (or a form's redirect) to: CSP form-action covers both.
	FormActionOrigins []string
	// SandboxScanURL, when set, turns a WeChat code_url into the sandbox's
	// "scan" page, so a desktop tester can pay without a phone.
	SandboxScanURL func(codeURL string) string
	// ServiceToken is the bearer token the IM backend presents to /api/v1;
	// empty refuses every call with 401.
	ServiceToken string
	// Metrics, when not nil, counts requests by route for Prometheus.
	Metrics *metrics.Metrics
	// LiveHeartbeat is how often an idle live balance stream sends a
	// comment and checks its session; 0: DefaultLiveHeartbeat.
	LiveHeartbeat time.Duration
	// Support is the 客服 entry of the result and failure pages
	// (SUPPORT_URL, SUPPORT_CONTACT).
	Support components.SupportInfo
}

// ScanURL is the sandbox's scan page for a code_url, or "" outside the sandbox.
func (c Config) ScanURL(codeURL string) string {
	if c.SandboxScanURL == nil {
		return ""
	}
	return c.SandboxScanURL(codeURL)
}

// Server holds the dependencies every handler shares.
type Server struct {
	wallet   *wallet.Service
	accounts *account.Service
	// recharge quotes, creates, follows and credits top-ups.
	recharges *recharge.Service
	// statement reads histories, exports and summaries (the replica's work).
	statement *statement.Service
	spend     *spend.Service
	center    *center.Service
	redeem    *redeem.Service
	refunds   *refund.Service // nil: people cannot ask for refunds
	sessions  *SessionStore
	cfg       Config
	log       *slog.Logger
	csp       string
	// proxyWarning logs the missing TRUSTED_PROXIES once per process.
	proxyWarning sync.Once
	// ops is the console's dependencies (nil: no /ops).
	ops *ops.Deps
	// live reads balances for the header and streams them (nil: no live
	// balance).
	live *live.Service
}

// Services are the domain services the handlers call, one per thing the
// pages do.
type Services struct {
	Accounts  *account.Service   // logins, sessions and their limits
	Wallet    *wallet.Service    // money in and out
	Recharge  *recharge.Service  // top-ups: orders, providers, crediting
	Statement *statement.Service // history, export, summary
	Spend     *spend.Service     // shop, gifts, events, per-use charges
	Center    *center.Service    // the account center
	// Ops, when not nil, mounts the operations console under /ops.
	Ops    *ops.Deps
	Redeem *redeem.Service // redemption codes
	Refund *refund.Service // refunds people ask for in 我的充值 (nil: none)
	Live   *live.Service   // the header's live balance and its stream (nil: none)
}

// New builds the router with every route and middleware over the
// services.
func New(svc Services, cfg Config) *echo.Echo {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Logger == nil {
		cfg.Logger = reqlog.New(os.Stderr, "text")
	}
	s := &Server{
		wallet:    svc.Wallet,
		accounts:  svc.Accounts,
		recharges: svc.Recharge,
		statement: svc.Statement,
		spend:     svc.Spend,
		center:    svc.Center,
		redeem:    svc.Redeem,
		refunds:   svc.Refund,
		live:      svc.Live,
		cfg:       cfg,
		log:       cfg.Logger,
		csp:       contentSecurityPolicy(cfg.FormActionOrigins),
	}
	if svc.Ops != nil {
		d := *svc.Ops
		d.Secure = cfg.Secure
		if d.Now == nil {
			d.Now = cfg.Now
		}
		if d.Logger == nil {
			d.Logger = cfg.Logger
		}
		s.ops = &d
	}
	s.sessions = NewSessionStore(svc.Accounts, cfg.Secure, cfg.IdleTimeout, cfg.AbsoluteTimeout, cfg.Now, s.ipExtractor())
	return s.routes()
}
