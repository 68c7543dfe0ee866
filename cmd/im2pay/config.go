package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"im2pay/wallet"
)

// config is every setting, read once from the environment.
type config struct {
	ListenAddr  string
	DatabaseURL string // empty: run a private cluster under DataDir
	// DatabaseReplicaURL, when set, is a streaming replica of the database
	// that serves the history, the statement export and the summary.
	DatabaseReplicaURL string
	DataDir            string
	PGPort             int
	Production         bool
	BaseURL            string
	TrustedProxies     []*net.IPNet
	Location           *time.Location
	IdleTimeout        time.Duration
	AbsoluteTimeout    time.Duration
	DBMaxConns         int
	SignupGrant        wallet.Money
	SeedDemo           bool
	SandboxAddr        string // non-empty: run the sandbox gateway there and point the app at it
	// SandboxWebAddr is where the sandbox serves its cashier and approve
	// pages: a second origin, as every real provider's pages live on other
	// hosts than its API (PROVIDERS.md §1.7, §2.7, §3.7, §4.7).
	SandboxWebAddr string
	PaymentConfig  string
	// FormActionOrigins are extra provider origins for CSP form-action
	// (a provider whose pages live on another host than its API).
	FormActionOrigins []string
	// ServiceToken is the IM backend's bearer token for /api/v1 (empty:
	// every API call is refused with 401).
	ServiceToken string
	// ReconcileInterval is how often the reconciler runs; ReconcileAfter is
	// how long an order stays pending before it is asked about.
	ReconcileInterval time.Duration
	ReconcileAfter    time.Duration
	// ReconcileAt is how long after Beijing midnight yesterday's bills are
	// reconciled (对账), once a day per provider.
	ReconcileAt time.Duration
	// SealPeriod is how often the ledger's sealer runs; zero turns it off,
	// which only a benchmark's comparison may do (production refuses it).
	SealPeriod time.Duration
	// RequestTimeout bounds each request's work (its context), so a
	// database that hangs cannot hold a request forever.
	RequestTimeout time.Duration
	// WebhookURL, when set, receives every balance change, signed with
	// WebhookSecret.
	WebhookURL, WebhookSecret string
	// MetricsAddr, when set, serves Prometheus's /metrics there.
	MetricsAddr string
	// LogFormat is "text" (for a person) or "json" (for a log collector).
	LogFormat string
	// OpsAllowCIDRs, when not empty, are the only networks the operations
	// console answers to.
	OpsAllowCIDRs []*net.IPNet
	// OpsApprovalAbove: a console adjustment of more than this waits for a
	// second staff member's approval (four eyes).
	OpsApprovalAbove wallet.Money
	// MinorsTopUpEach and MinorsTopUpMonth cap top-ups in minors' mode
	// (青少年模式); SupportURL and SupportContact are the 客服 entry.
	MinorsTopUpEach, MinorsTopUpMonth wallet.Money
	SupportURL, SupportContact        string
}

// settings documents each variable and its default; the README's table is
// this one.
var settings = []struct{ name, def, help string }{
	{"LISTEN_ADDR", "127.0.0.1:8080", "address the web server listens on"},
	{"DATABASE_URL", "", "PostgreSQL URL; empty starts a private cluster under DATA_DIR/pg"},
	{"DATABASE_REPLICA_URL", "", "PostgreSQL URL of a streaming replica of the database; history, CSV export and summary read there (they may trail by the replica's lag), everything else reads the primary; empty: all on the primary"},
	{"DATA_DIR", ".data", "where the private cluster and generated keys live"},
	{"PG_PORT", "54329", "port of the private cluster"},
	{"APP_ENV", "development", "development or production, in any case (production requires an https BASE_URL and refuses play money: see Going live in the README)"},
	{"BASE_URL", "", "public origin, e.g. https://pay.example.com; empty: http://LISTEN_ADDR"},
	{"TRUSTED_PROXIES", "", "comma-separated CIDRs whose X-Forwarded-For is believed"},
	{"TIME_ZONE", "Asia/Shanghai", "time zone dates are shown in"},
	{"SESSION_IDLE_TIMEOUT", "30m", "log out after this long without a request"},
	{"SESSION_ABSOLUTE_TIMEOUT", "12h", "log out this long after logging in, whatever happens"},
	{"DB_MAX_CONNS", "20", "connection pool size"},
	{"SIGNUP_GRANT", "0", "credit (yuan) granted to each new account"},
	{"SEED_DEMO", "false", "create the demo account at start (make run sets it)"},
	{"SANDBOX_ADDR", "", "run the sandbox payment gateway on this address and use it (make run: 127.0.0.1:8090)"},
	{"SANDBOX_WEB_ADDR", "", "where the sandbox serves its cashier and approve pages, a second origin like the providers' own page hosts; empty: SANDBOX_ADDR's host on the next port (make run: 127.0.0.1:8091)"},
	{"PAYMENT_CONFIG", "", "merchant configuration of the providers (JSON); default DATA_DIR/payment.json"},
	{"FORM_ACTION_ORIGINS", "", "extra comma-separated origins forms may go to, beyond each payment configuration section's API origin and web_origins (rarely needed)"},
	{"SERVICE_TOKEN", "", "bearer token of the IM backend for /api/v1 (32+ visible ASCII characters); empty: the API answers 401"},
	{"RECONCILE_INTERVAL", "1m", "how often pending orders are reconciled with their provider"},
	{"RECONCILE_AFTER", "2m", "how long an order stays pending before the reconciler asks its provider"},
	{"RECONCILE_AT", "10:00", "when (Beijing time, HH:MM) yesterday's bills are fetched and reconciled with our orders and refunds (对账), once a day per provider"},
	{"WEBHOOK_URL", "", "where balance-change events are POSTed (the IM backend); empty: none are sent. Setting it turns their recording on"},
	{"WEBHOOK_SECRET", "", "HMAC-SHA256 key that signs each webhook delivery (32+ visible ASCII characters); required with WEBHOOK_URL"},
	{"METRICS_ADDR", "", "serve Prometheus metrics at http://METRICS_ADDR/metrics, apart from the site (e.g. 127.0.0.1:9464); empty: off"},
	{"LOG_FORMAT", "text", "text (key=value lines) or json (one JSON object per line); every line of a request carries its request_id"},
	{"OPS_ALLOW_CIDRS", "", "comma-separated CIDRs the operations console (/ops) answers to; others get 404; empty: every address"},
	{"REQUEST_TIMEOUT", "60s", "the longest a request may work (and wait for the database) before it fails; a streamed CSV export instead bounds each database read and each page it writes"},
	{"SEAL_PERIOD", "1s", "how often the ledger's sealer seals what was committed since, from 100ms to 30s (a transaction is sealed within about two periods while postings stay under 20,000 a period); 0 turns sealing off, for a benchmark's comparison only, and production refuses it"},
	{"OPS_APPROVAL_ABOVE", "500.00", "a console adjustment of more than this (yuan) waits for a second staff member's approval"},
	{"MINORS_TOPUP_EACH", "50.00", "in minors' mode (青少年模式) the most one top-up may be (yuan)"},
	{"MINORS_TOPUP_MONTH", "200.00", "in minors' mode the most top-ups may total in a Beijing month (yuan)"},
	{"SUPPORT_URL", "", "where the 客服 (support) entry of the result and failure pages leads (https URL or mailto:); empty: the app's own /support page"},
	{"SUPPORT_CONTACT", "", "a line of support contact shown beside the 客服 entry and on /support (e.g. a phone number and hours); empty: none"},
}

// loadConfig reads every variable and reports all bad ones together.
func loadConfig(getenv func(string) string) (config, error) {
	get := func(name string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		for _, s := range settings {
			if s.name == name {
				return s.def
			}
		}
		return ""
	}
	var errs []error
	bad := func(name string, err error) { errs = append(errs, fmt.Errorf("%s: %w", name, err)) }
	c := config{ListenAddr: get("LISTEN_ADDR"), DatabaseURL: get("DATABASE_URL"), DatabaseReplicaURL: get("DATABASE_REPLICA_URL"),
		DataDir: get("DATA_DIR"), MetricsAddr: get("METRICS_ADDR"),
		BaseURL: get("BASE_URL"), SandboxAddr: get("SANDBOX_ADDR"), PaymentConfig: get("PAYMENT_CONFIG")}
	if c.PaymentConfig == "" {
		c.PaymentConfig = filepath.Join(c.DataDir, "payment.json")
	}
	for _, o := range strings.Split(get("FORM_ACTION_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		if u, err := url.Parse(o); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("FORM_ACTION_ORIGINS", fmt.Errorf("%q is not an origin", o))
		} else {
			c.FormActionOrigins = append(c.FormActionOrigins, u.Scheme+"://"+u.Host)
		}
	}

	var err error
	if c.SandboxWebAddr, err = sandboxWebAddr(c.SandboxAddr, get("SANDBOX_WEB_ADDR")); err != nil {
		bad("SANDBOX_WEB_ADDR", err)
	}
	if c.PGPort, err = strconv.Atoi(get("PG_PORT")); err != nil || c.PGPort < 1 || c.PGPort > 65535 {
		bad("PG_PORT", errors.New("must be a port number"))
	}
	// Case and spaces are forgiven ("Production", " production") so that a
	// production box is never mistaken for a development one; any other
	// value stops the start rather than falling back to development.
	switch strings.ToLower(get("APP_ENV")) {
	case "development":
	case "production":
		c.Production = true
	default:
		bad("APP_ENV", errors.New("must be development or production"))
	}
	if c.BaseURL == "" {
		c.BaseURL = "http://" + c.ListenAddr
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		bad("BASE_URL", errors.New("must be an origin such as https://pay.example.com"))
	} else {
		c.BaseURL = u.Scheme + "://" + u.Host
		if c.Production && u.Scheme != "https" {
			bad("BASE_URL", errors.New("must use https in production"))
		}
	}
	for _, cidr := range strings.Split(get("OPS_ALLOW_CIDRS"), ",") {
		if cidr = strings.TrimSpace(cidr); cidr == "" {
			continue
		}
		if _, n, err := net.ParseCIDR(cidr); err != nil {
			bad("OPS_ALLOW_CIDRS", err)
		} else {
			c.OpsAllowCIDRs = append(c.OpsAllowCIDRs, n)
		}
	}
	for _, cidr := range strings.Split(get("TRUSTED_PROXIES"), ",") {
		if cidr = strings.TrimSpace(cidr); cidr == "" {
			continue
		}
		if _, n, err := net.ParseCIDR(cidr); err != nil {
			bad("TRUSTED_PROXIES", err)
		} else {
			c.TrustedProxies = append(c.TrustedProxies, n)
		}
	}
	if c.Location, err = time.LoadLocation(get("TIME_ZONE")); err != nil {
		bad("TIME_ZONE", err)
	}
	if c.IdleTimeout, err = time.ParseDuration(get("SESSION_IDLE_TIMEOUT")); err != nil || c.IdleTimeout <= 0 {
		bad("SESSION_IDLE_TIMEOUT", errors.New("must be a positive duration such as 30m"))
	}
	if c.AbsoluteTimeout, err = time.ParseDuration(get("SESSION_ABSOLUTE_TIMEOUT")); err != nil || c.AbsoluteTimeout <= 0 {
		bad("SESSION_ABSOLUTE_TIMEOUT", errors.New("must be a positive duration such as 12h"))
	}
	for _, d := range []struct {
		name string
		to   *time.Duration
	}{{"RECONCILE_INTERVAL", &c.ReconcileInterval}, {"RECONCILE_AFTER", &c.ReconcileAfter}, {"REQUEST_TIMEOUT", &c.RequestTimeout}} {
		if *d.to, err = time.ParseDuration(get(d.name)); err != nil || *d.to <= 0 {
			bad(d.name, errors.New("must be a positive duration such as 30s"))
		}
	}
	// A transaction is sealed within about two periods (while postings stay
	// under the sealer's 20,000 a tick), so 30 s keeps the minute;
	// under 100 ms the sealer would only spin.
	switch c.SealPeriod, err = time.ParseDuration(get("SEAL_PERIOD")); {
	case err != nil || (c.SealPeriod != 0 && (c.SealPeriod < 100*time.Millisecond || c.SealPeriod > 30*time.Second)):
		bad("SEAL_PERIOD", errors.New("must be a duration from 100ms to 30s, or 0 for no sealing"))
	case c.SealPeriod == 0 && c.Production:
		bad("SEAL_PERIOD", errors.New("must not be 0 in production: an unsealed ledger can be changed unseen"))
	}
	if c.ReconcileAt, err = parseClock(get("RECONCILE_AT")); err != nil {
		bad("RECONCILE_AT", err)
	}
	if c.DBMaxConns, err = strconv.Atoi(get("DB_MAX_CONNS")); err != nil || c.DBMaxConns < 1 {
		bad("DB_MAX_CONNS", errors.New("must be a positive number"))
	}
	if c.SignupGrant, err = wallet.ParseMoney(get("SIGNUP_GRANT")); err != nil {
		bad("SIGNUP_GRANT", err)
	}
	if c.OpsApprovalAbove, err = wallet.ParseMoney(get("OPS_APPROVAL_ABOVE")); err != nil {
		bad("OPS_APPROVAL_ABOVE", err)
	} else if c.OpsApprovalAbove == 0 {
		bad("OPS_APPROVAL_ABOVE", errors.New("must be more than zero"))
	}
	for _, m := range []struct {
		name string
		to   *wallet.Money
	}{{"MINORS_TOPUP_EACH", &c.MinorsTopUpEach}, {"MINORS_TOPUP_MONTH", &c.MinorsTopUpMonth}} {
		if *m.to, err = wallet.ParseMoney(get(m.name)); err != nil {
			bad(m.name, err)
		} else if *m.to == 0 {
			bad(m.name, errors.New("must be more than zero"))
		}
	}
	c.SupportURL, c.SupportContact = get("SUPPORT_URL"), get("SUPPORT_CONTACT")
	if c.SupportURL != "" {
		// Shown as a link on our pages: only a web address or an email.
		if u, err := url.Parse(c.SupportURL); err != nil || !(u.Scheme == "https" || u.Scheme == "http" && u.Host != "" || u.Scheme == "mailto") {
			bad("SUPPORT_URL", errors.New("must be an http(s) or mailto: URL"))
		}
	}
	if c.SeedDemo, err = strconv.ParseBool(get("SEED_DEMO")); err != nil {
		bad("SEED_DEMO", errors.New("must be true or false"))
	}
	c.WebhookURL, c.WebhookSecret = get("WEBHOOK_URL"), get("WEBHOOK_SECRET")
	if c.WebhookURL != "" {
		if u, err := url.Parse(c.WebhookURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("WEBHOOK_URL", errors.New("must be an http(s) URL"))
		} else if c.Production && u.Scheme != "https" {
			bad("WEBHOOK_URL", errors.New("must use https in production: the events name people and amounts"))
		}
		if !strongToken(c.WebhookSecret) {
			bad("WEBHOOK_SECRET", errors.New("must be at least 32 visible ASCII characters when WEBHOOK_URL is set (e.g. openssl rand -hex 32)"))
		}
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			bad("METRICS_ADDR", errors.New("must be host:port, such as 127.0.0.1:9464"))
		} else if c.MetricsAddr == c.ListenAddr {
			bad("METRICS_ADDR", errors.New("must differ from LISTEN_ADDR: metrics are not for the public"))
		}
	}
	switch c.LogFormat = strings.ToLower(get("LOG_FORMAT")); c.LogFormat {
	case "text", "json":
	default:
		bad("LOG_FORMAT", errors.New("must be text or json"))
	}
	if c.ServiceToken = get("SERVICE_TOKEN"); c.ServiceToken != "" && !strongToken(c.ServiceToken) {
		bad("SERVICE_TOKEN", errors.New("must be at least 32 visible ASCII characters (e.g. openssl rand -hex 32)"))
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("configuration:\n%w", errors.Join(errs...))
	}
	return c, nil
}

// strongToken refuses a service token short enough to guess, or one holding
// characters a header cannot carry unchanged.
func strongToken(t string) bool {
	if len(t) < 32 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < 0x21 || t[i] > 0x7e {
			return false
		}
	}
	return true
}

// sandboxWebAddr is SANDBOX_WEB_ADDR, or the sandbox's host on the next
// port. Another port of the same host is another origin of the same site,
// as excashier.alipay.com is to openapi.alipay.com and www.paypal.com to
// api-m.paypal.com; CSP form-action tells origins apart by port.
func sandboxWebAddr(api, web string) (string, error) {
	if api == "" {
		return "", nil
	}
	if web != "" {
		if _, _, err := net.SplitHostPort(web); err != nil {
			return "", fmt.Errorf("must be host:port: %w", err)
		}
		if web == api {
			return "", errors.New("must differ from SANDBOX_ADDR: the pages need an origin of their own")
		}
		return web, nil
	}
	host, port, err := net.SplitHostPort(api)
	if err != nil {
		return "", errors.New("cannot be derived: SANDBOX_ADDR is not host:port")
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p >= 65535 {
		return "", errors.New("cannot be derived from SANDBOX_ADDR's port: set it")
	}
	if p == 0 {
		return net.JoinHostPort(host, "0"), nil
	}
	return net.JoinHostPort(host, strconv.Itoa(p+1)), nil
}

// parseClock reads a time of day "HH:MM" as the time since midnight.
func parseClock(v string) (time.Duration, error) {
	t, err := time.Parse("15:04", v)
	if err != nil {
		return 0, errors.New("must be a time of day such as 10:00")
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}
