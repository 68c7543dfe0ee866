package wechatsandbox

import (
	"context"
	"errors"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/wechat"
)

// atNoon moves the sandbox's clock to the next 12:00 Beijing time and our
// provider onto the sandbox's clock; it returns that day's midnight.
func (h *harness) atNoon() time.Time {
	now := h.sb.Now().In(cst)
	noon := time.Date(now.Year(), now.Month(), now.Day(), 12, 0, 0, 0, cst)
	if !noon.After(now) {
		noon = noon.AddDate(0, 0, 1)
	}
	h.sb.Advance(noon.Sub(now))
	h.p.SetClock(h.sb.Now)
	return startOfDay(noon)
}

func TestTheDaysTradeBillListsPaymentsAndInitiatedRefundsWithFees(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	day := h.atNoon()
	a, b := h.paid(6800), h.paid(10000)
	req := h.refundReq(a, 1000)
	if _, err := h.p.Refund(ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, err := h.p.Bill(ctx, day); !errors.Is(err, payment.ErrBillNotReady) {
		t.Fatalf("today's bill: %v, want ErrBillNotReady", err)
	}
	if _, err := h.p.Bill(ctx, day.AddDate(0, 0, -1)); !errors.Is(err, payment.ErrNoBill) {
		t.Fatalf("yesterday, no trades: %v, want ErrNoBill", err)
	}
	if _, err := h.p.Bill(ctx, day.AddDate(0, -4, 0)); err == nil || errors.Is(err, payment.ErrNoBill) {
		t.Fatalf("four months back: %v, want a refusal (3 months only)", err)
	}
	h.sb.Advance(21 * time.Hour) // 09:00 next day
	if _, err := h.p.Bill(ctx, day); !errors.Is(err, payment.ErrBillNotReady) {
		t.Fatalf("at 09:00 next day: %v, want ErrBillNotReady", err)
	}
	h.sb.Advance(time.Hour + time.Second)
	bill, err := h.p.Bill(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	// 0.6 %: 0.40800 → 0.41, 0.60000, and 0.06000 returned; the summary's
	// 手续费总金额 0.94800 → 0.95.
	want := []payment.BillLine{
		{Kind: payment.BillPayment, OutTradeNo: a.OutTradeNo, Amount: 6800, Fee: 41},
		{Kind: payment.BillPayment, OutTradeNo: b.OutTradeNo, Amount: 10000, Fee: 60},
		{Kind: payment.BillRefund, OutTradeNo: a.OutTradeNo, RequestNo: req.RequestNo, Amount: 1000, Fee: -6},
	}
	if len(bill.Lines) != len(want) {
		t.Fatalf("bill lines = %+v", bill.Lines)
	}
	for i, w := range want {
		g := bill.Lines[i]
		if g.Kind != w.Kind || g.OutTradeNo != w.OutTradeNo || g.RequestNo != w.RequestNo || g.Amount != w.Amount ||
			g.Fee != w.Fee || g.Currency != "CNY" || g.TradeNo == "" || g.At.IsZero() {
			t.Errorf("line %d = %+v, want %+v", i, g, w)
		}
	}
	if bill.Lines[2].RefundID == "" || bill.Lines[2].TradeNo != bill.Lines[0].TradeNo {
		t.Errorf("refund line %+v lacks WeChat's numbers", bill.Lines[2])
	}
	if bill.Method != payment.WeChat || !bill.Day.Equal(day) || bill.Count != 3 || bill.Gross != 16800 ||
		bill.Refund != 1000 || bill.Fees != 95 || len(bill.Raw) == 0 {
		t.Fatalf("totals: count %d gross %d refund %d fees %d day %v", bill.Count, bill.Gross, bill.Refund, bill.Fees, bill.Day)
	}
}

func TestATamperedBillDownloadIsRefusedByItsHash(t *testing.T) {
	h := newHarness(t)
	day := h.atNoon()
	h.paid(6800)
	h.sb.Advance(22*time.Hour + time.Second)
	h.sb.TamperNextBillDownload()
	if _, err := h.p.Bill(context.Background(), day); !errors.Is(err, wechat.ErrBillHash) {
		t.Fatalf("tampered download: %v, want ErrBillHash", err)
	}
	if _, err := h.p.Bill(context.Background(), day); err != nil {
		t.Fatalf("the next, untouched download: %v", err)
	}
}

func TestEditBillPlantsAMissingPaymentAndAnUnknownRefund(t *testing.T) {
	h := newHarness(t)
	day := h.atNoon()
	a, gone := h.paid(6800), h.paid(3000)
	h.sb.EditBill(func(_ time.Time, rows []BillRow) []BillRow {
		var out []BillRow
		for _, r := range rows {
			if r.OutTradeNo != gone.OutTradeNo {
				out = append(out, r)
			}
		}
		x := out[0]
		x.Refund, x.RefundID, x.OutRefundNo, x.RefundStatus, x.Amount, x.Fee5 = true, "50300000000000000000000000000", "PORTAL1", "SUCCESS", 500, 3000
		return append(out, x)
	})
	h.sb.Advance(22*time.Hour + time.Second)
	bill, err := h.p.Bill(context.Background(), day)
	if err != nil {
		t.Fatal(err)
	}
	if len(bill.Lines) != 2 || bill.Lines[0].OutTradeNo != a.OutTradeNo || bill.Lines[1].RequestNo != "PORTAL1" ||
		bill.Lines[1].Fee != -3 || bill.Refund != 500 {
		t.Fatalf("planted bill = %+v", bill.Lines)
	}
}
