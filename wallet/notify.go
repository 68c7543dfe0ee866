package wallet

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"im2pay/db"
	"im2pay/payment"
)

// ErrUnknownOrder means a verified notification names an order we do not
// have. It is recorded and acknowledged, not refused: the provider would
// retry a refusal for one to three days, and no retry can make the order
// appear. Someone should look, so the caller logs it as a warning.
var ErrUnknownOrder = errors.New("wallet: verified notification for an unknown order")

// errBusy refuses a notification that would make us call the provider
// again too soon for the order it names (see payment.RemoteVerifier).
var errBusy = errors.New("wallet: provider asked about this order a moment ago")

// Notify handles a provider's asynchronous notification and writes the
// provider's acknowledgement: ok only after the credit committed, so a
// crash in between makes the provider send it again.
//
// Anyone may post here, so nothing is stored in full before it verifies: a
// refused notification is counted, and only a few are kept, cut short, as
// a sample (db.Store.CountRefusal). A verified one is recorded whole.
func (s *Service) Notify(ctx context.Context, method string, w http.ResponseWriter, header http.Header, body []byte) error {
	p, err := s.provider(method)
	if err != nil {
		return err
	}
	if rv, ok := p.(payment.RemoteVerifier); ok {
		if err := s.rationVerification(ctx, method, rv, body); err != nil {
			s.metrics.Notification(method, "refused")
			p.Acknowledge(w, false)
			return err
		}
	}
	n, err := p.ParseNotification(ctx, header, body)
	outcome := "verified"
	defer func() { s.metrics.Notification(method, outcome) }()
	if errors.Is(err, payment.ErrIgnored) {
		// Genuine, and says nothing about payment state (a refund notice,
		// an event type we do not act on).
		s.event(ctx, method, "notify", n.OutTradeNo, true, "", errText(err), string(body))
		p.Acknowledge(w, true)
		return nil
	}
	if err != nil {
		outcome = "refused"
		s.refused(ctx, method, "notify", err, string(body))
		p.Acknowledge(w, false)
		return fmt.Errorf("%s notification refused: %w", method, err)
	}
	ev := eventRow(method, "notify", n.OutTradeNo, true, string(n.Status), "", string(body))
	if n.Status == payment.StatusPaid {
		var dup bool
		err := s.notifyPaid(ctx, p, w, ev, n.Result, &dup)
		switch {
		case errors.Is(err, ErrUnknownOrder):
			outcome = "unknown_order"
		case dup:
			outcome = "duplicate"
		}
		return err
	}
	// The event log is forensics, not a precondition: a failure to record
	// must not turn a good notification into an error.
	if _, err := s.store.RecordNotification(ctx, ev); errors.Is(err, db.ErrNotFound) {
		outcome = "unknown_order"
		return acknowledgeUnknown(p, w, method, n.OutTradeNo)
	}
	if _, err := s.Settle(ctx, payment.Method(method), n.Result); err != nil {
		p.Acknowledge(w, false)
		return fmt.Errorf("%s notification for %s: %w", method, n.OutTradeNo, err)
	}
	p.Acknowledge(w, true)
	return nil
}

// acknowledgeUnknown answers a verified notification, already recorded,
// about an order we do not have, as a success for the provider: each
// provider retries anything else for a day or more (PROVIDERS.md: Alipay
// §1.6, "success" or about 8 retries over 25 h; WeChat Pay §2.6, 200/204 or
// 15 retries over 24 h; UnionPay §3.6, HTTP 200 or up to 5 sends; PayPal
// §4.6, a 2xx or 25 retries over 3 days). A 5xx stays for our own failures.
func acknowledgeUnknown(p payment.Provider, w http.ResponseWriter, method, no string) error {
	p.Acknowledge(w, true)
	return fmt.Errorf("%s notification for order %q, recorded and acknowledged: %w", method, no, ErrUnknownOrder)
}

// rationVerification lets a notification through to a provider that
// verifies by calling the provider at most once per order every few
// seconds (and once for all unknown orders together), so that anonymous
// posts cannot make us flood the provider's API.
func (s *Service) rationVerification(ctx context.Context, method string, rv payment.RemoteVerifier, body []byte) error {
	turn, err := s.store.ClaimNotifyCall(ctx, method, rv.NamedOrder(body), s.now(), checkEvery)
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
	_ = s.store.CountRefusal(ctx, db.Refusal{Method: method, Kind: kind, At: s.now(), Detail: errText(why), Body: body})
}

// notifyPaid credits a verified notification of a paid trade. Providers
// repeat a notification until acknowledged, often several copies at once,
// so the record of this delivery and a read of the order are one statement,
// and a copy arriving after the credit is answered from that read.
//
// Copies of a notification (each verified on its own) that arrive while
// one saying the same payment is being handled wait for it and give its
// answer: the crediting depends on nothing else, and they write nothing,
// since their record would repeat its record.
// dup is set when the order was credited before this copy arrived, or a
// twin arriving with it did the work.
func (s *Service) notifyPaid(ctx context.Context, p payment.Provider, w http.ResponseWriter, ev db.PaymentEvent,
	res payment.Result, dup *bool) error {
	same := fmt.Sprintf("%s\x00%s\x00%s\x00%d\x00%s", ev.Method, res.OutTradeNo, res.TradeNo, res.Amount, res.Currency)
	var paidBefore bool
	err, shared := s.notifying.do(same, func() error { return s.creditNotified(ctx, ev, res, &paidBefore) })
	*dup = shared || paidBefore
	if errors.Is(err, ErrUnknownOrder) {
		return acknowledgeUnknown(p, w, ev.Method, res.OutTradeNo)
	}
	if err != nil {
		p.Acknowledge(w, false)
		return err
	}
	p.Acknowledge(w, true)
	return nil
}

// creditNotified records a delivery of a paid notification and credits it.
func (s *Service) creditNotified(ctx context.Context, ev db.PaymentEvent, res payment.Result, paidBefore *bool) error {
	var pre *db.Order
	o, err := s.store.RecordNotification(ctx, ev)
	switch {
	case err == nil:
		pre = &o
		*paidBefore = o.State == db.OrderPaid
	case errors.Is(err, db.ErrNotFound):
		return ErrUnknownOrder // recorded by the same statement
	default:
		// Not recorded either: keep trying to record it, then credit as
		// if it had not been read.
		_ = s.store.RecordEvent(ctx, ev)
	}
	if _, err := s.credit(ctx, payment.Method(ev.Method), res, pre); err != nil {
		return fmt.Errorf("%s notification for %s: %w", ev.Method, res.OutTradeNo, err)
	}
	return nil
}
