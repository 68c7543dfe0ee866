package reconcile_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"im2pay/audit"
	"im2pay/payment"
	"im2pay/payment/paypal"
	paypalsandbox "im2pay/payment/sandbox/paypal"
	unionpaysandbox "im2pay/payment/sandbox/unionpay"
	"im2pay/payment/unionpay"
	"im2pay/recharge"
	"im2pay/reconcile"
	"im2pay/refund"
)

// plantedDay is the one day every sandbox test plants its five classes
// in: two matched payments, a refunded payment, a payment whose
// notification was dropped (lost), one we credited that the bill leaves
// out (absent), one whose amount the bill changes (mismatch), and our
// refund whose amount the bill changes (refund).
type plantedDay struct {
	matched, matched2, lost, absent, differs, refunded recharge.Order
	rf                                                 refund.Refund
}

// plant makes the day's payments and the refund at method's sandbox; the
// refund is waited for until it succeeded (UnionPay decides it by
// notification a moment after accepting it).
func (f *fixture) plant(method payment.Method, prefix string, lostPaid func(recharge.Order)) plantedDay {
	f.t.Helper()
	u := f.user(prefix + "_person")
	lostUser := f.user(prefix + "_lost")
	var d plantedDay
	d.matched = f.creditedAt(method, u.ID, "68.00", prefix+"-matched-key-00001")
	d.matched2 = f.creditedAt(method, u.ID, "15.00", prefix+"-matched2-key-0001")
	d.lost = f.paidAt(method, lostUser.ID, "30.00", prefix+"-lost-key-00000001")
	if lostPaid != nil {
		lostPaid(d.lost)
	}
	d.absent = f.creditedAt(method, u.ID, "10.00", prefix+"-absent-key-0000001")
	d.differs = f.creditedAt(method, u.ID, "20.00", prefix+"-differs-key-000001")
	d.refunded = f.creditedAt(method, u.ID, "12.00", prefix+"-refund-key-0000001")
	asker := f.staff("finance_" + prefix)
	rf, err := f.rf.Request(f.ctx, refund.Ask{OrderNo: d.refunded.OutTradeNo, Amount: 12_00, Reason: "test", StaffID: asker},
		audit.Entry{StaffID: asker, StaffName: "finance_" + prefix})
	if err != nil {
		f.t.Fatalf("refund: %+v %v", rf, err)
	}
	f.waitUntil("the refund decided", func() bool {
		if rf, err = f.rf.Get(f.ctx, rf.ID); err != nil {
			f.t.Fatal(err)
		}
		return rf.State != refund.StateInFlight
	})
	if rf.State != refund.StateSucceeded {
		f.t.Fatalf("refund %+v", rf)
	}
	d.rf = rf
	return d
}

// checkPlanted runs the day through the bill svc fetches and checks the
// report exactly, the lost payment's single credit, the fees, and that a
// second run changes nothing. pay is an order's amount as the provider
// took it (minor units of its currency); fees the bill's fees.
func (f *fixture) checkPlanted(svc *reconcile.Service, method payment.Method, day time.Time, d plantedDay,
	r reconcile.Report, pay func(recharge.Order) int64, refundTheirs int64, fees int64, moreMatched int, moreTotal int64) {
	f.t.Helper()
	wantCounts := map[string]int{reconcile.Matched: 3 + moreMatched, reconcile.Lost: 1, reconcile.Absent: 1, reconcile.Mismatch: 1, reconcile.Refund: 1}
	wantTotals := map[string]int64{reconcile.Matched: pay(d.matched) + pay(d.matched2) + pay(d.refunded) + moreTotal,
		reconcile.Lost: pay(d.lost), reconcile.Absent: pay(d.absent), reconcile.Mismatch: pay(d.differs) + 1,
		reconcile.Refund: refundTheirs}
	if !reflect.DeepEqual(r.Counts, wantCounts) || !reflect.DeepEqual(r.Totals, wantTotals) {
		f.t.Fatalf("counts %v totals %v, want %v %v", r.Counts, r.Totals, wantCounts, wantTotals)
	}
	diffs, err := svc.Differences(f.ctx, r.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	got := map[string]reconcile.Difference{}
	for _, x := range diffs {
		got[x.Class] = x
	}
	if len(diffs) != 4 || r.Open != 4 ||
		got[reconcile.Lost].OutTradeNo != d.lost.OutTradeNo || !got[reconcile.Lost].Credited ||
		got[reconcile.Absent].OutTradeNo != d.absent.OutTradeNo || got[reconcile.Absent].Credited ||
		got[reconcile.Mismatch].OutTradeNo != d.differs.OutTradeNo ||
		got[reconcile.Mismatch].Ours.Int64 != pay(d.differs) || got[reconcile.Mismatch].Theirs.Int64 != pay(d.differs)+1 ||
		got[reconcile.Refund].RequestNo != d.rf.RequestNo || got[reconcile.Refund].Theirs.Int64 != refundTheirs {
		f.t.Fatalf("differences %+v (open %d)", diffs, r.Open)
	}
	after, err := f.rc.OrderByNo(f.ctx, d.lost.OutTradeNo)
	if err != nil || after.State != recharge.OrderPaid {
		f.t.Fatalf("lost order is %s %v", after.State, err)
	}
	lostTopups := `SELECT count(*) FROM ledger_transactions WHERE kind = 'topup' AND reference = $1`
	if n := f.count(lostTopups, "order:"+d.lost.OutTradeNo); n != 1 {
		f.t.Fatalf("%d top-ups of the lost order", n)
	}
	if r.FeesBooked != fees {
		f.t.Fatalf("fees booked %d, the bill's %d", r.FeesBooked, fees)
	}
	fees0 := f.system(reconcile.FeesAccount(method))
	txns := f.count(`SELECT count(*) FROM ledger_transactions`)
	again, err := svc.Run(f.ctx, method, day)
	if err != nil {
		f.t.Fatal(err)
	}
	diffsAgain, _ := svc.Differences(f.ctx, r.ID)
	if !reflect.DeepEqual(again, r) || !reflect.DeepEqual(diffsAgain, diffs) {
		f.t.Fatalf("a second run changed the report:\n%+v\n%+v", r, again)
	}
	if n := f.count(`SELECT count(*) FROM ledger_transactions`); n != txns {
		f.t.Fatalf("a second run posted %d transactions", n-txns)
	}
	if n := f.count(lostTopups, "order:"+d.lost.OutTradeNo); n != 1 {
		f.t.Fatalf("%d top-ups of the lost order after a second run", n)
	}
	if f.system(reconcile.FeesAccount(method)) != fees0 {
		f.t.Fatalf("a second run booked fees again")
	}
}

// TestAUnionPayDayThroughTheSandboxsSettlementFileIsReportedExactlyAndOnce
// is the day at UnionPay: file transfer (txnType 76), the zlib'd base64
// zip, its GBK fixed-width ZM file, the differences planted with
// SetBillEdit. The sandbox, the provider and the app share one clock.
func TestAUnionPayDayThroughTheSandboxsSettlementFileIsReportedExactlyAndOnce(t *testing.T) {
	f := newFixture(t)
	// UnionPay's sandbox certificates are issued at the real time: the
	// clock must not go back before it. Moved to the first noon, Beijing,
	// a day or more after the real time; the hour decides every window.
	y, m, dd := time.Now().In(reconcile.Beijing()).Date()
	f.gw.Alipay.Advance(time.Date(y, m, dd+2, 12, 0, 0, 0, reconcile.Beijing()).Sub(f.now()))
	f.gw.Card.SetClock(f.now)
	cp := f.gw.Providers[payment.Card].(*unionpay.Provider)
	cp.SetClock(f.now)
	svc := reconcile.NewService(f.store, reconcile.Options{Ledger: f.ledger, Recharge: f.rc, Now: f.now,
		Billers: reconcile.BillersOf(map[payment.Method]payment.Provider{payment.Card: cp})})
	d := f.plant(payment.Card, "up", nil)
	day := svc.Day(payment.Card, f.now())
	for _, o := range []recharge.Order{d.matched, d.matched2, d.absent, d.differs, d.refunded} {
		if svc.Day(payment.Card, o.PaidAt.Time) != day {
			t.Fatalf("%s was paid at %s, outside %s", o.OutTradeNo, o.PaidAt.Time, day)
		}
	}
	f.gw.Card.SetBillEdit(d.absent.OutTradeNo, unionpaysandbox.BillEdit{Omit: true})
	f.gw.Card.SetBillEdit(d.differs.OutTradeNo, unionpaysandbox.BillEdit{Amount: 20_01})
	f.gw.Card.SetBillEdit(d.rf.RequestNo, unionpaysandbox.BillEdit{Amount: 5_00})

	// Not before the day's end, nor before the file exists (09:00).
	if _, err := svc.Run(f.ctx, payment.Card, day); !errors.Is(err, reconcile.ErrNotReady) {
		t.Fatalf("today's file: %v", err)
	}
	f.gw.Alipay.Advance(day.AddDate(0, 0, 1).Add(8*time.Hour + 59*time.Minute).Sub(f.now()))
	if _, err := svc.Run(f.ctx, payment.Card, day); !errors.Is(err, reconcile.ErrNotReady) {
		t.Fatalf("the file at 08:59: %v", err)
	}
	if n := f.count(`SELECT count(*) FROM reconcile_reports`); n != 0 {
		t.Fatalf("%d reports before the file exists", n)
	}
	f.gw.Alipay.Advance(91 * time.Minute) // 10:30 the next day, Beijing

	bill, err := cp.Bill(f.ctx, day)
	if err != nil {
		t.Fatalf("bill: %v", err)
	}
	// Six payments less the absent one, and our refund.
	if len(bill.Lines) != 6 || bill.Count != 6 {
		t.Fatalf("bill of %d lines: %+v", len(bill.Lines), bill.Lines)
	}
	// 0.6 % half up of each consumption as UnionPay took it: 68.00, 15.00,
	// 30.00, 20.00 (the edit changes the stated amount, not the fee), 12.00.
	if bill.Fees != 41+9+18+12+7 {
		t.Fatalf("the file's fees are %d", bill.Fees)
	}
	clearing0, fees0 := f.system("clearing:card"), f.system("fees:card")
	rs, err := svc.Daily(f.ctx, reconcile.DefaultAt)
	if err != nil || len(rs) != 1 {
		t.Fatalf("daily at 10:30: %+v %v", rs, err)
	}
	r := rs[0]
	if r.Method != string(payment.Card) || r.Day.Format(time.DateOnly) != day.Format(time.DateOnly) {
		t.Fatalf("report of %s %s", r.Method, r.Day)
	}
	cny := func(o recharge.Order) int64 { return o.PayAmount }
	f.checkPlanted(svc, payment.Card, day, d, r, cny, 5_00, bill.Fees, 0, 0)
	if got := f.system("fees:card") - fees0; got != -bill.Fees {
		t.Fatalf("fees moved %d, want %d", got, -bill.Fees)
	}
	if got := f.system("clearing:card") - clearing0; got != bill.Fees-30_00 {
		t.Fatalf("clearing moved %d, want %d", got, bill.Fees-30_00)
	}
}

// TestAPayPalDayThroughTransactionSearchIsReportedExactlyAndOnce is the day
// at PayPal: Transaction Search over the UTC day, complete only 3 hours
// after it ends, amounts in USD. The lost payment is one PayPal captured
// and we never booked (the capture's answer lost: the provider asked
// directly, not through recharge).
func TestAPayPalDayThroughTransactionSearchIsReportedExactlyAndOnce(t *testing.T) {
	f := newFixture(t)
	f.gw.PayPal.SetClock(f.now)
	pp := f.gw.Providers[payment.PayPal].(*paypal.Provider)
	pp.SetClock(f.now)
	svc := reconcile.NewService(f.store, reconcile.Options{Ledger: f.ledger, Recharge: f.rc, Now: f.now,
		Billers: reconcile.BillersOf(map[payment.Method]payment.Provider{payment.PayPal: pp})})
	d := f.plant(payment.PayPal, "pp", func(o recharge.Order) {
		o, err := f.rc.OrderByNo(f.ctx, o.OutTradeNo)
		if err != nil {
			t.Fatal(err)
		}
		if res, err := pp.Complete(f.ctx, o.OutTradeNo, o.ProviderRef); err != nil || res.Status != payment.StatusPaid {
			t.Fatalf("capture at PayPal: %+v %v", res, err)
		}
	})
	day := svc.Day(payment.PayPal, f.now())
	if day.Location() != time.UTC {
		t.Fatalf("PayPal's day %s is not UTC's", day)
	}
	for _, o := range []recharge.Order{d.matched, d.matched2, d.absent, d.differs, d.refunded} {
		if svc.Day(payment.PayPal, o.PaidAt.Time) != day {
			t.Fatalf("%s was paid at %s, outside %s", o.OutTradeNo, o.PaidAt.Time, day)
		}
	}
	if d.differs.PayCurrency != "USD" {
		t.Fatalf("paid in %s", d.differs.PayCurrency)
	}
	// A partial refund of ours the bill states as it was: ¥5.00 of the
	// ¥68.00 order is its share of the dollars, rounded down, and matches
	// (the bill is in USD, our refund's amount in CNY).
	asker := f.staff("finance_pp2")
	part, err := f.rf.Request(f.ctx, refund.Ask{OrderNo: d.matched.OutTradeNo, Amount: 5_00, Reason: "test", StaffID: asker},
		audit.Entry{StaffID: asker, StaffName: "finance_pp2"})
	if err != nil || part.State != refund.StateSucceeded {
		t.Fatalf("partial refund: %+v %v", part, err)
	}
	partUSD := d.matched.PayAmount * 5_00 / 68_00
	f.gw.PayPal.SetBillEdit(d.absent.OutTradeNo, paypalsandbox.BillEdit{Omit: true})
	f.gw.PayPal.SetBillEdit(d.differs.OutTradeNo, paypalsandbox.BillEdit{Amount: d.differs.PayAmount + 1})
	// Our refund of ¥12.00, all of its payment, reported a cent short.
	refundPaid := d.refunded.PayAmount
	f.gw.PayPal.SetBillEdit(d.rf.ProviderRefundID, paypalsandbox.BillEdit{Amount: refundPaid - 1})

	// Up to 3 hours' lag: not complete until 03:00 UTC the next day.
	f.gw.Alipay.Advance(day.AddDate(0, 0, 1).Add(2*time.Hour + 59*time.Minute).Sub(f.now()))
	if _, err := svc.Run(f.ctx, payment.PayPal, day); !errors.Is(err, reconcile.ErrNotReady) {
		t.Fatalf("the day at 02:59 UTC: %v", err)
	}
	f.gw.Alipay.Advance(2 * time.Minute)
	bill, err := pp.Bill(f.ctx, day)
	if err != nil {
		t.Fatalf("bill: %v", err)
	}
	if len(bill.Lines) != 7 {
		t.Fatalf("bill of %d lines: %+v", len(bill.Lines), bill.Lines)
	}
	clearing0, fees0 := f.system("clearing:paypal"), f.system("fees:paypal")
	r, err := svc.Run(f.ctx, payment.PayPal, day)
	if err != nil {
		t.Fatal(err)
	}
	usd := func(o recharge.Order) int64 { return o.PayAmount }
	f.checkPlanted(svc, payment.PayPal, day, d, r, usd, refundPaid-1, bill.Fees, 1, partUSD)
	if bill.Fees == 0 || f.system("fees:paypal")-fees0 != -bill.Fees {
		t.Fatalf("fees moved %d, the bill's %d", f.system("fees:paypal")-fees0, bill.Fees)
	}
	// The clearing account holds CNY: the fee (USD cents) is booked as
	// the bill states it; the lost payment's ¥30.00 left it when credited.
	if got := f.system("clearing:paypal") - clearing0; got != bill.Fees-d.lost.Amount {
		t.Fatalf("clearing moved %d, want %d", got, bill.Fees-d.lost.Amount)
	}
}
