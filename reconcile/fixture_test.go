package reconcile_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/ledger"
	"im2pay/payment"
	"im2pay/payment/alipay"
	"im2pay/payment/sandbox/sandboxtest"
	"im2pay/payment/sandbox/sim"
	"im2pay/recharge"
	"im2pay/reconcile"
	"im2pay/refund"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// fixture is recharge, refund and reconcile over a fresh database, talking
// to the sandbox gateway as the refund tests do.
type fixture struct {
	t      *testing.T
	ctx    context.Context
	store  *db.Store
	ledger *ledger.Ledger
	rc     *recharge.Service
	rf     *refund.Service
	gw     *sandboxtest.Gateway
	bill   *testBiller
	svc    *reconcile.Service
	// now is the one clock of the app and the Alipay sandbox (its Now):
	// a fixed instant, Start, plus the little real time the test takes
	// and whatever the test Advances.
	now func() time.Time
}

// Start is when every fixture's clock starts: 12:00 Beijing, so that the
// payments a test makes fall in one Beijing day however long it runs.
var Start = time.Date(2026, 11, 30, 12, 0, 0, 0, reconcile.Beijing())

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store := db.New(dbtest.New(t))
	led := ledger.New(store)
	f := &fixture{t: t, ctx: context.Background(), store: store, ledger: led}
	var rc atomic.Pointer[recharge.Service]
	mux := http.NewServeMux()
	mux.HandleFunc("POST /pay/notify/{method}", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ack, _ := rc.Load().Notify(r.Context(), r.PathValue("method"), r.Header, body)
		w.WriteHeader(max(ack.Status, 200))
		_, _ = w.Write(ack.Body)
	})
	app := httptest.NewServer(mux)
	t.Cleanup(app.Close)
	f.gw = sandboxtest.Start(t, app.URL)
	// The sandbox's clock is the real time plus an offset: moved to Start.
	f.gw.Alipay.Advance(time.Until(Start))
	f.now = f.gw.Alipay.Now
	f.gw.Providers[payment.Alipay].(*alipay.Provider).SetClock(f.now)
	f.rf = refund.NewService(store, refund.Options{Ledger: led, Providers: f.gw.Providers, BaseURL: app.URL, Now: f.now})
	f.rc = recharge.NewService(store, recharge.Options{Ledger: led, Providers: f.gw.Providers, BaseURL: app.URL,
		RefundNotified: f.rf.Notified, Debts: f.rf, Now: f.now})
	rc.Store(f.rc)
	f.bill = &testBiller{}
	f.svc = reconcile.NewService(store, reconcile.Options{Ledger: led, Recharge: f.rc, Now: f.now,
		Billers: map[payment.Method]payment.Biller{payment.Alipay: f.bill}})
	return f
}

// testBiller stands in for Alipay's bill download (written elsewhere):
// it answers the lines the test built from the sandbox's own trades.
type testBiller struct {
	bill  payment.Bill
	err   error
	calls int
}

func (b *testBiller) Bill(_ context.Context, day time.Time) (payment.Bill, error) {
	b.calls++
	if b.err != nil {
		return payment.Bill{}, b.err
	}
	out := b.bill
	out.Method, out.Day = payment.Alipay, day
	return out, nil
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

// paidAtSandbox is an Alipay top-up paid at the sandbox whose notification
// was dropped: the provider holds the money, we have not credited it.
func (f *fixture) paidAtSandbox(userID int64, amount, key string) recharge.Order {
	f.t.Helper()
	return f.paidAt(payment.Alipay, userID, amount, key)
}

// paidAt is paidAtSandbox at method's sandbox.
func (f *fixture) paidAt(method payment.Method, userID int64, amount, key string) recharge.Order {
	f.t.Helper()
	o, err := f.rc.CreateOrder(f.ctx, recharge.NewOrder{UserID: userID, Method: string(method), Amount: amount,
		Device: payment.Desktop, RequestKey: key})
	if err != nil {
		f.t.Fatal(err)
	}
	next, err := f.rc.Pay(f.ctx, o, "127.0.0.1")
	if err != nil {
		f.t.Fatal(err)
	}
	// The person opens the provider's page (UnionPay's is a form posted
	// to it): Alipay and UnionPay know a payment only from then on.
	plain := &http.Client{Timeout: 2 * time.Minute}
	var res *http.Response
	switch {
	case next.RedirectURL != "":
		res, err = plain.Get(next.RedirectURL)
	case next.Form != nil:
		form := url.Values{}
		for _, fl := range next.Form.Fields {
			form.Add(fl.Name, fl.Value)
		}
		res, err = plain.PostForm(next.Form.Action, form)
	}
	if err != nil {
		f.t.Fatal(err)
	}
	if res != nil {
		res.Body.Close()
	}
	if _, err := f.gw.Simulate(f.ctx, o.OutTradeNo, sim.DropNotify); err != nil {
		f.t.Fatal(err)
	}
	return o
}

// credited is paidAtSandbox credited by a 补单.
func (f *fixture) credited(userID int64, amount, key string) recharge.Order {
	f.t.Helper()
	return f.creditedAt(payment.Alipay, userID, amount, key)
}

// creditedAt is credited at method's sandbox.
func (f *fixture) creditedAt(method payment.Method, userID int64, amount, key string) recharge.Order {
	f.t.Helper()
	o := f.paidAt(method, userID, amount, key)
	after, _, err := f.rc.Requery(f.ctx, o.OutTradeNo)
	if err != nil || after.State != recharge.OrderPaid {
		f.t.Fatalf("requery of %s: %s %v", o.OutTradeNo, after.State, err)
	}
	return after
}

// line is the sandbox's own record of a payment, as a bill states it.
func (f *fixture) line(o recharge.Order, fee int64) payment.BillLine {
	f.t.Helper()
	res, err := f.gw.Providers[payment.Alipay].Query(f.ctx, o.OutTradeNo, o.ProviderRef)
	if err != nil || res.Status != payment.StatusPaid {
		f.t.Fatalf("sandbox query of %s: %+v %v", o.OutTradeNo, res, err)
	}
	return payment.BillLine{Kind: payment.BillPayment, OutTradeNo: o.OutTradeNo, TradeNo: res.TradeNo,
		Amount: res.Amount, Fee: fee, Currency: res.Currency, At: res.PaidAt}
}

func (f *fixture) system(code string) int64 {
	f.t.Helper()
	total, err := f.ledger.SystemAccountTotal(f.ctx, code)
	if err != nil {
		f.t.Fatal(err)
	}
	return total
}

func (f *fixture) count(q string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.store.DB().GetContext(f.ctx, &n, q, args...); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// waitUntil polls cond until it holds, within a generous bound: a
// notification or a provider's delay decides, not the test's pace.
func (f *fixture) waitUntil(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// timeNow is any instant: a bill that is not ready is refused whatever day.
func timeNow() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }
