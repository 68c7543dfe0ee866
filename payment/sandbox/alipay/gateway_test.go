package alipaysandbox

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"im2pay/payment"
	"im2pay/payment/alipay"
	"im2pay/payment/sandbox/sim"
)

func TestGatewayRefusesBadMerchantSignatures(t *testing.T) {
	h := newHarness(t)
	t.Run("a tampered Start URL gets Alipay's error page", func(t *testing.T) {
		o := h.order(payment.Desktop, 6800)
		next, err := h.p.Start(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(next.RedirectURL)
		q := u.Query()
		q.Set("biz_content", strings.Replace(q.Get("biz_content"), `"68.00"`, `"0.01"`, 1))
		u.RawQuery = q.Encode()
		res := h.get(t, u.String())
		body := readBody(t, res)
		if res.StatusCode != http.StatusOK || res.Header.Get("Location") != "" ||
			!strings.Contains(body, "isv.invalid-signature") || !strings.Contains(body, "40002") {
			t.Fatalf("gateway answered %d %q:\n%s", res.StatusCode, res.Header.Get("Location"), body)
		}
		if _, found, _ := h.sb.Simulate(context.Background(), o.OutTradeNo, sim.Success); found {
			t.Fatal("a refused request created a trade")
		}
	})
	t.Run("an API call signed with another key gets 40002 isv.invalid-signature", func(t *testing.T) {
		cfg := h.cfg
		cfg.AppPrivateKeyFile = filepath.Join(h.dir, keySubdir, alipayPrivFile)
		wrongKey, err := alipay.New(cfg, h.srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		_, err = wrongKey.Query(context.Background(), "T00000000000000001", "")
		var e *alipay.APIError
		if !errors.As(err, &e) || e.Code != "40002" || e.SubCode != "isv.invalid-signature" {
			t.Fatalf("Query = %v, want 40002 isv.invalid-signature", err)
		}
	})
	t.Run("an unknown app gets 40002 isv.invalid-app-id", func(t *testing.T) {
		cfg := h.cfg
		cfg.AppID = "2021000000000000"
		other, err := alipay.New(cfg, h.srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		if err := other.Close(context.Background(), "T00000000000000001", ""); !isAPIError(err, "isv.invalid-app-id") {
			t.Fatalf("Close = %v, want isv.invalid-app-id", err)
		}
	})
}

func TestAmountOverAlipaysLimitIsRefused(t *testing.T) {
	h := newHarness(t)
	o := h.order(payment.Desktop, MaxAmount+1)
	next, err := h.p.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, h.get(t, next.RedirectURL))
	if !strings.Contains(body, "ACQ.TOTAL_FEE_EXCEED") {
		t.Fatalf("gateway page for %d fen:\n%s", o.Amount, body)
	}
	// Refused at the pay request: Alipay created no trade.
	if res, err := h.p.Query(context.Background(), o.OutTradeNo, ""); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("Query = %+v, %v; want ACQ.TRADE_NOT_EXIST", res, err)
	}
}

func TestStartAndClose(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	t.Run("Start twice opens the same trade", func(t *testing.T) {
		o := h.order(payment.Phone, 6800)
		if first, second := h.start(t, o), h.start(t, o); first != second {
			t.Fatalf("two Starts led to %s and %s", first, second)
		}
		changed := o
		changed.Amount = 100
		next, _ := h.p.Start(ctx, changed)
		if body := readBody(t, h.get(t, next.RedirectURL)); !strings.Contains(body, "ACQ.CONTEXT_INCONSISTENT") {
			t.Fatalf("a changed amount under the same order number was not refused:\n%s", body)
		}
	})
	t.Run("a trade opened but never logged in cannot be closed and can still be paid", func(t *testing.T) {
		o := h.order(payment.Desktop, 6800)
		h.start(t, o)
		if err := h.p.Close(ctx, o.OutTradeNo, ""); !errors.Is(err, payment.ErrNotFound) {
			t.Fatalf("Close = %v, want ACQ.TRADE_NOT_EXIST", err)
		}
		if _, _, err := h.sb.Simulate(ctx, o.OutTradeNo, sim.Success); err != nil {
			t.Fatalf("the person still on the cashier could not pay: %v", err)
		}
	})
	t.Run("an unpaid trade closes and cannot be paid", func(t *testing.T) {
		o := h.order(payment.Desktop, 6800)
		h.start(t, o)
		// A refused try: the person logged in, the trade waits.
		if _, _, err := h.sb.Simulate(ctx, o.OutTradeNo, sim.Declined); err != nil {
			t.Fatal(err)
		}
		if err := h.p.Close(ctx, o.OutTradeNo, ""); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := h.p.Close(ctx, o.OutTradeNo, ""); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if res, err := h.p.Query(ctx, o.OutTradeNo, ""); err != nil || res.Status != payment.StatusClosed {
			t.Fatalf("Query = %+v, %v; want closed", res, err)
		}
		if _, _, err := h.sb.Simulate(ctx, o.OutTradeNo, sim.Success); !errors.Is(err, ErrNotPayable) {
			t.Fatalf("Simulate on a closed trade: %v", err)
		}
	})
	t.Run("a paid trade does not close", func(t *testing.T) {
		o, _ := h.paidTrade(t)
		if err := h.p.Close(ctx, o.OutTradeNo, ""); !errors.Is(err, payment.ErrAlreadyPaid) {
			t.Fatalf("Close = %v, want ErrAlreadyPaid", err)
		}
	})
	t.Run("a trade the person never opened is unknown", func(t *testing.T) {
		o := h.order(payment.Desktop, 6800)
		if _, err := h.p.Start(ctx, o); err != nil {
			t.Fatal(err)
		}
		if err := h.p.Close(ctx, o.OutTradeNo, ""); !errors.Is(err, payment.ErrNotFound) {
			t.Fatalf("Close = %v, want ErrNotFound", err)
		}
		if _, err := h.p.Query(ctx, o.OutTradeNo, ""); !errors.Is(err, payment.ErrNotFound) {
			t.Fatalf("Query = %v, want ErrNotFound", err)
		}
		if _, found, _ := h.sb.Simulate(ctx, o.OutTradeNo, sim.Success); found {
			t.Fatal("Simulate found a trade Alipay never saw")
		}
	})
}

func TestRefund(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	o, _ := h.paidTrade(t)
	req := func(amount int64, no string) payment.RefundRequest {
		return payment.RefundRequest{OutTradeNo: o.OutTradeNo, RequestNo: no, Amount: amount, Total: o.Amount, Currency: "CNY"}
	}
	r, err := h.p.Refund(ctx, req(1000, "R000000000000001"))
	if err != nil || r.Status != payment.RefundSucceeded || r.Amount != 1000 || r.RefundedTotal != 1000 {
		t.Fatalf("partial refund = %+v, %v", r, err)
	}
	// The same out_request_no again: fund_change=N, and the query says
	// the first one was done: the same success, no new money.
	if r, err = h.p.Refund(ctx, req(1000, "R000000000000001")); err != nil || r.Status != payment.RefundSucceeded || r.Amount != 1000 {
		t.Fatalf("repeated refund = %+v, %v; want the first one's success", r, err)
	}
	var refusal *payment.RefundRefusal
	if _, err = h.p.Refund(ctx, req(6000, "R000000000000002")); !errors.As(err, &refusal) ||
		refusal.Code != "ACQ.REASON_TRADE_REFUND_FEE_ERR" || refusal.Failure != payment.RefundAlreadyRefunded {
		t.Fatalf("refund above the rest: %v", err)
	}
	if r, err = h.p.Refund(ctx, req(5800, "R000000000000003")); err != nil || r.RefundedTotal != 6800 {
		t.Fatalf("refund of the rest = %+v, %v", r, err)
	}
	if res, err := h.p.Query(ctx, o.OutTradeNo, ""); err != nil || res.Status != payment.StatusClosed {
		t.Fatalf("Query after a full refund = %+v, %v; want closed", res, err)
	}
	if q, err := h.p.QueryRefund(ctx, req(5800, "R000000000000003")); err != nil || q.Status != payment.RefundSucceeded || q.Amount != 5800 {
		t.Fatalf("QueryRefund = %+v, %v", q, err)
	}
	if _, err := h.p.QueryRefund(ctx, req(100, "R000000000000009")); !errors.Is(err, payment.ErrRefundNotFound) {
		t.Fatalf("QueryRefund of a refund never sent = %v, want ErrRefundNotFound", err)
	}
}
