package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"im2pay/account"
	"im2pay/handlers"
	"im2pay/handlers/ops"
	"im2pay/internal/reqlog"
	"im2pay/live"
	"im2pay/metrics"
	wechatsandbox "im2pay/payment/sandbox/wechat"
	"im2pay/people"
	"im2pay/seal"
	"im2pay/views/components"
)

// serve runs the web server until ctx ends, then drains it.
func serve(ctx context.Context, cfg config, stdout io.Writer) error {
	log := reqlog.New(os.Stderr, cfg.LogFormat)
	// DATA_DIR must be traversable by the postgres user that runs the
	// private cluster under it, whoever creates it first (the sandbox's key
	// store would make it 0700).
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("create DATA_DIR: %w", err)
	}
	var scanURL func(string) string
	if cfg.SandboxAddr != "" {
		dir, err := provisionSandbox(cfg)
		if err != nil {
			return err
		}
		if err := startSandbox(ctx, cfg, dir, log, stdout); err != nil {
			return err
		}
		web := "http://" + cfg.SandboxWebAddr
		scanURL = func(code string) string { return wechatsandbox.ScanURL(web, code) }
	}
	return withDatabase(ctx, cfg, stdout, func(a *app) error {
		if cfg.SeedDemo {
			if err := seedDemo(ctx, a, stdout); err != nil {
				return err
			}
		}
		m := a.metrics
		if m != nil {
			if err := serveMetrics(ctx, cfg.MetricsAddr, m, log, stdout); err != nil {
				return err
			}
		}
		// One hub for the whole process: it reads movements for the people
		// watching and listens for ended sessions, and every live balance
		// stream is fanned out from it (package live).
		hub := live.NewHub(a.url, a.conn, live.Options{Logger: log})
		go func() {
			if err := hub.Run(ctx); err != nil {
				log.Error("live balance: the listener stopped; pages poll instead", "err", err)
			}
		}()
		h := handlers.New(handlers.Services{Accounts: a.accounts, Wallet: a.wallet, Recharge: a.recharge,
			Statement: a.statement, Spend: a.spend, Center: a.center, Redeem: a.redeem, Refund: a.refund,
			Live: live.NewService(a.store, hub),
			Ops: &ops.Deps{Staff: a.staff, DB: a.conn, AllowCIDRs: cfg.OpsAllowCIDRs, Logger: log,
				Recharge: a.recharge, Spend: a.spend, Adjust: a.adjust, Redeem: a.redeem, Refund: a.refund,
				Reconcile: a.reconcile,
				People: people.New(a.store, people.Options{Accounts: a.accounts, Recharge: a.recharge, Spend: a.spend,
					Statement: a.statement, Location: cfg.Location})}}, handlers.Config{
			Secure: cfg.Production, Origin: cfg.BaseURL, TrustedProxies: cfg.TrustedProxies,
			Location: cfg.Location, IdleTimeout: cfg.IdleTimeout, AbsoluteTimeout: cfg.AbsoluteTimeout, Logger: log,
			FormActionOrigins: a.formOrigins, SandboxScanURL: scanURL, ServiceToken: cfg.ServiceToken, Metrics: m,
			Support: components.SupportInfo{URL: cfg.SupportURL, Contact: cfg.SupportContact},
		})
		srv := &http.Server{
			Handler:           withDeadline(h, cfg.RequestTimeout),
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       15 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       90 * time.Second,
			MaxHeaderBytes:    64 << 10,
		}
		// Live balance streams end when the hub closes: a graceful shutdown
		// would otherwise wait on them until its deadline.
		srv.RegisterOnShutdown(hub.Close)
		ln, err := net.Listen("tcp", cfg.ListenAddr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", cfg.ListenAddr, err)
		}
		go sweepSessions(ctx, a.accounts, cfg, log)
		go sweepStaff(ctx, a.staff, log)
		go reconcile(ctx, a, cfg.ReconcileInterval, log, m)
		go reconcileDaily(ctx, a, cfg.ReconcileAt, log)
		// Seals the ledger behind the commits (package seal): one query a
		// period, never in a posting's way.
		if cfg.SealPeriod > 0 {
			go seal.NewSealer(a.conn, seal.Options{}).Run(ctx, cfg.SealPeriod, log)
		} else {
			log.Warn("the ledger's sealer is off (SEAL_PERIOD=0): new transactions are not sealed")
		}
		if cfg.WebhookURL != "" {
			if err := a.store.SetWebhooksEnabled(ctx, true); err != nil {
				return err
			}
			go sendWebhooks(ctx, a, cfg, log)
		}
		fmt.Fprintf(stdout, "IM2.0 Pay is serving on http://%s (public origin %s)\n", ln.Addr(), cfg.BaseURL)
		fmt.Fprintf(stdout, "health check: http://%s/healthz — press Ctrl-C to stop\n", ln.Addr())

		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(ln) }()
		select {
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		case <-ctx.Done():
		}
		fmt.Fprintln(stdout, "stopping: finishing requests in flight")
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("shutdown: %w", err)
		}
		return nil
	})
}

// sweepSessions deletes timed-out sessions and old login failures, so the
// tables stay small; correctness never depends on it (timeouts are checked
// on every request).
func sweepSessions(ctx context.Context, accounts *account.Service, cfg config, log *slog.Logger) {
	tick := time.NewTicker(10 * time.Minute)
	defer tick.Stop()
	for {
		now := time.Now()
		if n, err := accounts.DeleteStaleSessions(ctx, now.Add(-cfg.IdleTimeout), now.Add(-cfg.AbsoluteTimeout)); err != nil && ctx.Err() == nil {
			log.Warn("sweep sessions", "err", err)
		} else if n > 0 {
			log.Info("swept sessions", "count", n)
		}
		if err := accounts.DeleteLoginFailuresBefore(ctx, now.Add(-2*time.Hour)); err != nil && ctx.Err() == nil {
			log.Warn("sweep login failures", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// withDeadline gives every request's context a deadline: the database
// calls under it give up then, so a hung database answers the person with
// an error instead of holding the request (and a pool connection) forever.
// Streams are the exception (handlers.Streams): a million-line statement
// export on a busy server takes longer than any one deadline, and was cut
// off with a truncated file by it; each of its reads is bounded by the
// pool's read timeout and each page's write by its own window. The live
// balance stream holds no connection while it waits and ends with its
// session or the server.
func withDeadline(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if handlers.Streams(r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// reconcile resolves stale pending orders every interval: it asks providers
// about them, credits the paid ones and closes the expired ones.
func reconcile(ctx context.Context, a *app, interval time.Duration, log *slog.Logger, m *metrics.Metrics) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		pass, err := a.recharge.ReconcilePass(ctx)
		if ctx.Err() != nil {
			return
		}
		m.ReconcilePass(pass.Changed, pass.Lag, err)
		if err != nil {
			log.Warn("reconcile", "err", err)
		}
		if pass.Changed > 0 {
			log.Info("reconciled orders", "changed", pass.Changed)
		}
		// Refunds left in flight (an unknown outcome, a crash before the
		// call) are asked about on the same beat.
		if _, err := a.refund.Pass(ctx); err != nil && ctx.Err() == nil {
			log.Warn("refund pass", "err", err)
		}
	}
}

// reconcileDaily reconciles yesterday's bill of each provider once, after
// at (Beijing time) by the app clock; a bill not ready yet is asked for
// again on the next beat. Staff run a day again from /ops.
func reconcileDaily(ctx context.Context, a *app, at time.Duration, log *slog.Logger) {
	tick := time.NewTicker(5 * time.Minute)
	defer tick.Stop()
	for {
		reports, err := a.reconcile.Daily(ctx, at)
		if err != nil && ctx.Err() == nil {
			log.Warn("daily reconciliation", "err", err)
		}
		for _, r := range reports {
			log.Info("reconciled a day", "method", r.Method, "day", r.Day.Format(time.DateOnly), "open", r.Open)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
