package recharge

import (
	"context"
	"errors"
	"fmt"

	"im2pay/db"
	"im2pay/payment"
)

// ErrUnknownOrder means a verified notification names an order we do not
// have. It is recorded and acknowledged, not refused: the provider would
// retry a refusal for one to three days, and no retry can make the order
// appear. Someone should look, so the caller logs it as a warning.
var ErrUnknownOrder = errors.New("recharge: verified notification for an unknown order")

// errBusy refuses a notification that would make us call the provider
// again too soon for the order it names (see payment.RemoteVerifier).
var errBusy = errors.New("recharge: provider asked about this order a moment ago")

// Notify handles a provider's asynchronous notification. It returns the
// acknowledgement the caller sends, and the error to log: the ack says ok
// only after the credit committed, so a crash in between makes the
// provider send the notification again. A zero Ack means no provider is
// configured for method: there is nobody to answer as.
//
// Anyone may post here, so nothing is stored in full before it verifies: a
// refused notification is counted, and only a few are kept, cut short, as
// a sample (countRefusal). A verified one is recorded whole.
func (s *Service) Notify(ctx context.Context, method string, header payment.Header, body []byte) (payment.Ack, error) {
	p, err := s.provider(method)
	if err != nil {
		return payment.Ack{}, err
	}
	if rv, ok := p.(payment.RemoteVerifier); ok {
		if err := s.rationVerification(ctx, method, rv, body); err != nil {
			s.metrics.Notification(method, "refused")
			return p.Ack(false), err
		}
	}
	n, err := p.ParseNotification(ctx, header, body)
	outcome := "verified"
	defer func() { s.metrics.Notification(method, outcome) }()
	switch {
	case errors.Is(err, payment.ErrIgnored):
		// Genuine, and says nothing about payment state (a refund notice,
		// an event type we do not act on).
		s.event(ctx, method, "notify", n.OutTradeNo, true, "", errText(err), string(body))
		return p.Ack(true), nil
	case err != nil:
		outcome = "refused"
		s.refused(ctx, method, "notify", err, string(body))
		return p.Ack(false), fmt.Errorf("%s notification refused: %w", method, err)
	case n.Refund != nil:
		outcome = "refund"
		err := s.refundNotice(ctx, method, n, body)
		return p.Ack(err == nil || errors.Is(err, ErrUnknownOrder)), err
	}
	outcome, err = s.settleNotified(ctx, method, n, body)
	// An unknown order is acknowledged as a success: each provider retries
	// anything else for a day or more (PROVIDERS.md: Alipay §1.6, "success"
	// or about 8 retries over 25 h; WeChat Pay §2.6, 200/204 or 15 retries
	// over 24 h; UnionPay §3.6, HTTP 200 or up to 5 sends; PayPal §4.6, a
	// 2xx or 25 retries over 3 days). A refusal stays for our own failures.
	return p.Ack(err == nil || errors.Is(err, ErrUnknownOrder)), err
}

// settleNotified records a delivery of a verified notification and settles
// what it says; outcome names it for the metrics (verified, duplicate,
// unknown_order).
//
// Providers repeat a notification until acknowledged, often several copies
// at once. Copies of a paid notification (each verified on its own) that
// arrive while one saying the same payment is being handled wait for it
// and give its answer: the crediting depends on nothing else, and they
// write nothing, since their record would repeat its record. A copy
// arriving after the credit is answered from the read that records it.
func (s *Service) settleNotified(ctx context.Context, method string, n payment.Notification, body []byte) (outcome string, err error) {
	ev := eventRow(method, "notify", n.OutTradeNo, true, string(n.Status), "", string(body))
	var paidBefore, shared bool
	settle := func() error { return s.recordAndSettle(ctx, ev, n.Result, &paidBefore) }
	if n.Status == payment.StatusPaid {
		same := fmt.Sprintf("%s\x00%s\x00%s\x00%d\x00%s", method, n.OutTradeNo, n.TradeNo, n.Amount, n.Currency)
		err, shared = s.notifying.do(same, settle)
	} else {
		err = settle()
	}
	switch {
	case errors.Is(err, ErrUnknownOrder):
		return "unknown_order", fmt.Errorf("%s notification for order %q, recorded and acknowledged: %w",
			method, n.OutTradeNo, err)
	case n.Status == payment.StatusPaid && (shared || paidBefore):
		// Credited before this copy arrived, or by a twin arriving with it.
		return "duplicate", err
	}
	return "verified", err
}

// recordAndSettle records one delivery and settles it. The record and a
// read of the order are one query (recordNotification), and
// Settle starts from that read: a repeated notification of an order
// already paid needs nothing more. paidBefore is set when it read paid.
func (s *Service) recordAndSettle(ctx context.Context, ev PaymentEvent, res payment.Result, paidBefore *bool) error {
	var read *Order
	o, err := s.recordNotification(ctx, ev)
	switch {
	case err == nil:
		read = &o
		*paidBefore = o.State == OrderPaid
	case errors.Is(err, db.ErrNotFound):
		return ErrUnknownOrder // recorded by the same query
	default:
		// Neither recorded nor read. The event log is forensics, not a
		// precondition: try once more to record it, and settle as if
		// nothing had been read.
		_ = s.recordEvent(ctx, ev)
	}
	if _, err := s.Settle(ctx, payment.Method(ev.Method), res, read); err != nil {
		return fmt.Errorf("%s notification for %s: %w", ev.Method, res.OutTradeNo, err)
	}
	return nil
}

// rationVerification lets a notification through to a provider that
// verifies by calling the provider at most once per order every few
// seconds (and once for all unknown orders together), so that anonymous
// posts cannot make us flood the provider's API.
func (s *Service) rationVerification(ctx context.Context, method string, rv payment.RemoteVerifier, body []byte) error {
	turn, err := s.claimNotifyCall(ctx, method, rv.NamedOrder(body), s.now(), checkEvery)
	if err != nil {
		return fmt.Errorf("%s notification: %w", method, err)
	}
	if !turn {
		s.refused(ctx, method, "notify", errBusy, string(body))
		return fmt.Errorf("%s notification refused: %w", method, errBusy)
	}
	return nil
}

// refused counts a callback request that did not verify.
func (s *Service) refused(ctx context.Context, method, kind string, why error, body string) {
	// Forensics, not a precondition, as the event log.
	_ = s.countRefusal(ctx, Refusal{Method: method, Kind: kind, At: s.now(), Detail: errText(why), Body: body})
}

// refundNotice records a verified notification about a refund (never a
// payment: PROVIDERS.md §1.8) and hands it to the refund hook.
func (s *Service) refundNotice(ctx context.Context, method string, n payment.Notification, body []byte) error {
	r := n.Refund
	s.event(ctx, method, "notify", n.OutTradeNo, true, "refund_"+string(r.Status),
		fmt.Sprintf("refund %s %s amount %d total %d", r.RequestNo, r.RefundID, r.Amount, r.RefundedTotal), string(body))
	if s.refundNotified == nil {
		return nil
	}
	if err := s.refundNotified(ctx, payment.Method(method), n); err != nil {
		return fmt.Errorf("%s refund notification for %s: %w", method, n.OutTradeNo, err)
	}
	return nil
}
