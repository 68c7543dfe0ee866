package recharge

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/problem"
)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// staffFixture is a fixture whose service counts days in Beijing time, as
// the app does.
func staffFixture(t *testing.T) *fixture {
	f := newFixture(t)
	f.service = NewService(f.store, Options{Location: shanghai})
	return f
}

// order inserts an order of userID created at a moment of Beijing time.
func (f *fixture) order(userID int64, no, method string, created time.Time) Order {
	f.t.Helper()
	var o Order
	err := f.store.InTx(f.ctx, func(tx *sqlx.Tx) error {
		var err error
		o, _, err = InsertOrder(f.ctx, tx, Order{OutTradeNo: no, UserID: userID, RequestKey: no + "-key",
			Method: method, Device: "desktop", Amount: 68_00, TierBonus: 3_40, Currency: "CNY",
			CreatedAt: created, ExpiresAt: created.Add(30 * time.Minute)})
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return o
}

// paidAt marks an order paid with a provider trade number, as markPaid
// does inside Settle (no ledger: the search reads orders only).
func (f *fixture) paid(o Order, tradeNo string) {
	f.t.Helper()
	err := f.store.InTx(f.ctx, func(tx *sqlx.Tx) error {
		_, moved, err := f.service.markPaid(f.ctx, tx, Payment{OutTradeNo: o.OutTradeNo, Method: o.Method,
			Amount: o.PayAmount, Currency: o.PayCurrency, TradeNo: tradeNo, PaidAt: o.CreatedAt.Add(time.Minute)})
		if err == nil && !moved {
			err = errors.New("not moved")
		}
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) search(q OrderQuery) []string {
	f.t.Helper()
	flt, err := f.service.ParseOrderQuery(q)
	if err != nil {
		f.t.Fatalf("%+v: %v", q, err)
	}
	page, err := f.service.SearchOrders(f.ctx, flt)
	if err != nil {
		f.t.Fatal(err)
	}
	var nos []string
	for _, o := range page.Orders {
		nos = append(nos, o.OutTradeNo)
	}
	return nos
}

func bj(day, hour, minute int) time.Time {
	return time.Date(2026, time.November, day, hour, minute, 0, 0, shanghai)
}

func TestStaffFindOrdersByEachFilterAndDatesInBeijingTime(t *testing.T) {
	f := staffFixture(t)
	alice, bob := f.user("alice"), f.user("bob")
	a1 := f.order(alice.ID, "SEARCHA100000000", "alipay", bj(1, 10, 0))
	// 00:30 on the 2nd in Beijing is still the 1st in UTC.
	f.order(alice.ID, "SEARCHA200000000", "wechat", bj(2, 0, 30))
	b1 := f.order(bob.ID, "SEARCHB100000000", "card", bj(3, 12, 0))
	f.paid(b1, "PTN-B1-20261103")
	b2 := f.order(bob.ID, "SEARCHB200000000", "paypal", bj(4, 12, 0))
	if _, err := f.service.move(f.ctx, b2, OrderCancelled, ""); err != nil {
		t.Fatal(err)
	}
	_ = a1

	cases := []struct {
		name string
		q    OrderQuery
		want []string
	}{
		{"no filter lists every order, newest first", OrderQuery{},
			[]string{"SEARCHB200000000", "SEARCHB100000000", "SEARCHA200000000", "SEARCHA100000000"}},
		{"the order number finds its order", OrderQuery{OutTradeNo: "SEARCHA100000000"}, []string{"SEARCHA100000000"}},
		{"the provider's trade number finds its order", OrderQuery{ProviderTradeNo: "PTN-B1-20261103"}, []string{"SEARCHB100000000"}},
		{"a username in any letter case finds that person's orders", OrderQuery{Username: "ALICE"},
			[]string{"SEARCHA200000000", "SEARCHA100000000"}},
		{"a state", OrderQuery{State: "paid"}, []string{"SEARCHB100000000"}},
		{"a method", OrderQuery{Method: "paypal"}, []string{"SEARCHB200000000"}},
		{"a day is a Beijing day (00:30 on the 2nd is the 2nd)", OrderQuery{From: "2026-11-02", To: "2026-11-02"},
			[]string{"SEARCHA200000000"}},
		{"the 1st in Beijing excludes the order of 00:30 on the 2nd", OrderQuery{From: "2026-11-01", To: "2026-11-01"},
			[]string{"SEARCHA100000000"}},
		{"filters combine", OrderQuery{Username: "bob", State: "cancelled"}, []string{"SEARCHB200000000"}},
		{"an unknown user finds nothing", OrderQuery{Username: "nobody"}, nil},
		{"a quote in a name is a name, not SQL", OrderQuery{Username: "x'OR'1'='1"}, nil},
		{"a quote in a trade number is a trade number", OrderQuery{ProviderTradeNo: "'OR''='"}, nil},
	}
	for _, c := range cases {
		if got := f.search(c.q); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestAMalformedSearchIsRefusedNamingItsField(t *testing.T) {
	f := staffFixture(t)
	cases := []struct {
		q     OrderQuery
		field string
	}{
		{OrderQuery{OutTradeNo: "short"}, "no"},
		{OrderQuery{OutTradeNo: "SEARCH\x00000000000"}, "no"},
		{OrderQuery{ProviderTradeNo: "with space"}, "provider_no"},
		{OrderQuery{ProviderTradeNo: "\xff\xfe"}, "provider_no"},
		{OrderQuery{Username: "a\x00b"}, "username"},
		{OrderQuery{State: "paid' --"}, "state"},
		{OrderQuery{State: "pending"}, "state"},
		{OrderQuery{Method: "bitcoin"}, "method"},
		{OrderQuery{From: "2026-13-01"}, "from"},
		{OrderQuery{To: "yesterday"}, "to"},
		{OrderQuery{From: "2026-11-05", To: "2026-11-04"}, "to"},
		{OrderQuery{Before: "+7"}, ""},
		{OrderQuery{Before: "-1"}, ""},
		{OrderQuery{Before: "007"}, ""},
	}
	for _, c := range cases {
		_, err := f.service.ParseOrderQuery(c.q)
		var p *problem.Problem
		if !errors.As(err, &p) || p.Field != c.field {
			t.Errorf("%+v: got %v, want a problem with field %q", c.q, err, c.field)
		}
	}
}

func TestSearchPagesHaveNoDuplicatesOrGapsWhileOrdersArrive(t *testing.T) {
	f := staffFixture(t)
	u := f.user("pager")
	const total = 2*SearchPageSize + 7
	var all []int64
	for i := range total {
		o := f.order(u.ID, fmt.Sprintf("PAGE%012d", i), "alipay", bj(5, 8, 0).Add(time.Duration(i)*time.Minute))
		all = append(all, o.ID)
	}
	slices.Reverse(all)
	var seen []int64
	q := OrderQuery{Username: "pager"}
	for page := 0; ; page++ {
		flt, err := f.service.ParseOrderQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		p, err := f.service.SearchOrders(f.ctx, flt)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range p.Orders {
			seen = append(seen, o.ID)
		}
		// A new order between two pages belongs to the first page of a
		// new search, never to a later page of this one.
		f.order(u.ID, fmt.Sprintf("LATE%012d", page), "alipay", bj(6, 8, 0))
		if p.Next == 0 {
			break
		}
		q.Before = fmt.Sprint(p.Next)
	}
	if !slices.Equal(seen, all) {
		t.Fatalf("pages gave %d orders, want the %d in id order: %v", len(seen), len(all), seen)
	}
}

func TestTheOrdersCSVStreamsEveryMatchWithAHeaderAndDefusesFormulas(t *testing.T) {
	f := staffFixture(t)
	u, other := f.user("csvuser"), f.user("other")
	for i := range 23 {
		f.order(u.ID, fmt.Sprintf("CSV%013d", i), "alipay", bj(7, 9, i))
	}
	f.order(other.ID, "CSVOTHER00000000", "alipay", bj(7, 10, 0))
	evil := f.order(u.ID, "CSVEVIL000000000", "card", bj(7, 11, 0))
	f.paid(evil, "=HYPERLINK(\"http://x\")")

	flt, err := f.service.ParseOrderQuery(OrderQuery{Username: "csvuser"})
	if err != nil {
		t.Fatal(err)
	}
	header := []string{"no", "created", "user", "method", "amount", "tier", "first", "state", "reason", "ptn", "paid"}
	var buf bytes.Buffer
	// Pages of 5 orders: the file is written across page boundaries.
	if err := f.service.writeOrdersCSV(f.ctx, &buf, flt, header, 5); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+24 || !slices.Equal(rows[0], header) {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	first := rows[1]
	if first[0] != "CSVEVIL000000000" || first[1] != "2026-11-07 11:00:00" || first[2] != "csvuser" ||
		first[4] != "68.00" || first[5] != "3.40" || first[7] != "paid" || first[9] != "'=HYPERLINK(\"http://x\")" ||
		first[10] != "2026-11-07 11:01:00" {
		t.Fatalf("first line %q", first)
	}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		if seen[r[0]] || r[2] != "csvuser" {
			t.Fatalf("line %q repeated or another person's", r)
		}
		seen[r[0]] = true
	}
	if len(OrderCSVColumns) != len(header) {
		t.Fatalf("%d header keys for %d columns", len(OrderCSVColumns), len(header))
	}
}
