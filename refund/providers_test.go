package refund_test

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"im2pay/account"
	"im2pay/payment"
	paypalsandbox "im2pay/payment/sandbox/paypal"
	"im2pay/payment/sandbox/sim"
	unionpaysandbox "im2pay/payment/sandbox/unionpay"
	wechatsandbox "im2pay/payment/sandbox/wechat"
	"im2pay/recharge"
	"im2pay/refund"
)

// The refund cases of the Alipay tests, played through the three other
// providers' sandboxes, each by its own protocol: WeChat Pay's refunds are
// PROCESSING and settle by REFUND.* notification, UnionPay's 04 is
// accepted and decided by back notification, PayPal's refund is COMPLETED
// at once (followed by its webhook) and priced in USD.
var refundMethods = []string{"wechat", "card", "paypal"}

// paidBy is a top-up of amount paid with method at the sandbox and
// credited by a query (its payment notification dropped).
func (f *fixture) paidBy(userID int64, method, amount, key string) recharge.Order {
	f.t.Helper()
	o, err := f.rc.CreateOrder(f.ctx, recharge.NewOrder{UserID: userID, Method: method, Amount: amount,
		Device: payment.Desktop, RequestKey: key})
	if err != nil {
		f.t.Fatal(err)
	}
	next, err := f.rc.Pay(f.ctx, o, "127.0.0.1")
	if err != nil {
		f.t.Fatal(err)
	}
	// The person opens the provider's page: Alipay and UnionPay know a
	// payment only from then on.
	plain := &http.Client{Timeout: 2 * time.Minute}
	var res *http.Response
	switch {
	case next.RedirectURL != "":
		res, err = plain.Get(next.RedirectURL)
	case next.Form != nil:
		form := url.Values{}
		for _, fl := range next.Form.Fields {
			form.Add(fl.Name, fl.Value)
		}
		res, err = plain.PostForm(next.Form.Action, form)
	}
	if err != nil {
		f.t.Fatal(err)
	}
	if res != nil {
		res.Body.Close()
	}
	if _, err := f.gw.Simulate(f.ctx, o.OutTradeNo, sim.DropNotify); err != nil {
		f.t.Fatal(err)
	}
	// For PayPal the query is the capture of the approved order.
	after, _, err := f.rc.Requery(f.ctx, o.OutTradeNo)
	if err != nil || after.State != recharge.OrderPaid {
		f.t.Fatalf("requery of %s %s: %s %v", method, o.OutTradeNo, after.State, err)
	}
	return after
}

// settled waits until refund id is no longer in flight (its provider's
// notification, or the answer, decided it) and returns it.
func (f *fixture) settled(id int64) refund.Refund {
	f.t.Helper()
	var r refund.Refund
	f.waitUntil("the refund decided", func() bool {
		var err error
		if r, err = f.svc.Get(f.ctx, id); err != nil {
			f.t.Fatal(err)
		}
		return r.State != refund.StateInFlight
	})
	return r
}

// books is the money a test expects to have moved since before: the
// wallet's balance, and what the clearing account and the promotion
// budget got back.
type books struct {
	clearing, promotion int64
}

func (f *fixture) books(method string) books {
	return books{clearing: f.system("clearing:" + method), promotion: f.system("promotion")}
}

// wantBooks checks the wallet, that nothing is left in flight, and what
// clearing and promotion got back since before.
func (f *fixture) wantBooks(u account.User, method string, before books, wallet, refunded, clawed int64) {
	f.t.Helper()
	if b := f.balance(u); b != wallet {
		f.t.Fatalf("wallet %d, want %d", b, wallet)
	}
	if got := f.system(refund.InFlightAccount); got != 0 {
		f.t.Fatalf("in flight %d, want 0", got)
	}
	now := f.books(method)
	if got := now.clearing - before.clearing; got != refunded {
		f.t.Fatalf("clearing:%s got back %d, want %d", method, got, refunded)
	}
	if got := now.promotion - before.promotion; got != clawed {
		f.t.Fatalf("promotion got back %d, want %d", got, clawed)
	}
}

// refundNotified waits until a refund notification of the order reached
// recharge.Notify (and so the refund service) at least n times.
func (f *fixture) refundNotified(no string, n int) {
	f.t.Helper()
	f.waitUntil("the refund notification", func() bool {
		return f.count(`SELECT count(*) FROM payment_events WHERE out_trade_no = $1 AND status LIKE 'refund_%'`, no) >= n
	})
}

// onlyOurs checks that the order has exactly n refunds, none external: a
// provider's notification of our own refund is never booked again as a
// refund made outside the app.
func (f *fixture) onlyOurs(no string, n int) {
	f.t.Helper()
	all, err := f.svc.OfOrder(f.ctx, no)
	if err != nil {
		f.t.Fatal(err)
	}
	if len(all) != n {
		f.t.Fatalf("%d refunds of %s, want %d: %+v", len(all), no, n, all)
	}
	for _, r := range all {
		if r.External {
			f.t.Fatalf("our own refund booked again as external: %+v", r)
		}
	}
}

func TestAFullRefundThroughEachProviderReturnsTheMoneyAndTheBonus(t *testing.T) {
	for _, m := range refundMethods {
		t.Run(m, func(t *testing.T) {
			f := newFixture(t)
			u := f.user("full" + m)
			o := f.paidBy(u.ID, m, "68.00", "full-"+m+"-key-000001")
			asker := f.staff("finance1")
			before := f.books(m)
			r, err := f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: paid68, Reason: "客户要求", StaffID: asker}, entry(asker))
			if err != nil || r.Clawback != bonus68 {
				t.Fatalf("refund = %+v, %v", r, err)
			}
			if r = f.settled(r.ID); r.State != refund.StateSucceeded {
				t.Fatalf("refund settled as %+v", r)
			}
			f.wantBooks(u, m, before, 0, paid68, bonus68)
			// The provider's own notification of it changes nothing.
			f.refundNotified(o.OutTradeNo, 1)
			f.onlyOurs(o.OutTradeNo, 1)
			f.wantBooks(u, m, before, 0, paid68, bonus68)
			if n := f.count(`SELECT count(*) FROM ledger_transactions WHERE idempotency_key LIKE 'refund-done:%'`); n != 1 {
				t.Fatalf("%d completions, want 1", n)
			}
			if m == "paypal" {
				// The whole price went back, in the currency paid.
				res, err := f.gw.Providers[payment.PayPal].(payment.Refunder).QueryRefund(f.ctx,
					payment.RefundRequest{OutTradeNo: o.OutTradeNo, TradeNo: o.ProviderTradeNo.String, RequestNo: r.RequestNo,
						Amount: o.PayAmount, Total: o.PayAmount, Currency: o.PayCurrency})
				if err != nil || res.Amount != o.PayAmount || res.Currency != o.PayCurrency {
					t.Fatalf("PayPal refunded %d %s of %d %s: %v", res.Amount, res.Currency, o.PayAmount, o.PayCurrency, err)
				}
			}
		})
	}
}

func TestPartialRefundsThroughEachProviderClawBackTheirShareExactly(t *testing.T) {
	for _, m := range refundMethods {
		t.Run(m, func(t *testing.T) {
			f := newFixture(t)
			u := f.user("part" + m)
			o := f.paidBy(u.ID, m, "68.00", "part-"+m+"-key-000001")
			asker := f.staff("finance1")
			before := f.books(m)
			r1, err := f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: 20_00, StaffID: asker}, entry(asker))
			if err != nil || r1.Clawback != 276 { // 940 × 20/68 = 276.47
				t.Fatalf("first partial refund = %+v, %v", r1, err)
			}
			if r1 = f.settled(r1.ID); r1.State != refund.StateSucceeded {
				t.Fatalf("first partial refund settled as %+v", r1)
			}
			f.wantBooks(u, m, before, wallet68-20_00-276, 20_00, 276)
			r2, err := f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: 48_00, StaffID: asker}, entry(asker))
			if err != nil || r2.Clawback != bonus68-276 {
				t.Fatalf("second partial refund = %+v, %v", r2, err)
			}
			if r2 = f.settled(r2.ID); r2.State != refund.StateSucceeded {
				t.Fatalf("second partial refund settled as %+v", r2)
			}
			f.wantBooks(u, m, before, 0, paid68, bonus68)
			f.refundNotified(o.OutTradeNo, 2)
			f.onlyOurs(o.OutTradeNo, 2)
			f.wantBooks(u, m, before, 0, paid68, bonus68)
			if m == "paypal" {
				// Two parts of a USD price add up to the whole price: the
				// payer gets back every cent they paid.
				var back int64
				for _, r := range []refund.Refund{r1, r2} {
					res, err := f.gw.Providers[payment.PayPal].(payment.Refunder).QueryRefund(f.ctx,
						payment.RefundRequest{OutTradeNo: o.OutTradeNo, TradeNo: o.ProviderTradeNo.String, RequestNo: r.RequestNo,
							Amount: 1, Total: o.PayAmount, Currency: o.PayCurrency})
					if err != nil {
						t.Fatal(err)
					}
					back += res.Amount
				}
				if back != o.PayAmount {
					t.Fatalf("PayPal refunded %d of %d %s in two parts", back, o.PayAmount, o.PayCurrency)
				}
			}
		})
	}
}

func TestARefundEachProviderFailsIsReversedToTheWallet(t *testing.T) {
	for _, m := range refundMethods {
		t.Run(m, func(t *testing.T) {
			f := newFixture(t)
			u := f.user("fail" + m)
			o := f.paidBy(u.ID, m, "68.00", "fail-"+m+"-key-000001")
			asker := f.staff("finance1")
			before := f.books(m)
			switch m {
			case "wechat":
				// Accepted, PROCESSING for lack of merchant balance, CLOSED
				// after 7 days (notified REFUND.CLOSED).
				f.gw.WeChat.SetRefundOutcome(wechatsandbox.RefundClosesNoBalance)
			case "card":
				// Accepted (00), then failed by back notification.
				f.gw.Card.SetRefundSwitch(o.OutTradeNo, unionpaysandbox.RefundSwitch{Fail: "63"})
			case "paypal":
				f.gw.PayPal.SetRefundSwitch(o.OutTradeNo, paypalsandbox.RefundSwitch{Issue: "REFUND_FAILED_INSUFFICIENT_FUNDS"})
			}
			r, err := f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: 30_00, StaffID: asker}, entry(asker))
			if err != nil {
				t.Fatalf("refund = %+v, %v", r, err)
			}
			if m == "wechat" {
				if r.State != refund.StateInFlight {
					t.Fatalf("refund = %+v, want in flight while WeChat processes it", r)
				}
				f.gw.WeChat.Advance(wechatsandbox.ClosedAfter)
			}
			if r = f.settled(r.ID); r.State != refund.StateFailed || r.Failure == "" {
				t.Fatalf("refund settled as %+v, want failed with a reason", r)
			}
			if m == "paypal" && (r.Failure != string(payment.RefundNoMerchantFunds) || r.Detail != "REFUND_FAILED_INSUFFICIENT_FUNDS") {
				t.Fatalf("PayPal's refusal booked as %q %q", r.Failure, r.Detail)
			}
			f.wantBooks(u, m, before, wallet68, 0, 0)
			if n := f.count(`SELECT count(*) FROM ledger_transactions WHERE idempotency_key LIKE 'refund-reversal:%'`); n != 1 {
				t.Fatalf("%d reversals, want 1", n)
			}
			// The order can be refunded again once the failure is booked.
			if m == "wechat" {
				f.gw.WeChat.SetRefundOutcome(wechatsandbox.RefundSucceeds)
			}
			r2, err := f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: 30_00, StaffID: asker}, entry(asker))
			if err != nil {
				t.Fatal(err)
			}
			if r2 = f.settled(r2.ID); r2.State != refund.StateSucceeded {
				t.Fatalf("refund after the failure settled as %+v", r2)
			}
			claw := refund.Clawback(bonus68, paid68, 0, 0, 30_00)
			f.wantBooks(u, m, before, wallet68-30_00-claw, 30_00, claw)
		})
	}
}

func TestARefundWhoseAnswerEachProviderLosesIsQueriedAndCompletedOnce(t *testing.T) {
	for _, m := range refundMethods {
		t.Run(m, func(t *testing.T) {
			f := newFixture(t)
			u := f.user("lost" + m)
			o := f.paidBy(u.ID, m, "68.00", "lost-"+m+"-key-000001")
			asker := f.staff("finance1")
			before := f.books(m)
			// The refund is made, its answer lost, and its notification
			// cannot reach us either: only a query can tell.
			f.deaf.Store(true)
			switch m {
			case "wechat":
				f.gw.WeChat.LoseRefundAnswers(1)
			case "card":
				f.gw.Card.SetRefundSwitch(o.OutTradeNo, unionpaysandbox.RefundSwitch{LoseAnswer: true})
			case "paypal":
				f.gw.PayPal.SetRefundSwitch(o.OutTradeNo, paypalsandbox.RefundSwitch{LoseAnswer: true})
			}
			r, err := f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: paid68, StaffID: asker}, entry(asker))
			if err != nil || r.State != refund.StateInFlight || r.CheckFailures != 1 {
				t.Fatalf("refund with a lost answer = %+v, %v; want in flight", r, err)
			}
			if b := f.balance(u); b != 0 {
				t.Fatalf("wallet %d while in flight: the money must not be spendable", b)
			}
			// The provider finishes it meanwhile.
			switch m {
			case "wechat":
				f.gw.WeChat.Advance(wechatsandbox.RefundDelay)
			case "card":
				f.waitUntil("UnionPay decides the refund", func() bool {
					code, _ := f.gw.Card.RefundCode(r.RequestNo)
					return code == "00"
				})
			}
			if p, err := f.svc.Pass(f.ctx); err != nil || p.Checked != 0 {
				t.Fatalf("early pass = %+v, %v", p, err)
			}
			f.later(2 * refund.DefaultCheckAfter)
			p, err := f.svc.Pass(f.ctx)
			if err != nil || p.Checked != 1 || p.Finished != 1 {
				t.Fatalf("pass = %+v, %v", p, err)
			}
			if after, _ := f.svc.Get(f.ctx, r.ID); after.State != refund.StateSucceeded || after.RequestNo != r.RequestNo {
				t.Fatalf("after the pass: %+v", after)
			}
			f.wantBooks(u, m, before, 0, paid68, bonus68)
			// Our endpoint is back: the provider's retried notification
			// arrives and books nothing more.
			f.deaf.Store(false)
			f.refundNotified(o.OutTradeNo, 1)
			f.later(refund.DefaultCheckAfter)
			if p, err := f.svc.Pass(f.ctx); err != nil || p.Checked != 0 {
				t.Fatalf("second pass = %+v, %v", p, err)
			}
			if n := f.count(`SELECT count(*) FROM ledger_transactions WHERE idempotency_key LIKE 'refund-done:%'`); n != 1 {
				t.Fatalf("%d completions, want 1", n)
			}
			if n := f.count(`SELECT count(*) FROM ledger_transactions WHERE idempotency_key LIKE 'refund:%'`); n != 1 {
				t.Fatalf("%d debits, want 1", n)
			}
			f.onlyOurs(o.OutTradeNo, 1)
			f.wantBooks(u, m, before, 0, paid68, bonus68)
		})
	}
}

// portal makes a refund in the provider's merchant portal (PayPal: of
// the USD price; a chargeback when chargeback is set).
func (f *fixture) portal(m string, o recharge.Order, amount int64, chargeback bool) {
	f.t.Helper()
	var err error
	switch {
	case m == "wechat":
		_, err = f.gw.WeChat.PortalRefund(o.OutTradeNo, amount)
	case m == "card":
		_, err = f.gw.Card.PortalRefund(o.OutTradeNo, amount)
	case chargeback:
		_, err = f.gw.PayPal.Chargeback(o.OutTradeNo, amount)
	default:
		_, err = f.gw.PayPal.PortalRefund(o.OutTradeNo, amount)
	}
	if err != nil {
		f.t.Fatal(err)
	}
}

// portalPart is what a test refunds in a provider's portal of a ¥68.00
// order, in the currency it was paid in, and what that is in fen with its
// clawback: half of it, then the rest. PayPal's price is $9.45 (¥68.00 at
// 7.2 CNY per USD); a portal refund of $4.72 is ¥33.964, booked ¥33.96.
type portalPart struct{ pay, fen, clawback int64 }

func portalParts(t *testing.T, o recharge.Order) [2]portalPart {
	t.Helper()
	switch {
	case o.PayCurrency == "CNY":
		return [2]portalPart{{34_00, 34_00, 470}, {34_00, 34_00, bonus68 - 470}}
	case o.PayCurrency == "USD" && o.PayAmount == 9_45:
		// 6800 × 472/945 = 3396.4; 940 × 3396/6800 = 469.45.
		return [2]portalPart{{4_72, 33_96, 469}, {4_73, paid68 - 33_96, bonus68 - 469}}
	}
	t.Fatalf("price %d %s: the test knows no parts of it", o.PayAmount, o.PayCurrency)
	return [2]portalPart{}
}

func TestAPortalRefundAtEachProviderArrivesByNotificationAndIsBookedOnce(t *testing.T) {
	for _, m := range refundMethods {
		t.Run(m, func(t *testing.T) {
			f := newFixture(t)
			u := f.user("portal" + m)
			o := f.paidBy(u.ID, m, "68.00", "portal-"+m+"-key-0001")
			before := f.books(m)
			parts := portalParts(t, o)
			f.portal(m, o, parts[0].pay, false)
			r := f.externalRefunds(o.OutTradeNo, 1)[0]
			if r.Amount != parts[0].fen || r.Clawback != parts[0].clawback || r.State != refund.StateSucceeded || r.Debt != 0 || r.Chargeback {
				t.Fatalf("external refund = %+v, want %+v", r, parts[0])
			}
			f.wantBooks(u, m, before, wallet68-parts[0].fen-parts[0].clawback, parts[0].fen, parts[0].clawback)
			if n := f.count(`SELECT count(*) FROM ledger_transactions WHERE reference = $1 AND kind = 'topup'`, "order:"+o.OutTradeNo); n != 1 {
				t.Fatalf("%d top-ups of the order", n)
			}
			// The rest, refunded in the portal too, takes the rest of the
			// bonus; the wallet is empty.
			f.portal(m, o, parts[1].pay, false)
			got := f.externalRefunds(o.OutTradeNo, 2)
			if got[0].Amount != parts[1].fen || got[0].Clawback != parts[1].clawback {
				t.Fatalf("second external refund = %+v, want %+v", got[0], parts[1])
			}
			f.wantBooks(u, m, before, 0, paid68, bonus68)
		})
	}
}

func TestAPortalRefundAtEachProviderBeyondTheWalletLeavesADebt(t *testing.T) {
	for _, m := range refundMethods {
		t.Run(m, func(t *testing.T) {
			f := newFixture(t)
			u := f.user("debt" + m)
			o := f.paidBy(u.ID, m, "68.00", "debt-"+m+"-key-000001")
			f.spend(u, wallet68-10_00, "spent-debt-"+m) // ¥10.00 left
			before := f.books(m)
			p := portalParts(t, o)[0]
			f.portal(m, o, p.pay, false)
			r := f.externalRefunds(o.OutTradeNo, 1)[0]
			// ¥34.00 and ¥4.70 of bonus (PayPal: ¥33.96 and ¥4.69): ¥10.00
			// from the wallet, the rest owed.
			if r.Amount != p.fen || r.Clawback != p.clawback || r.Debt != p.fen+p.clawback-10_00 {
				t.Fatalf("external refund = %+v, want %+v", r, p)
			}
			f.wantBooks(u, m, before, 0, p.fen, p.clawback)
			if d, err := f.svc.Debt(f.ctx, u.ID); err != nil || d != r.Debt {
				t.Fatalf("debt = %d, %v; want %d", d, err, r.Debt)
			}
		})
	}
}

func TestAPayPalChargebackArrivesAsReversedAndIsBookedWithADebt(t *testing.T) {
	f := newFixture(t)
	u := f.user("chargeback")
	o := f.paidBy(u.ID, "paypal", "68.00", "chargeback-key-000001")
	f.spend(u, wallet68-10_00, "spent-chargeback") // ¥10.00 left
	before := f.books("paypal")
	f.portal("paypal", o, o.PayAmount, true) // PAYMENT.CAPTURE.REVERSED of the whole capture
	r := f.externalRefunds(o.OutTradeNo, 1)[0]
	if !r.Chargeback || r.Amount != paid68 || r.Clawback != bonus68 || r.Debt != wallet68-10_00 || r.State != refund.StateSucceeded {
		t.Fatalf("chargeback = %+v", r)
	}
	f.wantBooks(u, "paypal", before, 0, paid68, bonus68)
	if d, err := f.svc.Debt(f.ctx, u.ID); err != nil || d != wallet68-10_00 {
		t.Fatalf("debt = %d, %v", d, err)
	}
	// Nothing is left to refund of it.
	asker := f.staff("finance1")
	if _, err := f.svc.Request(f.ctx, refund.Ask{OrderNo: o.OutTradeNo, Amount: 1, StaffID: asker}, entry(asker)); !errors.Is(err, refund.ErrTooMuch) {
		t.Fatalf("a refund of a charged-back order: %v", err)
	}
}
