package handlers_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/paypal"
	"im2pay/payment/sandbox/sim"
	"im2pay/recharge"
)

// The sandbox's PayPal app is a merchant account registered in the US, as
// most are: orders are priced in USD at the demo rate (7.2000 CNY per USD).
func TestAPayPalOrderIsQuotedPaidAndCapturedInUSDAndCreditedInCNY(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("pp_usd", goodPassword)

	// The person sees what PayPal will charge before paying, on the
	// preview and on the confirm step, in both languages.
	const zh, en = "将以 US$9.45 支付（1 USD = 7.2000 CNY）", "You will pay US$9.45 (1 USD = 7.2000 CNY)"
	for _, path := range []string{"/recharge?method=paypal&amount=68", "/recharge/preview?method=paypal&amount=68",
		"/recharge/confirm?method=paypal&amount=68"} {
		if a := b.get(path); a.status != http.StatusOK || !strings.Contains(a.body, zh) {
			t.Errorf("%s does not say %q: %d\n%.2000s", path, zh, a.status, a.body)
		}
		if a := b.get(path, "Accept-Language", "en"); !strings.Contains(a.body, en) {
			t.Errorf("%s in English does not say %q", path, en)
		}
	}
	if a := b.get("/recharge/confirm?method=alipay&amount=68"); strings.Contains(a.body, "quote-pay-foreign") {
		t.Errorf("an Alipay top-up shows a foreign price:\n%.2000s", a.body)
	}

	no := p.order(b, "paypal", "68")
	o, err := p.recharge.OrderByNo(context.Background(), no)
	if err != nil {
		t.Fatal(err)
	}
	if o.Amount != 68_00 || o.Currency != "CNY" || o.PayCurrency != "USD" || o.PayAmount != 9_45 || o.PayRate != "7.200000" {
		t.Fatalf("the order stored %d %s priced %d %s at %s, want ¥68.00 priced US$9.45 at 7.2", o.Amount, o.Currency,
			o.PayAmount, o.PayCurrency, o.PayRate)
	}
	p.pay(b, no)
	p.settle(b, no, sim.Success)
	if state, a := p.result(b, no, 10*time.Second); state != recharge.OrderPaid {
		t.Fatalf("the USD order is %s\n%.1500s", state, a.body)
	}
	// The wallet gets the yuan of the order (¥68.00, its 5% tier bonus and
	// the first top-up bonus); PayPal captured the dollars it was asked for.
	if got := p.balance(b); got != "7740" {
		t.Errorf("balance %s fen, want 7740", got)
	}
	if n := p.ledgerCount(`SELECT count(*) FROM ledger_entries e JOIN ledger_transactions x ON x.id = e.transaction_id
		WHERE x.idempotency_key = $1 AND e.amount = 6800`, "topup:"+no); n != 1 {
		t.Errorf("%d top-up entries of ¥68.00 into the wallet, want 1", n)
	}
	o, _ = p.recharge.OrderByNo(context.Background(), no)
	r, err := p.gw.Providers[payment.PayPal].Query(context.Background(), no, o.ProviderRef)
	if err != nil || r.Status != payment.StatusPaid || r.Amount != 9_45 || r.Currency != "USD" || r.TradeNo != o.ProviderTradeNo.String {
		t.Errorf("PayPal says %+v, %v; want US$9.45 captured as %s", r, err, o.ProviderTradeNo.String)
	}
}

// restated is the PayPal provider reporting a captured payment with another
// amount or currency than PayPal was asked for, on every path the app
// learns of a capture: the capture call, a query and a webhook.
type restated struct {
	*paypal.Provider
	mu  sync.Mutex
	say map[string]func(*payment.Result) // by order number
}

func (p *restated) restate(r payment.Result) payment.Result {
	p.mu.Lock()
	f := p.say[r.OutTradeNo]
	p.mu.Unlock()
	if f != nil && r.Status == payment.StatusPaid {
		f(&r)
	}
	return r
}

func (p *restated) Complete(ctx context.Context, no, ref string) (payment.Result, error) {
	r, err := p.Provider.Complete(ctx, no, ref)
	return p.restate(r), err
}

func (p *restated) Query(ctx context.Context, no, ref string) (payment.Result, error) {
	r, err := p.Provider.Query(ctx, no, ref)
	return p.restate(r), err
}

func (p *restated) ParseNotification(ctx context.Context, h payment.Header, body []byte) (payment.Notification, error) {
	n, err := p.Provider.ParseNotification(ctx, h, body)
	n.Result = p.restate(n.Result)
	return n, err
}

func TestAPayPalCaptureOfAnotherAmountOrCurrencyIsRefused(t *testing.T) {
	pp := &restated{say: map[string]func(*payment.Result){}}
	p := newPaySiteWith(t, paySiteOptions{wrap: func(ps map[payment.Method]payment.Provider) map[payment.Method]payment.Provider {
		pp.Provider = ps[payment.PayPal].(*paypal.Provider)
		ps[payment.PayPal] = pp
		return ps
	}})
	cases := []struct {
		name string
		say  func(*payment.Result)
	}{
		{"a cent less", func(r *payment.Result) { r.Amount-- }},
		{"the same figure in euros", func(r *payment.Result) { r.Currency = "EUR" }},
		// What the merchant side checked before orders had a price of
		// their own: the order's yuan, in yuan.
		{"the order's CNY amount in CNY", func(r *payment.Result) { r.Amount, r.Currency = 68_00, "CNY" }},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := p.with(t)
			b := p.browser()
			b.register("pp_restated"+string(rune('a'+i)), goodPassword)
			no := p.order(b, "paypal", "68")
			pp.mu.Lock()
			pp.say[no] = c.say
			pp.mu.Unlock()
			p.pay(b, no)
			p.settle(b, no, sim.Success) // the return captures: the capture call
			if _, a := p.recharge.Recheck(context.Background(), mustOrder(t, p, no)); a.Said != "error" || !errors.Is(a.Err, recharge.ErrMismatch) {
				t.Errorf("asking PayPal again: %s %v, want a mismatch", a.Said, a.Err)
			}
			// The sandbox's webhook for the capture arrives on its own time;
			// wait until it was verified and recorded (a hang guard, not a timing).
			deadline := time.Now().Add(settleBound)
			for p.ledgerCount(`SELECT count(*) FROM payment_events WHERE out_trade_no = $1 AND kind = 'notify' AND verified`, no) == 0 {
				if time.Now().After(deadline) {
					t.Fatal("the capture webhook never arrived")
				}
				time.Sleep(100 * time.Millisecond)
			}
			if o := mustOrder(t, p, no); o.State == recharge.OrderPaid {
				t.Fatalf("a capture of %s was credited to an order priced US$9.45", c.name)
			}
			if got := p.balance(b); got != "0" {
				t.Errorf("balance %s fen, want 0", got)
			}
			if n := p.ledgerCount(`SELECT count(*) FROM ledger_transactions WHERE reference = $1`, "order:"+no); n != 0 {
				t.Errorf("%d ledger transactions for the order, want none", n)
			}
		})
	}
}

func mustOrder(t *testing.T, p *paySite, no string) recharge.Order {
	t.Helper()
	o, err := p.recharge.OrderByNo(context.Background(), no)
	if err != nil {
		t.Fatal(err)
	}
	return o
}
