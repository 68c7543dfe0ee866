package e2e

import (
	"context"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"im2pay/account"
	"im2pay/center"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/handlers"
	"im2pay/payment/sandbox/sandboxtest"
	"im2pay/recharge"
	"im2pay/refund"
	"im2pay/spend"
	"im2pay/statement"
	"im2pay/wallet"
)

// paySite is the whole app with its four payment methods pointed at an
// in-process sandbox gateway, as `make run` wires them with real ports.
//
// The app is served as http://localhost:<port> and the gateway as
// http://127.0.0.1:<port>: two different sites to the browser, as our site
// and a payment provider are in production. On one host name the two would
// be "same-site" (ports do not count), and SameSite cookies, the Referer
// policy and CSP form-action would be tried less hard than in real life.
//
// The gateway's cashier, H5 and approve pages are on a second origin (its
// web origin, another port), as the providers' pages are on other hosts
// than their APIs; our CSP allows exactly the origins the payment
// configuration names, so a page origin left out of it fails the journey.
type paySite struct {
	*site
	gw        *sandboxtest.Gateway
	gwOrigin  string // the gateway's API origin, as the browser's location.origin shows it
	webOrigin string // the gateway's page origin: cashier, H5 and approve pages
	clock     *offsetClock
}

// offsetClock is the wallet's clock: real time, moved ahead by a journey
// that needs an order to expire without waiting for it.
type offsetClock struct{ ahead atomic.Int64 }

func (c *offsetClock) now() time.Time { return time.Now().Add(time.Duration(c.ahead.Load())) }

// advance moves the wallet's clock ahead by d until the subtest ends.
func (s *paySite) advance(t *testing.T, d time.Duration) {
	t.Helper()
	s.clock.ahead.Add(int64(d))
	t.Cleanup(func() { s.clock.ahead.Add(-int64(d)) })
}

func newPaySite(t *testing.T) *paySite {
	t.Helper()
	return newPaySiteWith(t, func(c sandboxtest.Config) sandboxtest.Config { return c })
}

// newPaySiteWith is newPaySite whose app reads the payment configuration
// edit makes of the sandbox's (its form-action origins, in particular).
func newPaySiteWith(t *testing.T, edit func(sandboxtest.Config) sandboxtest.Config) *paySite {
	t.Helper()
	conn := dbtest.New(t)
	store := db.New(conn)
	srv := httptest.NewUnstartedServer(nil)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	appURL := "http://localhost:" + port
	gw := sandboxtest.Start(t, appURL)
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		loc = time.FixedZone("CST", 8*3600)
	}
	clk := &offsetClock{}
	accounts := account.NewService(store, account.Options{
		Now:    clk.now,
		Hasher: account.PasswordHasher{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32},
		// Every journey signs up from 127.0.0.1; the limit has its own test.
		SignupsPerClient: 1000,
	})
	svc := wallet.NewService(store, wallet.Options{Accounts: accounts, Now: clk.now})
	// Refunds as serve wires them: the provider's refund notifications
	// reach the refund service through recharge's, and a debt is repaid
	// by the next top-up.
	rf := refund.NewService(store, refund.Options{Providers: gw.Providers, BaseURL: appURL, Now: clk.now})
	rs := recharge.NewService(store, recharge.Options{
		Now:            clk.now,
		Location:       loc,
		Providers:      gw.Providers,
		BaseURL:        appURL,
		RefundNotified: rf.Notified,
		Debts:          rf,
	})
	sp := spend.NewService(store, spend.Options{Accounts: accounts, Now: clk.now})
	sl := &serverLog{}
	st := newStaff(store, clk.now)
	console := consoleDeps(store, st, rs, sp, clk.now, sl)
	console.Refund = rf
	srv.Config.Handler = handlers.New(handlers.Services{Accounts: accounts, Wallet: svc, Statement: statement.New(store, loc, clk.now),
		Spend: sp, Recharge: rs, Center: center.NewService(store, center.Options{Spend: sp, Recharge: rs, Now: clk.now}),
		Ops: console, Redeem: console.Redeem, Refund: rf}, handlers.Config{
		Location: loc, IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 12 * time.Hour, Logger: slog.New(sl),
		FormActionOrigins: edit(gw.Config).FormOrigins(), SandboxScanURL: gw.ScanURL,
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return &paySite{
		site:      &site{url: appURL, store: store, accounts: accounts, wallet: svc, spend: sp, recharge: rs, staff: st, log: sl},
		gw:        gw,
		gwOrigin:  strings.TrimSuffix(gw.URL, "/"),
		webOrigin: strings.TrimSuffix(gw.WebURL, "/"),
		clock:     clk,
	}
}

// maintenance closes a method (or "all") as `im2pay maintenance` does, and
// opens it again when the subtest ends, so later journeys find it open.
func (s *paySite) maintenance(t *testing.T, method, message string) {
	t.Helper()
	ctx := context.Background()
	if err := s.recharge.SetMaintenance(ctx, method, message, time.Time{}); err != nil {
		t.Fatalf("maintenance on for %s: %v", method, err)
	}
	t.Cleanup(func() {
		if err := s.recharge.ClearMaintenance(ctx, method); err != nil {
			t.Errorf("maintenance off for %s: %v", method, err)
		}
	})
}

// ordersOf counts a person's top-up orders in the database.
func (s *paySite) ordersOf(t *testing.T, name string) int {
	t.Helper()
	var n int
	err := s.store.DB().GetContext(context.Background(), &n,
		`SELECT count(*) FROM recharge_orders WHERE user_id = $1`, s.userID(t, name))
	if err != nil {
		t.Fatalf("count the orders of %s: %v", name, err)
	}
	return n
}
