package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/handlers"
	"im2pay/payment/sandbox/sandboxtest"
	"im2pay/recharge"
	"im2pay/statement"
)

// newInstances is two app instances over one database, as a load balancer
// would put them behind one address: each with its own pool, store, wallet
// service and router, sharing nothing in memory. The providers are one
// sandbox gateway, which notifies the first.
func newInstances(t *testing.T) (a, b *site) {
	t.Helper()
	dbURL := dbtest.NewURL(t)
	srvA, srvB := httptest.NewUnstartedServer(nil), httptest.NewUnstartedServer(nil)
	appURL := "http://" + srvA.Listener.Addr().String()
	gw := sandboxtest.Start(t, appURL)
	loc, _ := time.LoadLocation("Asia/Shanghai")
	instance := func(srv *httptest.Server) *site {
		conn, err := sqlx.Open("postgres", dbURL)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetMaxOpenConns(20)
		t.Cleanup(func() { conn.Close() })
		store := db.New(conn)
		svc, led := services(store, recharge.Options{Location: loc, Providers: gw.Providers,
			BaseURL: appURL, Logger: discardLogger()})
		srv.Config.Handler = handlers.New(withStatement(svc, statement.New(store, loc, nil)), handlers.Config{
			Location: loc, IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 12 * time.Hour, Logger: discardLogger(),
			FormActionOrigins: gw.FormOrigins(), SandboxScanURL: gw.ScanURL,
		})
		srv.Start()
		t.Cleanup(srv.Close)
		return &site{t: t, srv: srv, store: store, ledger: led, accounts: svc.Accounts, wallet: svc.Wallet, spend: svc.Spend, recharge: svc.Recharge, clock: &clock{now: time.Now()}}
	}
	return instance(srvA), instance(srvB)
}

// on is the same browser (the same cookie jar) sending its next requests
// to another instance. Cookies do not tell ports apart, so both instances
// get every cookie, as behind one address.
func (b *browser) on(s *site) *browser {
	return &browser{s: s, client: b.client, header: b.header}
}

func TestASessionStartedOnOneInstanceWorksAndEndsOnTheOther(t *testing.T) {
	t.Parallel()
	a, b := newInstances(t)
	onA := a.browser()
	expectRedirect(t, onA.register("twoinst_s1", goodPassword), "/account")
	onB := onA.on(b)
	page := onB.get("/account")
	expectStatus(t, page, http.StatusOK)
	expectContains(t, page, "twoinst_s1")

	// Logged out through B, the session is over on A too.
	expectRedirect(t, onB.post("/account", "/logout", url.Values{}), "/login")
	expectRedirect(t, onA.get("/account"), "/login?next=%2Faccount")

	// Logged in again through B, A knows it at once.
	expectRedirect(t, onB.login("twoinst_s1", goodPassword), "/account")
	expectContains(t, onA.get("/account"), "twoinst_s1")
}

func TestWrongLoginsSplitAcrossInstancesMeetOneLimit(t *testing.T) {
	t.Parallel()
	a, b := newInstances(t)
	expectRedirect(t, a.browser().register("twoinst_t1", goodPassword), "/account")
	attacker := a.browser()
	token := attacker.token("/login")
	instances := []*browser{attacker, attacker.on(b)}
	for i := range account.MaxFailsPerAccount {
		on := instances[i%2]
		ans := on.postToken(token, "/login", url.Values{"username": {"twoinst_t1"}, "password": {"guess-" + strconv.Itoa(i)}})
		expectStatus(t, ans, http.StatusUnprocessableEntity)
	}
	// The limit is reached on both, the right password included: each
	// instance alone saw only half the guesses.
	for _, on := range instances {
		ans := on.postToken(token, "/login", url.Values{"username": {"twoinst_t1"}, "password": {"one-more"}})
		expectStatus(t, ans, http.StatusTooManyRequests)
	}
	stranger := b.browser()
	expectStatus(t, stranger.login("twoinst_t1", goodPassword), http.StatusTooManyRequests)
}

func TestMaintenanceSwitchedThroughOneInstanceHoldsOnTheOther(t *testing.T) {
	t.Parallel()
	a, b := newInstances(t)
	person := b.browser()
	expectRedirect(t, person.register("twoinst_m1", goodPassword), "/account")
	ctx := context.Background()
	if err := a.recharge.SetMaintenance(ctx, "alipay", "升级中", time.Time{}); err != nil {
		t.Fatal(err)
	}
	expectContains(t, person.get("/recharge"), `data-testid="maintenance-alipay"`, "升级中")
	refused := person.post("/recharge", "/recharge/orders", url.Values{"method": {"alipay"}, "amount": {"30"},
		"key": {"mmmmmmmmmmmmmmmmmmmmmm"}})
	expectStatus(t, refused, http.StatusUnprocessableEntity)
	expectContains(t, refused, "该支付方式正在维护")

	if err := a.recharge.ClearMaintenance(ctx, "alipay"); err != nil {
		t.Fatal(err)
	}
	expectLacks(t, person.get("/recharge"), `data-testid="maintenance-alipay"`)
	opened := person.post("/recharge", "/recharge/orders", url.Values{"method": {"alipay"}, "amount": {"30"},
		"key": {"nnnnnnnnnnnnnnnnnnnnnn"}})
	if opened.status != http.StatusSeeOther {
		t.Fatalf("after maintenance ended, the order answered %d; body:\n%.1000s", opened.status, opened.body)
	}
}

// One instance remembers the gift catalog; another (or the operator) changes
// it. The stale instance must never sell at the price it remembered: its
// next gift of that item is refused with nothing charged, and the one after
// reads the catalog again.
func TestAnInstanceThatRemembersAnOldPriceNeverChargesIt(t *testing.T) {
	t.Parallel()
	a, b := newInstances(t)
	sender, senderID := giftPerson(t, a, "twoinst_g1", 100_00)
	giftPerson(t, a, "twoinst_g2", 0)
	onB := sender.on(b)
	u, err := a.accounts.UserByID(context.Background(), senderID)
	if err != nil {
		t.Fatal(err)
	}
	balance := func() int64 {
		t.Helper()
		got, err := b.ledger.Balance(context.Background(), u.WalletID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	var price int64
	if err := a.store.DB().Get(&price, `SELECT price FROM gift_items WHERE code = 'rose'`); err != nil {
		t.Fatal(err)
	}
	expectRedirect(t, giftSendOne(t, onB, "twoinst_g2", "rose", "1", ""), "/gifts")
	if got := balance(); got != 100_00-price {
		t.Fatalf("balance %d after one rose at %d, want %d", got, price, 100_00-price)
	}
	if _, err := a.store.DB().Exec(`UPDATE gift_items SET price = price * 2 WHERE code = 'rose'`); err != nil {
		t.Fatal(err)
	}
	refused := giftSendOne(t, onB, "twoinst_g2", "rose", "1", "")
	expectStatus(t, refused, http.StatusUnprocessableEntity)
	expectContains(t, refused, "这件礼物不存在或已下架")
	if got := balance(); got != 100_00-price {
		t.Fatalf("balance %d after the stale gift, want %d: it was charged", got, 100_00-price)
	}
	expectRedirect(t, giftSendOne(t, onB, "twoinst_g2", "rose", "1", ""), "/gifts")
	if got := balance(); got != 100_00-3*price {
		t.Fatalf("balance %d after a rose at the new price %d, want %d", got, 2*price, 100_00-3*price)
	}
}
