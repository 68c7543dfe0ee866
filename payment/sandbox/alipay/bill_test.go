package alipaysandbox

import (
	"context"
	"errors"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/alipay"
)

// atNoon moves the sandbox's clock to the next 12:00 Beijing time and our
// provider onto the sandbox's clock, so the day's windows do not depend on
// when the test runs. It returns that day's midnight.
func (h *harness) atNoon(t *testing.T) time.Time {
	t.Helper()
	now := h.sb.Now().In(beijing)
	noon := time.Date(now.Year(), now.Month(), now.Day(), 12, 0, 0, 0, beijing)
	if !noon.After(now) {
		noon = noon.AddDate(0, 0, 1)
	}
	h.sb.Advance(noon.Sub(now))
	h.p.SetClock(h.sb.Now)
	return time.Date(noon.Year(), noon.Month(), noon.Day(), 0, 0, 0, 0, beijing)
}

func TestTheDaysBillListsItsPaymentsAndRefundsWithFeesAndTotals(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	day := h.atNoon(t)
	a, _ := h.paidTrade(t)
	b := h.order(payment.Desktop, 10000)
	h.start(t, b)
	if _, _, err := h.sb.Simulate(ctx, b.OutTradeNo, "drop_notify"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.p.Refund(ctx, refundReq(a, 1000, "RBILL00000000001")); err != nil {
		t.Fatal(err)
	}

	if _, err := h.p.Bill(ctx, day); !errors.Is(err, payment.ErrBillNotReady) {
		t.Fatalf("today's bill: %v, want ErrBillNotReady", err)
	}
	if _, err := h.p.Bill(ctx, day.AddDate(0, 0, -1)); !errors.Is(err, payment.ErrNoBill) {
		t.Fatalf("yesterday, no trades: %v, want ErrNoBill", err)
	}
	h.sb.Advance(21 * time.Hour) // 09:00 next day: not made yet
	if _, err := h.p.Bill(ctx, day); !errors.Is(err, payment.ErrBillNotReady) {
		t.Fatalf("at 09:00 next day: %v, want ErrBillNotReady", err)
	}
	h.sb.Advance(time.Hour + time.Second)
	bill, err := h.p.Bill(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	// Fees at the sandbox's 0.6 %, half up: 40.8 → 41, 60, and 6 returned.
	want := []payment.BillLine{
		{Kind: payment.BillPayment, OutTradeNo: a.OutTradeNo, Amount: 6800, Fee: 41},
		{Kind: payment.BillPayment, OutTradeNo: b.OutTradeNo, Amount: 10000, Fee: 60},
		{Kind: payment.BillRefund, OutTradeNo: a.OutTradeNo, RequestNo: "RBILL00000000001", Amount: 1000, Fee: -6},
	}
	if len(bill.Lines) != len(want) {
		t.Fatalf("bill lines = %+v, want %d", bill.Lines, len(want))
	}
	for i, w := range want {
		g := bill.Lines[i]
		if g.Kind != w.Kind || g.OutTradeNo != w.OutTradeNo || g.RequestNo != w.RequestNo || g.Amount != w.Amount ||
			g.Fee != w.Fee || g.Currency != "CNY" || len(g.TradeNo) != 28 || g.At.IsZero() {
			t.Errorf("line %d = %+v, want %+v", i, g, w)
		}
	}
	if r := bill.Lines[2]; r.RefundID != r.TradeNo+"-RBILL00000000001" {
		t.Errorf("refund id %q, want the refund client's trade_no-out_request_no", r.RefundID)
	}
	if bill.Method != payment.Alipay || !bill.Day.Equal(day) || bill.Count != 3 || bill.Gross != 16800 ||
		bill.Refund != 1000 || bill.Fees != 95 || len(bill.Raw) == 0 || bill.RawName == "" {
		t.Fatalf("bill totals = %v %v count %d gross %d refund %d fees %d %q", bill.Method, bill.Day, bill.Count,
			bill.Gross, bill.Refund, bill.Fees, bill.RawName)
	}
}

func TestAnExpiredBillURLIsRefused(t *testing.T) {
	h := newHarness(t)
	day := h.atNoon(t)
	h.paidTrade(t)
	h.sb.Advance(22*time.Hour + time.Second)
	u, err := h.p.BillURL(context.Background(), day)
	if err != nil {
		t.Fatal(err)
	}
	h.sb.Advance(BillURLLife + time.Second)
	if _, err := h.p.DownloadBill(context.Background(), u, day); !errors.Is(err, alipay.ErrBillURLExpired) {
		t.Fatalf("download after 31 s: %v, want ErrBillURLExpired", err)
	}
	forged := u[:len(u)-4] + "0000"
	if _, err := h.p.DownloadBill(context.Background(), forged, day); err == nil {
		t.Fatal("a guessed token downloaded a bill")
	}
}

func TestEditBillPlantsDifferencesTheBillStillAddsUp(t *testing.T) {
	h := newHarness(t)
	day := h.atNoon(t)
	a, _ := h.paidTrade(t)
	gone, _ := h.paidTrade(t)
	h.sb.EditBill(func(_ time.Time, rows []BillRow) []BillRow {
		var out []BillRow
		for _, r := range rows {
			switch r.OutTradeNo {
			case gone.OutTradeNo:
				continue // missing at the provider
			case a.OutTradeNo:
				r.Amount = 6700 // amount changed
			}
			out = append(out, r)
		}
		// A refund we never made.
		return append(out, BillRow{TradeNo: rows[0].TradeNo, OutTradeNo: a.OutTradeNo, Refund: true,
			RequestNo: "P00000000000000000001", Created: rows[0].Created, Finished: rows[0].Finished, Amount: 500, Fee: 3})
	})
	h.sb.Advance(22*time.Hour + time.Second)
	bill, err := h.p.Bill(context.Background(), day)
	if err != nil {
		t.Fatal(err)
	}
	if len(bill.Lines) != 2 || bill.Lines[0].Amount != 6700 || bill.Lines[1].Kind != payment.BillRefund ||
		bill.Lines[1].RequestNo != "P00000000000000000001" || bill.Gross != 6700 || bill.Refund != 500 {
		t.Fatalf("planted bill = %+v", bill)
	}
}
