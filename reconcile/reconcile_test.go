package reconcile_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"im2pay/audit"
	"im2pay/payment"
	"im2pay/recharge"
	"im2pay/reconcile"
	"im2pay/refund"
)

// TestADayWithEveryDifferencePlantedIsReportedExactlyAndRunningItAgainChangesNothing
// plants, in one Alipay day: a matched payment, a payment the provider
// holds that we never credited, one we credited that the bill lacks, one
// whose amount differs, our refund on the bill, and a refund line we never
// made.
func TestADayWithEveryDifferencePlantedIsReportedExactlyAndRunningItAgainChangesNothing(t *testing.T) {
	f := newFixture(t)
	u := f.user("recon_person")
	lostUser := f.user("recon_lost")
	matched := f.credited(u.ID, "68.00", "recon-matched-key-0001")
	lost := f.paidAtSandbox(lostUser.ID, "30.00", "recon-lost-key-00001")
	absent := f.credited(u.ID, "10.00", "recon-absent-key-0001")
	differs := f.credited(u.ID, "20.00", "recon-differs-key-001")
	refunded := f.credited(u.ID, "6.00", "recon-refund-key-0001")
	// The payments as the sandbox recorded them (a refunded trade reads closed afterwards).
	lines := []payment.BillLine{f.line(matched, 41), f.line(lost, 18), f.line(differs, 12), f.line(refunded, 4)}
	asker := f.staff("finance_recon")
	rf, err := f.rf.Request(f.ctx, refund.Ask{OrderNo: refunded.OutTradeNo, Amount: 6_00, Reason: "test", StaffID: asker},
		audit.Entry{StaffID: asker, StaffName: "finance_recon"})
	if err != nil || rf.State != refund.StateSucceeded {
		t.Fatalf("refund: %+v %v", rf, err)
	}
	lines[2].Amount++ // the provider says ¥20.01
	lines = append(lines,
		payment.BillLine{Kind: payment.BillRefund, OutTradeNo: refunded.OutTradeNo, TradeNo: lines[3].TradeNo,
			RequestNo: rf.RequestNo, RefundID: rf.ProviderRefundID, Amount: 6_00, Fee: -4, Currency: "CNY"},
		payment.BillLine{Kind: payment.BillRefund, OutTradeNo: matched.OutTradeNo, TradeNo: lines[0].TradeNo,
			RequestNo: "RFNOTOURS0000000000001", Amount: 5_00, Currency: "CNY"})
	f.bill.bill = payment.Bill{Lines: lines, Count: len(lines)}
	day := f.svc.Day(payment.Alipay, matched.PaidAt.Time)
	// The fixture's clock starts at noon Beijing: the day is one day.
	for _, o := range []recharge.Order{absent, differs, refunded} {
		if f.svc.Day(payment.Alipay, o.PaidAt.Time) != day {
			t.Fatalf("%s was paid at %s, outside %s", o.OutTradeNo, o.PaidAt.Time, day)
		}
	}
	clearing0, fees0 := f.system("clearing:alipay"), f.system("fees:alipay")
	txns0 := f.count(`SELECT count(*) FROM ledger_transactions`)

	r, err := f.svc.Run(f.ctx, payment.Alipay, day)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts := map[string]int{reconcile.Matched: 3, reconcile.Lost: 1, reconcile.Absent: 1, reconcile.Mismatch: 1, reconcile.Refund: 1}
	wantTotals := map[string]int64{reconcile.Matched: 68_00 + 6_00 + 6_00, reconcile.Lost: 30_00, reconcile.Absent: 10_00,
		reconcile.Mismatch: 20_01, reconcile.Refund: 5_00}
	if !reflect.DeepEqual(r.Counts, wantCounts) || !reflect.DeepEqual(r.Totals, wantTotals) {
		t.Fatalf("counts %v totals %v, want %v %v", r.Counts, r.Totals, wantCounts, wantTotals)
	}
	diffs, err := f.svc.Differences(f.ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]reconcile.Difference{}
	for _, d := range diffs {
		got[d.Class] = d
	}
	if len(diffs) != 4 || got[reconcile.Lost].OutTradeNo != lost.OutTradeNo || !got[reconcile.Lost].Credited ||
		got[reconcile.Absent].OutTradeNo != absent.OutTradeNo || got[reconcile.Mismatch].OutTradeNo != differs.OutTradeNo ||
		got[reconcile.Mismatch].Ours.Int64 != 20_00 || got[reconcile.Mismatch].Theirs.Int64 != 20_01 ||
		got[reconcile.Refund].RequestNo != "RFNOTOURS0000000000001" || r.Open != 4 {
		t.Fatalf("differences %+v (open %d)", diffs, r.Open)
	}

	// The lost payment was credited once, through recharge's crediting.
	after, err := f.rc.OrderByNo(f.ctx, lost.OutTradeNo)
	if err != nil || after.State != recharge.OrderPaid {
		t.Fatalf("lost order is %s %v", after.State, err)
	}
	lostTopups := `SELECT count(*) FROM ledger_transactions WHERE kind = 'topup' AND reference = $1`
	if n := f.count(lostTopups, "order:"+lost.OutTradeNo); n != 1 {
		t.Fatalf("%d top-ups of the lost order", n)
	}
	// Fees: 41+18+12+4-4 = 71 fen, from clearing to fees:alipay; the lost
	// payment's 30.00 left clearing when it was credited.
	if got := f.system("fees:alipay") - fees0; got != -71 {
		t.Fatalf("fees moved %d, want -71", got)
	}
	if got := f.system("clearing:alipay") - clearing0; got != 71-30_00 {
		t.Fatalf("clearing moved %d, want %d", got, 71-30_00)
	}
	txns := f.count(`SELECT count(*) FROM ledger_transactions`)

	again, err := f.svc.Run(f.ctx, payment.Alipay, day)
	if err != nil {
		t.Fatal(err)
	}
	diffsAgain, _ := f.svc.Differences(f.ctx, r.ID)
	if !reflect.DeepEqual(again, r) || !reflect.DeepEqual(diffsAgain, diffs) {
		t.Fatalf("a second run changed the report:\n%+v\n%+v", r, again)
	}
	if n := f.count(`SELECT count(*) FROM ledger_transactions`); n != txns {
		t.Fatalf("a second run posted %d transactions", n-txns)
	}
	if n := f.count(lostTopups, "order:"+lost.OutTradeNo); n != 1 {
		t.Fatalf("%d top-ups of the lost order after a second run", n)
	}
	if txns <= txns0 {
		t.Fatalf("the first run posted nothing")
	}
}

func TestResolvingADifferenceClosesItOnceAndAuditsIt(t *testing.T) {
	f := newFixture(t)
	u := f.user("recon_resolve")
	absent := f.credited(u.ID, "10.00", "recon-resolve-key-001")
	day := f.svc.Day(payment.Alipay, absent.PaidAt.Time)
	f.bill.err = payment.ErrNoBill // an empty day: the payment is absent
	r, err := f.svc.Run(f.ctx, payment.Alipay, day)
	if err != nil || r.Counts[reconcile.Absent] != 1 {
		t.Fatalf("report %+v %v", r, err)
	}
	diffs, _ := f.svc.Differences(f.ctx, r.ID)
	fin := f.staff("finance_resolve")
	if _, err := f.svc.Resolve(f.ctx, diffs[0].ID, fin, "", audit.Entry{}); !errors.Is(err, reconcile.ErrNote) {
		t.Fatalf("a resolution without a note: %v", err)
	}
	d, err := f.svc.Resolve(f.ctx, diffs[0].ID, fin, "支付宝确认入账，次日到账", audit.Entry{StaffName: "finance_resolve", ClientIP: "127.0.0.1"})
	if err != nil || !d.Resolved() {
		t.Fatalf("resolve: %+v %v", d, err)
	}
	if _, err := f.svc.Resolve(f.ctx, diffs[0].ID, fin, "again", audit.Entry{}); !errors.Is(err, reconcile.ErrResolved) {
		t.Fatalf("a second resolution: %v", err)
	}
	if n := f.count(`SELECT count(*) FROM audit_log WHERE action = 'reconcile.resolve' AND object_id = $1 AND staff_id = $2`,
		itoa(d.ID), fin); n != 1 {
		t.Fatalf("%d audit lines", n)
	}
	// Running the day again keeps the resolution and never debits the person.
	again, err := f.svc.Run(f.ctx, payment.Alipay, day)
	if err != nil || again.Open != 0 || again.Counts[reconcile.Absent] != 1 {
		t.Fatalf("again: %+v %v", again, err)
	}
	if n := f.count(`SELECT count(*) FROM ledger_transactions WHERE kind IN ('reversal', 'refund')`); n != 0 {
		t.Fatalf("%d debits", n)
	}
	var sb strings.Builder
	list, _ := f.svc.Differences(f.ctx, r.ID)
	if err := reconcile.WriteCSV(&sb, again, list); err != nil || !strings.Contains(sb.String(), "支付宝确认入账") {
		t.Fatalf("csv: %v\n%s", err, sb.String())
	}
}

func TestABillNotReadyStoresNothing(t *testing.T) {
	f := newFixture(t)
	f.bill.err = payment.ErrBillNotReady
	if _, err := f.svc.Run(f.ctx, payment.Alipay, f.svc.Day(payment.Alipay, f.svc.Day(payment.Alipay, timeNow()))); !errors.Is(err, reconcile.ErrNotReady) {
		t.Fatalf("not ready: %v", err)
	}
	if n := f.count(`SELECT count(*) FROM reconcile_reports`); n != 0 {
		t.Fatalf("%d reports", n)
	}
}
