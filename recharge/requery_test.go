package recharge

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"im2pay/db"
	"im2pay/payment"
	"im2pay/payment/sandbox/sandboxtest"
	"im2pay/payment/sandbox/sim"
)

// payFixture is a staff fixture whose service talks to the sandbox
// gateway. Notifications go to an address nobody listens on: every one is
// lost, as in the 补单 case.
func payFixture(t *testing.T) (*fixture, *sandboxtest.Gateway) {
	f := newFixture(t)
	const nowhere = "http://127.0.0.1:9"
	gw := sandboxtest.Start(t, nowhere)
	f.service = NewService(f.store, Options{Location: shanghai, Providers: gw.Providers, BaseURL: nowhere})
	return f, gw
}

// started creates an order of amount and sends it to the provider.
func (f *fixture) started(userID int64, method, amount, key string) Order {
	f.t.Helper()
	o, err := f.service.CreateOrder(f.ctx, NewOrder{UserID: userID, Method: method, Amount: amount,
		Device: payment.Desktop, RequestKey: key})
	if err != nil {
		f.t.Fatal(err)
	}
	next, err := f.service.Pay(f.ctx, o, "127.0.0.1")
	if err != nil {
		f.t.Fatal(err)
	}
	// The person opens the provider's cashier: Alipay and UnionPay know
	// a payment only from then on (WeChat Pay's QR code is known at once).
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
	if o, err = f.service.OrderByNo(f.ctx, o.OutTradeNo); err != nil {
		f.t.Fatal(err)
	}
	return o
}

// money is the ledger as a whole: how many transactions, and the sum of
// every wallet's balance.
func (f *fixture) money() (txns, wallets int64) {
	f.t.Helper()
	err := f.store.DB().QueryRowContext(f.ctx, `SELECT (SELECT count(*) FROM ledger_transactions),
		(SELECT coalesce(sum(balance), 0) FROM accounts WHERE kind = 'wallet')`).Scan(&txns, &wallets)
	if err != nil {
		f.t.Fatal(err)
	}
	return txns, wallets
}

func TestRequeryCreditsAPaidOrderWhoseNotificationWasLostOnce(t *testing.T) {
	f, gw := payFixture(t)
	u := f.user("lostnotify")
	o := f.started(u.ID, "alipay", "68.00", "requery-paid-key-0001")
	if _, err := gw.Simulate(f.ctx, o.OutTradeNo, sim.DropNotify); err != nil {
		t.Fatal(err)
	}
	txns0, wallets0 := f.money()

	after, a, err := f.service.Requery(f.ctx, o.OutTradeNo)
	if err != nil || a.Said != "paid" || after.State != OrderPaid || a.Provider.Status != payment.StatusPaid {
		t.Fatalf("requery: %+v %+v %v", after.State, a, err)
	}
	// ¥68.00, its 5% tier bonus and the first top-up's ¥6.00: the top-up
	// and the bonus, two transactions.
	txns1, wallets1 := f.money()
	if txns1-txns0 != 2 || wallets1-wallets0 != 68_00+3_40+6_00 {
		t.Fatalf("credited %d transactions, %d fen", txns1-txns0, wallets1-wallets0)
	}

	// A second 补单 (a double click, a second staff member) moves nothing.
	again, a2, err := f.service.Requery(f.ctx, o.OutTradeNo)
	if err != nil || a2.Said != "paid" || again.State != OrderPaid {
		t.Fatalf("second requery: %+v %+v %v", again.State, a2, err)
	}
	if txns2, wallets2 := f.money(); txns2 != txns1 || wallets2 != wallets1 {
		t.Fatalf("a second requery moved money: %d/%d transactions, %d/%d fen", txns2, txns1, wallets2, wallets1)
	}
}

func TestRequeryOfAnUnpaidOrderCreditsNothing(t *testing.T) {
	f, _ := payFixture(t)
	u := f.user("unpaid")
	o := f.started(u.ID, "wechat", "30.00", "requery-unpaid-key-01")
	txns0, wallets0 := f.money()
	after, a, err := f.service.Requery(f.ctx, o.OutTradeNo)
	if err != nil || a.Said != "unpaid" || after.State != OrderAwaiting {
		t.Fatalf("requery: %s %+v %v", after.State, a, err)
	}
	// Cancelled, and still unpaid at the provider: asked, still nothing.
	cancelled, err := f.service.Cancel(f.ctx, after)
	if err != nil || cancelled.State != OrderCancelled {
		t.Fatalf("cancel: %s %v", cancelled.State, err)
	}
	after, a, err = f.service.Requery(f.ctx, o.OutTradeNo)
	if err != nil || after.State != OrderCancelled || a.Said == "paid" {
		t.Fatalf("requery of the cancelled order: %s %+v %v", after.State, a, err)
	}
	// Never sent to a provider: nothing to ask.
	fresh, err := f.service.CreateOrder(f.ctx, NewOrder{UserID: u.ID, Method: "alipay", Amount: "6.00",
		Device: payment.Desktop, RequestKey: "requery-fresh-key-0001"})
	if err != nil {
		t.Fatal(err)
	}
	if _, a, err := f.service.Requery(f.ctx, fresh.OutTradeNo); err != nil || a.Said != "not_started" {
		t.Fatalf("requery of an order never started: %+v %v", a, err)
	}
	if txns, wallets := f.money(); txns != txns0 || wallets != wallets0 {
		t.Fatalf("unpaid orders moved money: %d/%d transactions, %d/%d fen", txns, txns0, wallets, wallets0)
	}
}

// A paid order closed by the person before the provider's word arrived
// (the money was taken after all) is credited by 补单: the state machine
// lets a cancelled order become paid.
func TestRequeryCreditsACancelledOrderTheProviderSaysIsPaid(t *testing.T) {
	f, gw := payFixture(t)
	u := f.user("latepay")
	o := f.started(u.ID, "card", "30.00", "requery-late-key-00001")
	// UnionPay has no close: the order is cancelled here only.
	if _, err := f.service.Cancel(f.ctx, o); err != nil {
		t.Fatal(err)
	}
	if _, err := gw.Simulate(f.ctx, o.OutTradeNo, sim.DropNotify); err != nil {
		t.Fatal(err)
	}
	_, wallets0 := f.money()
	after, a, err := f.service.Requery(f.ctx, o.OutTradeNo)
	if err != nil || after.State != OrderPaid || a.Said != "paid" {
		t.Fatalf("requery: %s %+v %v", after.State, a, err)
	}
	if _, wallets := f.money(); wallets-wallets0 != 30_00+6_00 {
		t.Fatalf("credited %d fen", wallets-wallets0)
	}
}

func TestRequeryOfAnOrderNumberThatIsNoOrderAsksNobody(t *testing.T) {
	f, _ := payFixture(t)
	for _, no := range []string{"", "NOSUCHORDER00000", "x' OR '1'='1", "AAAA\x00AAAAAAAAAAAAAA"} {
		if _, _, err := f.service.Requery(f.ctx, no); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("%q: %v", no, err)
		}
	}
	var events int
	if err := f.store.DB().GetContext(f.ctx, &events, `SELECT count(*) FROM payment_events`); err != nil || events != 0 {
		t.Fatalf("%d payment events, %v", events, err)
	}
}
