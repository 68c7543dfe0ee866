package reconcile_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"im2pay/audit"
	"im2pay/payment"
	"im2pay/payment/alipay"
	alipaysandbox "im2pay/payment/sandbox/alipay"
	wechatsandbox "im2pay/payment/sandbox/wechat"
	"im2pay/payment/wechat"
	"im2pay/recharge"
	"im2pay/reconcile"
	"im2pay/refund"
)

// product is a 商品名称 planted in the bill: GBK has every character, two
// of them full-width punctuation.
const product = "会员月卡（含税）：测试商品"

// TestAnAlipayDayThroughTheSandboxsBillIsReportedExactlyAndOnce reconciles
// one Alipay day through the provider's real Bill (the download URL query,
// then the GBK zip over HTTP) with every class planted in the sandbox's
// own bill: two matched payments and our refund on the bill; a payment
// whose notification was dropped (paid there, not credited here); one we
// credited that EditBill drops; one whose amount EditBill changes; a
// refund line we never made. The app and the sandbox share one clock,
// started at noon Beijing and moved past 10:00 the next day.
func TestAnAlipayDayThroughTheSandboxsBillIsReportedExactlyAndOnce(t *testing.T) {
	f := newFixture(t)
	ali := f.gw.Providers[payment.Alipay].(*alipay.Provider)
	svc := reconcile.NewService(f.store, reconcile.Options{Ledger: f.ledger, Recharge: f.rc, Now: f.now,
		Billers: reconcile.BillersOf(map[payment.Method]payment.Provider{payment.Alipay: ali})})
	u := f.user("sbx_person")
	lostUser := f.user("sbx_lost")
	matched := f.credited(u.ID, "68.00", "sbx-matched-key-00001")
	matched2 := f.credited(u.ID, "15.00", "sbx-matched2-key-0001")
	lost := f.paidAtSandbox(lostUser.ID, "30.00", "sbx-lost-key-0000001")
	absent := f.credited(u.ID, "10.00", "sbx-absent-key-000001")
	differs := f.credited(u.ID, "20.00", "sbx-differs-key-00001")
	refunded := f.credited(u.ID, "6.00", "sbx-refund-key-000001")
	asker := f.staff("finance_sbx")
	rf, err := f.rf.Request(f.ctx, refund.Ask{OrderNo: refunded.OutTradeNo, Amount: 6_00, Reason: "test", StaffID: asker},
		audit.Entry{StaffID: asker, StaffName: "finance_sbx"})
	if err != nil || rf.State != refund.StateSucceeded {
		t.Fatalf("refund: %+v %v", rf, err)
	}
	day := svc.Day(payment.Alipay, f.now())
	if want := time.Date(2026, 11, 30, 0, 0, 0, 0, reconcile.Beijing()); !day.Equal(want) {
		t.Fatalf("the clock's day is %s, want %s", day, want)
	}
	for _, o := range []recharge.Order{matched, matched2, absent, differs, refunded} {
		if svc.Day(payment.Alipay, o.PaidAt.Time) != day {
			t.Fatalf("%s was paid at %s, outside %s", o.OutTradeNo, o.PaidAt.Time, day)
		}
	}

	// The differences, planted in the sandbox's bill of that day only.
	const notOurs = "RFNOTOURS0000000000001"
	f.gw.Alipay.EditBill(func(d time.Time, rows []alipaysandbox.BillRow) []alipaysandbox.BillRow {
		if !d.Equal(day) {
			return rows
		}
		var out []alipaysandbox.BillRow
		for _, r := range rows {
			switch {
			case r.OutTradeNo == absent.OutTradeNo:
				continue // credited here, absent from the bill
			case r.OutTradeNo == differs.OutTradeNo:
				r.Amount++ // the provider says ¥20.01
			case r.OutTradeNo == matched.OutTradeNo:
				r.Subject = product
				out = append(out, r)
				// A refund of ¥5.00 on it that we never asked for.
				r.Refund, r.RequestNo, r.Finished = true, notOurs, r.Finished.Add(time.Minute)
				r.Amount, r.Fee = 5_00, 3
			}
			out = append(out, r)
		}
		return out
	})

	// Today's bill does not exist yet, nor yesterday's before 10:00.
	if _, err := svc.Run(f.ctx, payment.Alipay, day); !errors.Is(err, reconcile.ErrNotReady) {
		t.Fatalf("today's bill: %v", err)
	}
	next := day.AddDate(0, 0, 1)
	f.gw.Alipay.Advance(next.Add(9*time.Hour + 59*time.Minute).Sub(f.now()))
	if rs, err := svc.Daily(f.ctx, reconcile.DefaultAt); err != nil || len(rs) != 0 {
		t.Fatalf("daily at 09:59: %+v %v", rs, err)
	}
	if n := f.count(`SELECT count(*) FROM reconcile_reports`); n != 0 {
		t.Fatalf("%d reports before 10:00", n)
	}
	f.gw.Alipay.Advance(31 * time.Minute) // 10:30 the next day, Beijing

	// The bill itself: GBK zip, Chinese product name, the planted lines.
	bill, err := ali.Bill(f.ctx, day)
	if err != nil {
		t.Fatalf("bill: %v", err)
	}
	if len(bill.Lines) != 7 || bill.Count != 7 {
		t.Fatalf("bill of %d lines (count %d): %+v", len(bill.Lines), bill.Count, bill.Lines)
	}
	if text := gbkText(t, bill.Raw); !strings.Contains(text, product+",") {
		t.Fatalf("the product name is not in the GBK bill:\n%s", text)
	}
	for _, l := range bill.Lines {
		if l.OutTradeNo == matched.OutTradeNo && l.Kind == payment.BillPayment && l.Amount != 68_00 {
			t.Fatalf("the line with the Chinese product name parsed as %+v", l)
		}
	}

	clearing0, fees0 := f.system("clearing:alipay"), f.system("fees:alipay")
	txns0 := f.count(`SELECT count(*) FROM ledger_transactions`)
	rs, err := svc.Daily(f.ctx, reconcile.DefaultAt)
	if err != nil || len(rs) != 1 {
		t.Fatalf("daily at 10:30: %+v %v", rs, err)
	}
	r := rs[0]
	if r.Method != string(payment.Alipay) || r.Day.Format(time.DateOnly) != "2026-11-30" { // a date column
		t.Fatalf("report of %s %s", r.Method, r.Day)
	}
	wantCounts := map[string]int{reconcile.Matched: 4, reconcile.Lost: 1, reconcile.Absent: 1, reconcile.Mismatch: 1, reconcile.Refund: 1}
	wantTotals := map[string]int64{reconcile.Matched: 68_00 + 15_00 + 6_00 + 6_00, reconcile.Lost: 30_00, reconcile.Absent: 10_00,
		reconcile.Mismatch: 20_01, reconcile.Refund: 5_00}
	if !reflect.DeepEqual(r.Counts, wantCounts) || !reflect.DeepEqual(r.Totals, wantTotals) {
		t.Fatalf("counts %v totals %v, want %v %v", r.Counts, r.Totals, wantCounts, wantTotals)
	}
	diffs, err := svc.Differences(f.ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]reconcile.Difference{}
	for _, d := range diffs {
		got[d.Class] = d
	}
	if len(diffs) != 4 || r.Open != 4 ||
		got[reconcile.Lost].OutTradeNo != lost.OutTradeNo || !got[reconcile.Lost].Credited ||
		got[reconcile.Absent].OutTradeNo != absent.OutTradeNo || got[reconcile.Absent].Credited ||
		got[reconcile.Mismatch].OutTradeNo != differs.OutTradeNo ||
		got[reconcile.Mismatch].Ours.Int64 != 20_00 || got[reconcile.Mismatch].Theirs.Int64 != 20_01 ||
		got[reconcile.Refund].RequestNo != notOurs || got[reconcile.Refund].Theirs.Int64 != 5_00 {
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
	// Fees at the sandbox's 0.6 %, half up, as the bill states them:
	// payments 41+9+18+12(on the ¥20.00 the sandbox charged)+4, refunds
	// returned -4 (ours) and -3 (the planted one) = 77 fen, from clearing
	// to fees:alipay; the lost payment's 30.00 left clearing when credited.
	if bill.Fees != 77 {
		t.Fatalf("the bill's fees are %d, want 77", bill.Fees)
	}
	if got := f.system("fees:alipay") - fees0; got != -77 {
		t.Fatalf("fees moved %d, want -77", got)
	}
	if got := f.system("clearing:alipay") - clearing0; got != 77-30_00 {
		t.Fatalf("clearing moved %d, want %d", got, 77-30_00)
	}
	// Two transactions at most: the lost top-up and the day's fees (how
	// the fees are grouped is reconcile's choice, but some were posted).
	txns := f.count(`SELECT count(*) FROM ledger_transactions`)
	if txns <= txns0+1 {
		t.Fatalf("the run posted %d transactions", txns-txns0)
	}

	// Again: the daily pass sees the report; a run on demand (a fresh
	// download of the same bill) changes nothing.
	if again, err := svc.Daily(f.ctx, reconcile.DefaultAt); err != nil || len(again) != 0 {
		t.Fatalf("a second daily pass: %+v %v", again, err)
	}
	again, err := svc.Run(f.ctx, payment.Alipay, day)
	if err != nil {
		t.Fatal(err)
	}
	diffsAgain, _ := svc.Differences(f.ctx, r.ID)
	if !reflect.DeepEqual(again, r) || !reflect.DeepEqual(diffsAgain, diffs) {
		t.Fatalf("a second run changed the report:\n%+v\n%+v", r, again)
	}
	if n := f.count(`SELECT count(*) FROM ledger_transactions`); n != txns {
		t.Fatalf("a second run posted %d transactions", n-txns)
	}
	if n := f.count(lostTopups, "order:"+lost.OutTradeNo); n != 1 {
		t.Fatalf("%d top-ups of the lost order after a second run", n)
	}
	if f.system("fees:alipay")-fees0 != -77 {
		t.Fatalf("a second run booked fees again")
	}
}

// gbkText is the bill zip's 业务明细 file, decoded from GBK.
func gbkText(t *testing.T, raw []byte) string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatalf("the bill is not a zip: %v", err)
	}
	var out strings.Builder
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(simplifiedchinese.GBK.NewDecoder().Reader(rc))
		rc.Close()
		if err != nil {
			t.Fatalf("%s is not GBK: %v", zf.Name, err)
		}
		out.Write(b)
	}
	return out.String()
}

// TestAWeChatDayThroughTheSandboxsBillIsReportedExactlyAndOnce is the same
// day at WeChat Pay: the tradebill answer, the backtick CSV behind its
// SHA-1, the differences planted with EditBill.
func TestAWeChatDayThroughTheSandboxsBillIsReportedExactlyAndOnce(t *testing.T) {
	f := newFixture(t)
	// WeChat's sandbox clock only goes forward: both sandboxes (the app's
	// clock is Alipay's) move to the first noon, Beijing, a day or more
	// after the real time. The date depends on the real time; the hour,
	// which decides every window, does not.
	y, m, d := time.Now().In(reconcile.Beijing()).Date()
	start := time.Date(y, m, d+2, 12, 0, 0, 0, reconcile.Beijing())
	f.gw.Alipay.Advance(start.Sub(f.now()))
	f.gw.WeChat.Advance(start.Sub(f.gw.WeChat.Now()))
	advance := func(d time.Duration) { f.gw.Alipay.Advance(d); f.gw.WeChat.Advance(d) }
	wx := f.gw.Providers[payment.WeChat].(*wechat.Provider)
	wx.SetClock(f.now)
	svc := reconcile.NewService(f.store, reconcile.Options{Ledger: f.ledger, Recharge: f.rc, Now: f.now,
		Billers: reconcile.BillersOf(map[payment.Method]payment.Provider{payment.WeChat: wx})})
	u := f.user("wx_person")
	lostUser := f.user("wx_lost")
	matched := f.creditedAt(payment.WeChat, u.ID, "68.00", "wx-matched-key-000001")
	matched2 := f.creditedAt(payment.WeChat, u.ID, "15.00", "wx-matched2-key-00001")
	lost := f.paidAt(payment.WeChat, lostUser.ID, "30.00", "wx-lost-key-00000001")
	absent := f.creditedAt(payment.WeChat, u.ID, "10.00", "wx-absent-key-0000001")
	differs := f.creditedAt(payment.WeChat, u.ID, "20.00", "wx-differs-key-000001")
	refunded := f.creditedAt(payment.WeChat, u.ID, "6.00", "wx-refund-key-0000001")
	asker := f.staff("finance_wx")
	rf, err := f.rf.Request(f.ctx, refund.Ask{OrderNo: refunded.OutTradeNo, Amount: 6_00, Reason: "test", StaffID: asker},
		audit.Entry{StaffID: asker, StaffName: "finance_wx"})
	if err != nil {
		t.Fatalf("refund: %+v %v", rf, err)
	}
	// WeChat answers a refund PROCESSING and settles it later: an hour on,
	// still that day, refund's own pass asks and books it (a notification
	// racing it books nothing twice).
	advance(time.Hour)
	if _, err := f.rf.Pass(f.ctx); err != nil {
		t.Fatal(err)
	}
	if rf, err = f.rf.Get(f.ctx, rf.ID); err != nil || rf.State != refund.StateSucceeded {
		t.Fatalf("refund after an hour: %+v %v", rf, err)
	}
	day := svc.Day(payment.WeChat, f.now())
	if want := time.Date(y, m, d+2, 0, 0, 0, 0, reconcile.Beijing()); !day.Equal(want) {
		t.Fatalf("the clock's day is %s, want %s", day, want)
	}
	for _, o := range []recharge.Order{matched, matched2, absent, differs, refunded} {
		if svc.Day(payment.WeChat, o.PaidAt.Time) != day {
			t.Fatalf("%s was paid at %s, outside %s", o.OutTradeNo, o.PaidAt.Time, day)
		}
	}
	const notOurs = "RFNOTOURS0000000000002"
	f.gw.WeChat.EditBill(func(dd time.Time, rows []wechatsandbox.BillRow) []wechatsandbox.BillRow {
		if !dd.Equal(day) {
			return rows
		}
		var out []wechatsandbox.BillRow
		for _, r := range rows {
			switch {
			case r.OutTradeNo == absent.OutTradeNo:
				continue
			case r.OutTradeNo == differs.OutTradeNo:
				r.Amount++
			case r.OutTradeNo == matched.OutTradeNo:
				r.Description = product
				out = append(out, r)
				r.Refund, r.RefundID, r.OutRefundNo, r.RefundStatus = true, "50300000000000000000000000001", notOurs, "SUCCESS"
				r.At, r.Amount, r.Fee5 = r.At.Add(time.Minute), 5_00, 5_00*wechatsandbox.FeeRateBP/10
			}
			out = append(out, r)
		}
		return out
	})

	// The bill is there from 10:00 the next day.
	advance(day.AddDate(0, 0, 1).Add(10*time.Hour + 30*time.Minute).Sub(f.now()))
	bill, err := wx.Bill(f.ctx, day)
	if err != nil {
		t.Fatalf("bill: %v", err)
	}
	if len(bill.Lines) != 7 {
		t.Fatalf("bill of %d lines: %+v", len(bill.Lines), bill.Lines)
	}
	var fees int64
	for _, l := range bill.Lines {
		fees += l.Fee
	}
	clearing0, fees0 := f.system("clearing:wechat"), f.system("fees:wechat")
	rs, err := svc.Daily(f.ctx, reconcile.DefaultAt)
	if err != nil || len(rs) != 1 {
		t.Fatalf("daily at 10:30: %+v %v", rs, err)
	}
	r := rs[0]
	wantCounts := map[string]int{reconcile.Matched: 4, reconcile.Lost: 1, reconcile.Absent: 1, reconcile.Mismatch: 1, reconcile.Refund: 1}
	wantTotals := map[string]int64{reconcile.Matched: 68_00 + 15_00 + 6_00 + 6_00, reconcile.Lost: 30_00, reconcile.Absent: 10_00,
		reconcile.Mismatch: 20_01, reconcile.Refund: 5_00}
	if !reflect.DeepEqual(r.Counts, wantCounts) || !reflect.DeepEqual(r.Totals, wantTotals) {
		t.Fatalf("counts %v totals %v, want %v %v", r.Counts, r.Totals, wantCounts, wantTotals)
	}
	diffs, err := svc.Differences(f.ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]reconcile.Difference{}
	for _, d := range diffs {
		got[d.Class] = d
	}
	if len(diffs) != 4 || r.Open != 4 ||
		got[reconcile.Lost].OutTradeNo != lost.OutTradeNo || !got[reconcile.Lost].Credited ||
		got[reconcile.Absent].OutTradeNo != absent.OutTradeNo ||
		got[reconcile.Mismatch].OutTradeNo != differs.OutTradeNo || got[reconcile.Mismatch].Theirs.Int64 != 20_01 ||
		got[reconcile.Refund].RequestNo != notOurs {
		t.Fatalf("differences %+v (open %d)", diffs, r.Open)
	}
	lostTopups := `SELECT count(*) FROM ledger_transactions WHERE kind = 'topup' AND reference = $1`
	if n := f.count(lostTopups, "order:"+lost.OutTradeNo); n != 1 {
		t.Fatalf("%d top-ups of the lost order", n)
	}
	if fees == 0 || bill.Fees != fees {
		t.Fatalf("the bill's fees: lines %d, summary %d", fees, bill.Fees)
	}
	if got := f.system("fees:wechat") - fees0; got != -fees {
		t.Fatalf("fees moved %d, want %d", got, -fees)
	}
	if got := f.system("clearing:wechat") - clearing0; got != fees-30_00 {
		t.Fatalf("clearing moved %d, want %d", got, fees-30_00)
	}
	txns := f.count(`SELECT count(*) FROM ledger_transactions`)
	again, err := svc.Run(f.ctx, payment.WeChat, day)
	if err != nil {
		t.Fatal(err)
	}
	diffsAgain, _ := svc.Differences(f.ctx, r.ID)
	if !reflect.DeepEqual(again, r) || !reflect.DeepEqual(diffsAgain, diffs) {
		t.Fatalf("a second run changed the report:\n%+v\n%+v", r, again)
	}
	if n := f.count(`SELECT count(*) FROM ledger_transactions`); n != txns {
		t.Fatalf("a second run posted %d transactions", n-txns)
	}
}
