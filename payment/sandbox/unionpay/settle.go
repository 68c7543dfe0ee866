package unionpaysandbox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"im2pay/payment/sandbox/sim"
)

// beijing is the gateway's clock: ACP times are Beijing local time.
var beijing = time.FixedZone("CST", 8*3600)

type state int

const (
	awaiting state = iota // on the card page: query says origRespCode 70
	paid
	failed
)

// order is one front consumption the gateway has received.
type order struct {
	tn                         string
	merID, orderID, txnTime    string
	amount                     int64
	frontURL, backURL, subject string
	payTimeout                 time.Time // zero when the merchant sent none
	state                      state
	code                       string // origRespCode once settled
	tries                      int    // wrong passwords / SMS codes so far
	accNo                      string // masked card number, once a card was used
	queryID, traceNo           string
	traceTime, settleDate      string
	paidAt                     time.Time         // when it was paid (Backdate moves it)
	redirect                   bool              // the plan sends the person back
	result                     map[string]string // the signed notification, once settled
}

// choice is one attempt on the card page (or through Simulate).
type choice struct {
	outcome   sim.Outcome
	card      string // "" when Simulate pays
	secretsOK bool   // password and SMS code were right
}

var (
	errSettled = errors.New("unionpay sandbox: the order is already settled")
	errExpired = errors.New("unionpay sandbox: the order passed its payTimeout")
)

// expireLocked ends an unpaid order past its payTimeout with 69 and
// reports whether it did.
func (s *Sandbox) expireLocked(o *order) bool {
	if o.state == awaiting && !o.payTimeout.IsZero() && s.now().After(o.payTimeout) {
		s.finishLocked(o, "69", true)
		return true
	}
	return false
}

// attempt applies c to o. It reports whether the order is now settled
// (false: a wrong try, the person stays on the page) and the plan, and
// sends the back notification the plan calls for.
func (s *Sandbox) attempt(o *order, c choice) (bool, sim.Plan, error) {
	settled, plan, err := s.decide(o, c)
	if !settled || err != nil {
		return false, plan, err
	}
	s.mu.Lock()
	code, result := o.code, o.result
	s.mu.Unlock()
	s.log.Info("unionpay sandbox: settled", "orderId", o.orderID, "respCode", code, "outcome", c.outcome)
	if plan.Paid {
		s.notify(o.orderID, o.backURL, result, plan.Notify)
	}
	return true, plan, nil
}

// decide settles o under the lock: the outcome's plan and ACP code, with
// wrong passwords counted, a test card overriding success, and payments
// over SingleLimit refused.
func (s *Sandbox) decide(o *order, c choice) (bool, sim.Plan, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.expireLocked(o) {
		return false, sim.Plan{}, errExpired
	}
	if o.state != awaiting {
		return false, sim.Plan{}, errSettled
	}
	plan, code := sim.PlanFor(c.outcome), outcomeCodes[c.outcome]
	if c.outcome == sim.WrongPassword || (!c.secretsOK && c.outcome != sim.Cancel) {
		if o.tries++; o.tries < sim.MaxPasswordTries {
			return false, sim.Plan{}, nil
		}
		plan, code = sim.PlanFor(sim.WrongPassword), outcomeCodes[sim.WrongPassword]
	} else if card, ok := testCard(c.card); ok && c.outcome == sim.Success && card.RespCode != "00" {
		plan, code = sim.Plan{Reason: card.Reason, Redirect: true}, card.RespCode
	}
	if plan.Paid {
		code = "00"
		if o.amount > SingleLimit {
			plan, code = sim.PlanFor(sim.OverLimit), outcomeCodes[sim.OverLimit]
		}
	}
	if cardRE.MatchString(c.card) && c.outcome != sim.Cancel {
		o.accNo = c.card[:6] + "******" + c.card[len(c.card)-4:] // masked, as UnionPay returns it
	}
	s.finishLocked(o, code, plan.Redirect)
	return true, plan, nil
}

// finishLocked records the final code and signs the result fields, which
// serve as back notification, front notification and query answer alike.
func (s *Sandbox) finishLocked(o *order, code string, redirect bool) {
	now := s.now().In(beijing)
	o.code, o.redirect = code, redirect
	o.state = failed
	if code == "00" {
		o.state = paid
		o.settleDate = now.Format("0102")
		o.paidAt = now
	}
	o.queryID = now.Format("20060102150405") + fmt.Sprintf("%07d", rand.IntN(10_000_000))
	o.traceNo, o.traceTime = fmt.Sprintf("%06d", rand.IntN(1_000_000)), now.Format("0102150405")
	o.result = s.sign(s.resultFields(o))
}

// resultFields are a consumption's notification fields (ACP 5.1.0).
func (s *Sandbox) resultFields(o *order) map[string]string {
	f := map[string]string{
		"version": "5.1.0", "encoding": "UTF-8", "accessType": "0", "bizType": "000201",
		"txnType": "01", "txnSubType": "01", "merId": o.merID, "orderId": o.orderID, "txnTime": o.txnTime,
		"txnAmt": strconv.FormatInt(o.amount, 10), "currencyCode": "156",
		"respCode": o.code, "respMsg": respMsg(o.code),
	}
	if o.queryID != "" {
		f["queryId"], f["traceNo"], f["traceTime"] = o.queryID, o.traceNo, o.traceTime
	}
	if o.state == paid {
		f["settleAmt"], f["settleCurrencyCode"], f["settleDate"] = f["txnAmt"], "156", o.settleDate
		f["payCardType"] = "01" // debit card
	}
	if o.accNo != "" {
		f["accNo"] = o.accNo
	}
	return f
}

// notify delivers the back notification per the plan, retried on
// UnionPay's schedule until the merchant answers HTTP 200.
func (s *Sandbox) notify(orderID, backURL string, result map[string]string, mode sim.NotifyMode) {
	body := toValues(result).Encode()
	d := sim.Delivery{
		Name:     "unionpay notify " + orderID,
		Schedule: sim.UnionPaySchedule,
		Build: func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, backURL, strings.NewReader(body))
			if err == nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
			}
			return req, err
		},
		Acked: func(status int, _ []byte) bool { return status == http.StatusOK },
	}
	switch mode {
	case sim.NotifyNow:
		s.n.Deliver(d)
	case sim.NotifyTwice:
		s.n.After(0, func() { s.n.Attempt(d) }) // a second copy at the same moment
		s.n.Deliver(d)
	case sim.NotifyAfterBack:
		d.Delay = sim.ReturnDelay
		s.n.Deliver(d)
	case sim.NotifyLate:
		d.Delay = sim.LateDelay
		s.n.Deliver(d)
	}
}

// Simulate settles an order as if the person had chosen o on the card page
// with the right password and SMS code. The redirect is frontUrl with the
// signed front notification in its query (the page itself POSTs the same
// fields; unionpay.ParseReturn reads either).
func (s *Sandbox) Simulate(_ context.Context, outTradeNo string, o sim.Outcome) (string, bool, error) {
	if _, ok := sim.ParseOutcome(string(o)); !ok {
		return "", false, fmt.Errorf("unionpay sandbox: unknown outcome %q", o)
	}
	ord := s.find(outTradeNo)
	if ord == nil {
		return "", false, nil
	}
	settled, plan, err := s.attempt(ord, choice{outcome: o, secretsOK: true})
	if err != nil || !settled || !plan.Redirect {
		return "", true, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return frontRedirect(ord.frontURL, ord.result), true, nil
}

// frontRedirect is frontUrl carrying the signed fields in its query.
func frontRedirect(frontURL string, result map[string]string) string {
	u, err := url.Parse(frontURL)
	if err != nil {
		return ""
	}
	q := u.Query()
	for k, v := range result {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// find looks an order up by its orderId, whatever the merchant.
func (s *Sandbox) find(orderID string) *order {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.orders {
		if o.orderID == orderID {
			return o
		}
	}
	return nil
}
