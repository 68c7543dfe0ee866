package unionpaysandbox

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
	"im2pay/payment/unionpay"
)

// The merchant refuses twice; UnionPay resends on its schedule until HTTP 200.
func TestUnacknowledgedNotificationIsRetried(t *testing.T) {
	e := newEnv(t)
	e.rec.refuse = 2
	o := e.order(6800)
	e.start(t, o)
	began := time.Now()
	if _, _, err := e.sb.Simulate(context.Background(), o.OutTradeNo, sim.Success); err != nil {
		t.Fatal(err)
	}
	e.waitNotes(t, o.OutTradeNo, 1)
	_, tries, _ := e.rec.get(o.OutTradeNo)
	if tries != 3 {
		t.Fatalf("%d deliveries, want 2 refused + 1 accepted", tries)
	}
	if gap := e.n.Scaled(sim.UnionPaySchedule[0] + sim.UnionPaySchedule[1]); time.Since(began) < gap {
		t.Fatalf("accepted after %v, before UnionPay's schedule allows (%v)", time.Since(began), gap)
	}
}

// refusal posts form fields to frontTransReq.do and returns the page,
// failing if the gateway redirected.
func (e *env) refusal(t *testing.T, next payment.Next, edit func(map[string][]string)) string {
	t.Helper()
	v := formValues(next.Form)
	edit(v)
	res, body := e.postForm(t, next.Form.Action, v)
	if loc := res.Header.Get("Location"); loc != "" || res.StatusCode != http.StatusOK {
		t.Fatalf("refused request answered %d, Location %q", res.StatusCode, loc)
	}
	return body
}

// A bad signature, missing field or unknown merchant gets the gateway's
// error page with the ACP code, never a redirect back to the merchant.
func TestGatewayRefusesBadRequestsWithItsOwnErrors(t *testing.T) {
	e := newEnv(t)
	next, err := e.p.Start(context.Background(), e.order(6800))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, code string
		edit       func(map[string][]string)
	}{
		{"a changed amount fails the merchant signature (11)", "11", func(v map[string][]string) { v["txnAmt"] = []string{"1"} }},
		{"a forged signature fails (11)", "11", func(v map[string][]string) { v["signature"] = []string{"AAAA"} }},
		{"another certId fails (11)", "11", func(v map[string][]string) { v["certId"] = []string{"1"} }},
		{"a missing field is refused (13)", "13", func(v map[string][]string) { delete(v, "backUrl") }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if body := e.refusal(t, next, c.edit); !strings.Contains(body, "respCode="+c.code) {
				t.Fatalf("page does not say respCode=%s:\n%s", c.code, body)
			}
		})
	}
	t.Run("an unknown merchant is refused (31), at the gateway and in queries", func(t *testing.T) {
		cfg := e.cfg
		cfg.MerID = "777290058000000"
		p, err := unionpay.New(cfg, e.srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		o := e.order(6800)
		next, err := p.Start(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if body := e.refusal(t, next, func(map[string][]string) {}); !strings.Contains(body, "respCode=31") {
			t.Fatalf("page:\n%s", body)
		}
		if _, err := p.Query(context.Background(), o.OutTradeNo, next.ProviderRef); err == nil || !strings.Contains(err.Error(), "31") {
			t.Fatalf("query err = %v", err)
		}
	})
}

// Start is deterministic, and the gateway takes the same form twice.
func TestStartTwiceGivesTheSamePayment(t *testing.T) {
	e := newEnv(t)
	o := e.order(6800)
	first, page1 := e.start(t, o)
	second, page2 := e.start(t, o)
	if !reflect.DeepEqual(first, second) || page1 != page2 {
		t.Fatalf("second Start differs:\n%+v\n%+v\n%s %s", first, second, page1, page2)
	}
	t.Run("the same order number with another amount is a duplicate (12)", func(t *testing.T) {
		o2 := o
		o2.Amount = 100
		next, err := e.p.Start(context.Background(), o2)
		if err != nil {
			t.Fatal(err)
		}
		if body := e.refusal(t, next, func(map[string][]string) {}); !strings.Contains(body, "respCode=12") {
			t.Fatalf("page:\n%s", body)
		}
	})
}

// ACP has no close: Close asks, and refuses only for a paid order.
func TestClose(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	t.Run("an order that never reached the gateway closes and queries as not found", func(t *testing.T) {
		o := e.order(6800)
		next, err := e.p.Start(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		no := o.OutTradeNo
		if _, err := e.p.Query(ctx, no, next.ProviderRef); !errors.Is(err, payment.ErrNotFound) {
			t.Fatalf("query err = %v", err)
		}
		if err := e.p.Close(ctx, no, next.ProviderRef); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("an unpaid order on the card page is pending and closes", func(t *testing.T) {
		o := e.order(6800)
		next, _ := e.start(t, o)
		if res, err := e.p.Query(ctx, o.OutTradeNo, next.ProviderRef); err != nil || res.Status != payment.StatusPending {
			t.Fatalf("query = %+v, %v", res, err)
		}
		if err := e.p.Close(ctx, o.OutTradeNo, next.ProviderRef); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a paid order does not close", func(t *testing.T) {
		o := e.order(6800)
		next, _ := e.start(t, o)
		if _, _, err := e.sb.Simulate(ctx, o.OutTradeNo, sim.DropNotify); err != nil {
			t.Fatal(err)
		}
		if err := e.p.Close(ctx, o.OutTradeNo, next.ProviderRef); !errors.Is(err, payment.ErrAlreadyPaid) {
			t.Fatalf("err = %v", err)
		}
	})
}

// Past payTimeout the gateway refuses payment and reports 69.
func TestOrderPastPayTimeoutCanNoLongerBePaid(t *testing.T) {
	e := newEnv(t)
	o := e.order(6800)
	o.ExpiresAt = time.Now().Add(-time.Second)
	next, page := e.start(t, o)
	if body := e.get(t, page); !strings.Contains(body, "respCode=69") {
		t.Fatalf("card page of an expired order:\n%s", body)
	}
	if _, found, err := e.sb.Simulate(context.Background(), o.OutTradeNo, sim.Success); !found || err == nil {
		t.Fatalf("Simulate on an expired order: %v %v", found, err)
	}
	res, err := e.p.Query(context.Background(), o.OutTradeNo, next.ProviderRef)
	if err != nil || res.Status != payment.StatusFailed || res.Reason != payment.ReasonCancelled {
		t.Fatalf("query = %+v, %v", res, err)
	}
	if u, found, err := e.sb.Simulate(context.Background(), "UPnosuchorder00000000", sim.Success); u != "" || found || err != nil {
		t.Fatalf("Simulate of an unknown order: %q %v %v", u, found, err)
	}
}

// The card page's cancel link ends the payment with 69 and offers the way
// back, which the merchant reads as cancelled.
func TestCancelLinkReturnsCancelled(t *testing.T) {
	e := newEnv(t)
	o := e.order(6800)
	next, page := e.start(t, o)
	action, form := frontForm(e.get(t, page+"/cancel"))
	if action != o.ReturnURL {
		t.Fatalf("front notification posts to %q", action)
	}
	ret, err := e.p.ParseReturn(context.Background(), nil, form)
	if err != nil || !ret.Cancelled || ret.OutTradeNo != o.OutTradeNo {
		t.Fatalf("return = %+v, %v", ret, err)
	}
	res, err := e.p.Query(context.Background(), o.OutTradeNo, next.ProviderRef)
	if err != nil || res.Status != payment.StatusFailed || res.Reason != payment.ReasonCancelled {
		t.Fatalf("query = %+v, %v", res, err)
	}
}
