package recharge

import (
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// An order keeps the price it was quoted; the schema holds the rounding
// rule (the smallest amount worth at least the yuan, payment.Rate.Convert)
// and crediting matches the provider against that price.
func TestAnOrderKeepsItsPriceAndIsPaidOnlyAtThatPrice(t *testing.T) {
	f := newFixture(t)
	u := f.user("priced")
	create := func(no string, amount int64, cur string, pay int64, rate string) (Order, error) {
		var o Order
		err := f.store.InTx(f.ctx, func(tx *sqlx.Tx) error {
			var err error
			o, _, err = InsertOrder(f.ctx, tx, Order{OutTradeNo: no, UserID: u.ID, RequestKey: no + "-key",
				Method: "paypal", Device: "desktop", Amount: amount, Currency: "CNY", ExpiresAt: time.Now().Add(time.Hour),
				PayCurrency: cur, PayAmount: pay, PayRate: rate})
			return err
		})
		return o, err
	}
	cases := []struct {
		name   string
		amount int64
		cur    string
		pay    int64
		rate   string
		ok     bool
	}{
		{"¥68.00 at 7.2 charged US$9.45", 68_00, "USD", 9_45, "7.2", true},
		{"¥68.00 at 7.2 charged US$9.44, worth less than ¥68.00", 68_00, "USD", 9_44, "7.2", false},
		{"¥68.00 at 7.2 charged US$9.46, a cent more than needed", 68_00, "USD", 9_46, "7.2", false},
		{"¥72.00 at 7.2 charged exactly US$10.00", 72_00, "USD", 10_00, "7.2000", true},
		{"¥68.00 at 0.047812 charged 1423 JPY (no decimals)", 68_00, "JPY", 1423, "0.047812", true},
		{"¥68.00 at 0.047812 charged 1422 JPY", 68_00, "JPY", 1422, "0.047812", false},
		{"CNY paid in CNY at another amount", 68_00, "CNY", 67_00, "1", false},
		{"CNY paid in CNY at a rate other than 1", 68_00, "CNY", 68_00, "7.2", false},
		{"a lower-case currency", 68_00, "usd", 9_45, "7.2", false},
	}
	for i, c := range cases {
		no := fmt.Sprintf("PRICED%014d", i)
		_, err := create(no, c.amount, c.cur, c.pay, c.rate)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
	}

	// An order without a price of its own is paid in yuan at rate 1.
	plain, err := create("PRICEDPLAIN0000000", 68_00, "", 0, "")
	if err != nil || plain.PayCurrency != "CNY" || plain.PayAmount != 68_00 || plain.PayRate != "1.000000" {
		t.Fatalf("an unpriced order: %+v, %v", plain, err)
	}

	o, err := create("PRICEDPAID00000000", 68_00, "USD", 9_45, "7.2")
	if err != nil {
		t.Fatal(err)
	}
	for _, wrong := range []Payment{
		{Amount: 68_00, Currency: "CNY"}, {Amount: 9_44, Currency: "USD"}, {Amount: 9_45, Currency: "EUR"},
	} {
		wrong.OutTradeNo, wrong.Method, wrong.TradeNo, wrong.PaidAt = o.OutTradeNo, "paypal", "CAPTURE"+wrong.Currency, time.Now()
		err := f.store.InTx(f.ctx, func(tx *sqlx.Tx) error {
			_, moved, err := f.service.markPaid(f.ctx, tx, wrong)
			if moved {
				return fmt.Errorf("%d %s moved the order", wrong.Amount, wrong.Currency)
			}
			return err
		})
		if err != nil {
			t.Error(err)
		}
	}
	err = f.store.InTx(f.ctx, func(tx *sqlx.Tx) error {
		paid, moved, err := f.service.markPaid(f.ctx, tx, Payment{OutTradeNo: o.OutTradeNo, Method: "paypal",
			Amount: 9_45, Currency: "USD", TradeNo: "CAPTUREUSD", PaidAt: time.Now()})
		if err == nil && (!moved || paid.State != OrderPaid || paid.Amount != 68_00) {
			return fmt.Errorf("US$9.45 did not pay the order: %+v moved %v", paid, moved)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
