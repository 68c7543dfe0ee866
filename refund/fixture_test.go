package refund_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/audit"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/ledger"
	"im2pay/payment"
	"im2pay/payment/sandbox/sandboxtest"
	"im2pay/payment/sandbox/sim"
	"im2pay/recharge"
	"im2pay/refund"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// fixture is the app's refund and recharge services over a fresh database,
// talking to the sandbox gateway, with our notify endpoint served so that
// Alipay's refund notifications reach recharge.Notify and, through its
// hook, the refund service.
type fixture struct {
	t      *testing.T
	ctx    context.Context
	store  *db.Store
	ledger *ledger.Ledger
	rc     *recharge.Service
	svc    *refund.Service
	gw     *sandboxtest.Gateway

	mu  sync.Mutex
	now time.Time // the refund service's clock, moved by tests

	// deaf makes our notify endpoint answer 503 without reading anything,
	// as an outage would: the providers retry on their schedules.
	deaf atomic.Bool
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store := db.New(dbtest.New(t))
	led := ledger.New(store)
	f := &fixture{t: t, ctx: context.Background(), store: store, ledger: led, now: time.Now()}
	var rc atomic.Pointer[recharge.Service] // set once built, before any payment
	mux := http.NewServeMux()
	mux.HandleFunc("POST /pay/notify/{method}", func(w http.ResponseWriter, r *http.Request) {
		if f.deaf.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		ack, _ := rc.Load().Notify(r.Context(), r.PathValue("method"), r.Header, body)
		if ack.ContentType != "" {
			w.Header().Set("Content-Type", ack.ContentType)
		}
		w.WriteHeader(max(ack.Status, 200))
		_, _ = w.Write(ack.Body)
	})
	app := httptest.NewServer(mux)
	t.Cleanup(app.Close)
	f.gw = sandboxtest.Start(t, app.URL)
	f.svc = refund.NewService(store, refund.Options{Ledger: led, Providers: f.gw.Providers, BaseURL: app.URL,
		Now: f.clock})
	f.rc = recharge.NewService(store, recharge.Options{Ledger: led, Providers: f.gw.Providers, BaseURL: app.URL,
		RefundNotified: f.svc.Notified, Debts: f.svc})
	rc.Store(f.rc)
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// later moves the refund service's clock on.
func (f *fixture) later(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func (f *fixture) user(name string) account.User {
	f.t.Helper()
	var u account.User
	err := f.store.InTx(f.ctx, func(tx *sqlx.Tx) error {
		var err error
		u, err = account.CreateUser(f.ctx, tx, name, "x")
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

func (f *fixture) staff(name string) int64 {
	f.t.Helper()
	var id int64
	err := f.store.DB().GetContext(f.ctx, &id, `INSERT INTO staff (name, role, password_hash, created_at)
		VALUES ($1, 'finance', 'x', now()) RETURNING id`, name)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

func entry(staffID int64) audit.Entry {
	return audit.Entry{StaffID: staffID, StaffName: "s", ClientIP: "127.0.0.1"}
}

// paid is an Alipay top-up of amount ("68.00") paid at the sandbox and
// credited (its notification dropped, the payment found by a query, as
// the reconciler would).
func (f *fixture) paid(userID int64, amount, key string) recharge.Order {
	f.t.Helper()
	o, err := f.rc.CreateOrder(f.ctx, recharge.NewOrder{UserID: userID, Method: "alipay", Amount: amount,
		Device: payment.Desktop, RequestKey: key})
	if err != nil {
		f.t.Fatal(err)
	}
	next, err := f.rc.Pay(f.ctx, o, "127.0.0.1")
	if err != nil {
		f.t.Fatal(err)
	}
	res, err := (&http.Client{Timeout: 2 * time.Minute}).Get(next.RedirectURL)
	if err != nil {
		f.t.Fatal(err)
	}
	res.Body.Close()
	if _, err := f.gw.Simulate(f.ctx, o.OutTradeNo, sim.DropNotify); err != nil {
		f.t.Fatal(err)
	}
	after, _, err := f.rc.Requery(f.ctx, o.OutTradeNo)
	if err != nil || after.State != recharge.OrderPaid {
		f.t.Fatalf("requery of %s: %s %v", o.OutTradeNo, after.State, err)
	}
	return after
}

func (f *fixture) balance(u account.User) int64 {
	f.t.Helper()
	b, err := f.ledger.Balance(f.ctx, u.WalletID)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *fixture) system(code string) int64 {
	f.t.Helper()
	total, err := f.ledger.SystemAccountTotal(f.ctx, code)
	if err != nil {
		f.t.Fatal(err)
	}
	return total
}

// count runs a count query.
func (f *fixture) count(q string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.store.DB().GetContext(f.ctx, &n, q, args...); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// waitUntil waits for cond, which an asynchronous notification makes true.
// The two minutes are a hang guard, not a timing: a busy machine delivers
// the sandbox's notification late, and no test fails for being slow.
func (f *fixture) waitUntil(what string, cond func() bool) {
	f.t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			f.t.Fatalf("never: %s", what)
		}
	}
}

// spend takes amount out of a wallet as a purchase would, through the ledger.
func (f *fixture) spend(u account.User, amount int64, key string) {
	f.t.Helper()
	sink, err := f.ledger.EnsureSystemAccount(f.ctx, "test:spent")
	if err != nil {
		f.t.Fatal(err)
	}
	_, err = f.ledger.Post(f.ctx, ledger.Posting{Key: key, Kind: ledger.Purchase, Reference: "test", Description: "test",
		Entries: []ledger.Entry{{AccountID: u.WalletID, Amount: -amount}, {AccountID: sink, Amount: amount}}},
		ledger.Covered(u.WalletID, amount))
	if err != nil {
		f.t.Fatal(err)
	}
}
