package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/adjust"
	"im2pay/center"
	"im2pay/db"
	"im2pay/db/pgcluster"
	"im2pay/internal/reqlog"
	"im2pay/ledger"
	"im2pay/limits"
	"im2pay/metrics"
	"im2pay/recharge"
	reconciliation "im2pay/reconcile"
	"im2pay/redeem"
	"im2pay/refund"
	"im2pay/spend"
	"im2pay/staff"
	"im2pay/statement"
	"im2pay/wallet"
)

// app is the process's shared parts, opened in order and closed in reverse.
type app struct {
	conn      *sqlx.DB
	replica   *sqlx.DB // nil without DATABASE_REPLICA_URL
	store     *db.Store
	ledger    *ledger.Ledger
	accounts  *account.Service
	wallet    *wallet.Service
	recharge  *recharge.Service
	statement *statement.Service
	spend     *spend.Service
	center    *center.Service
	staff     *staff.Service
	cluster   *pgcluster.Cluster // nil when DATABASE_URL names a server
	loc       *time.Location
	// formOrigins are the providers' origins, for CSP form-action.
	formOrigins []string
	// metrics is nil unless METRICS_ADDR is set.
	metrics *metrics.Metrics
	// adjust and redeem are the console's wallet adjustments and
	// redemption batches; redeem also serves the person's redeem page.
	adjust *adjust.Service
	refund *refund.Service
	redeem *redeem.Service
	// reconcile is the daily reconciliation (对账) with each provider's bill.
	reconcile *reconciliation.Service
	// url is the primary's URL, for connections of their own (the live
	// balance's LISTEN).
	url string
}

// withDatabase opens the database (starting the private cluster when no
// DATABASE_URL is set), migrates it, runs fn, and closes everything.
func withDatabase(ctx context.Context, cfg config, stdout io.Writer, fn func(*app) error) (err error) {
	a := &app{loc: cfg.Location}
	defer func() {
		if a.replica != nil {
			a.replica.Close()
		}
		if a.conn != nil {
			a.conn.Close()
		}
		if a.cluster != nil {
			if stopErr := a.cluster.Stop(); stopErr != nil && err == nil {
				err = fmt.Errorf("stop private PostgreSQL: %w", stopErr)
			}
		}
	}()
	url := cfg.DatabaseURL
	if url == "" {
		a.cluster, err = pgcluster.Start(ctx, pgcluster.Options{
			Dir: filepath.Join(cfg.DataDir, "pg"), Port: cfg.PGPort, Database: "im2pay", Log: stdout,
		})
		if err != nil {
			return fmt.Errorf("private PostgreSQL: %w", err)
		}
		url = a.cluster.URL()
	}
	a.url = url
	// A database read never waits longer than a whole request may.
	if a.conn, err = db.OpenBounded(ctx, url, cfg.DBMaxConns, cfg.RequestTimeout); err != nil {
		return err
	}
	if err := db.Migrate(ctx, a.conn); err != nil {
		return err
	}
	if cfg.DatabaseReplicaURL != "" {
		if a.replica, err = db.OpenBounded(ctx, cfg.DatabaseReplicaURL, cfg.DBMaxConns, cfg.RequestTimeout); err != nil {
			return fmt.Errorf("replica: %w", err)
		}
	}
	a.store = db.NewWithReplica(a.conn, a.replica)
	a.ledger = ledger.New(a.store)
	if cfg.MetricsAddr != "" {
		m := metrics.New(a.conn.DB)
		if a.replica != nil {
			m.AddReplicaPool(a.replica.DB)
		}
		a.ledger.Observe(func(kind ledger.Kind, took time.Duration) { m.Posting(string(kind), took) })
		a.metrics = m
	}
	providers, origins, err := openProviders(cfg)
	if err != nil {
		return err
	}
	a.formOrigins = origins
	// The services log to stderr in the server log's format.
	logger := reqlog.New(os.Stderr, cfg.LogFormat)
	a.accounts = account.NewService(a.store, account.Options{SignupGrant: int64(cfg.SignupGrant), Logger: logger, Ledger: a.ledger})
	a.statement = statement.New(a.store, cfg.Location, nil)
	a.wallet = wallet.NewService(a.store, wallet.Options{
		Accounts: a.accounts, Logger: logger, Ledger: a.ledger,
	})
	a.refund = refund.NewService(a.store, refund.Options{Ledger: a.ledger, Providers: providers, BaseURL: cfg.BaseURL,
		ApprovalAbove: int64(cfg.OpsApprovalAbove), Logger: logger})
	// One protection for top-ups and spends, with the operator's minors'
	// caps. Days are Beijing's whatever TIME_ZONE shows.
	protection := limits.New(a.store, limits.Config{MinorsTopUpEach: cfg.MinorsTopUpEach, MinorsTopUpMonth: cfg.MinorsTopUpMonth})
	a.recharge = recharge.NewService(a.store, recharge.Options{
		Limits: protection, Location: cfg.Location, Providers: providers, BaseURL: cfg.BaseURL,
		ReconcileAfter: cfg.ReconcileAfter, Logger: logger, Metrics: a.metrics, Ledger: a.ledger,
		RefundNotified: a.refund.Notified, Debts: a.refund,
	})
	a.spend = spend.NewService(a.store, spend.Options{Ledger: a.ledger, Accounts: a.accounts, Logger: logger, Limits: protection})
	a.center = center.NewService(a.store, center.Options{Spend: a.spend, Recharge: a.recharge})
	a.staff = staff.NewService(a.store, staff.Options{Logger: logger})
	a.adjust = adjust.NewService(a.store, adjust.Options{Ledger: a.ledger, Accounts: a.accounts,
		ApprovalAbove: cfg.OpsApprovalAbove})
	a.redeem = redeem.NewService(a.store, redeem.Options{Ledger: a.ledger})
	a.reconcile = reconciliation.NewService(a.store, reconciliation.Options{Ledger: a.ledger, Recharge: a.recharge,
		Billers: reconciliation.BillersOf(providers), Logger: logger})
	return fn(a)
}

// Demo account: documented in the README, created by `make run`.
const (
	demoUser     = "demo"
	demoPassword = "demo-pass-2026"
	demoWelcome  = wallet.Money(100_00)

	friendUser     = "friend"
	friendPassword = "friend-pass-2026"
)

// seedDemo creates the demo account and its welcome credit. Both steps are
// idempotent (the grant has a fixed key), so every start may run it.
func seedDemo(ctx context.Context, a *app, stdout io.Writer) error {
	u, err := a.accounts.EnsureUser(ctx, demoUser, demoPassword)
	if err != nil {
		return fmt.Errorf("seed demo user: %w", err)
	}
	bal, err := a.wallet.Grant(ctx, u.ID, demoWelcome, "grant:welcome:demo", "welcome_grant")
	if err != nil {
		return fmt.Errorf("seed demo welcome grant: %w", err)
	}
	fmt.Fprintf(stdout, "demo account: %s / %s (balance %s)\n", demoUser, demoPassword, bal)
	// A second person, so gifts have somebody to go to.
	if _, err := a.accounts.EnsureUser(ctx, friendUser, friendPassword); err != nil {
		return fmt.Errorf("seed second demo user: %w", err)
	}
	fmt.Fprintf(stdout, "second account: %s / %s\n", friendUser, friendPassword)
	return nil
}
