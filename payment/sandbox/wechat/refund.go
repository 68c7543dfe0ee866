package wechatsandbox

import (
	"bytes"
	"context"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"time"
	"unicode/utf8"

	"im2pay/payment/sandbox/sim"
	"im2pay/payment/wechat"
)

// Refunds as WeChat Pay APIv3 plays them (PROVIDERS.md §2.4): the create
// answer means accepted (PROCESSING); the outcome comes later, by query
// and by a REFUND.* notification on WeChat's retry schedule (§2.6).

// RefundOutcome is how the sandbox settles the refunds it accepts from now
// on; SetRefundOutcome chooses it.
type RefundOutcome string

// Refund outcomes.
const (
	// RefundSucceeds: PROCESSING, then SUCCESS after RefundDelay.
	RefundSucceeds RefundOutcome = "success"
	// RefundClosesNoBalance: the merchant's balance stays short, so the
	// refund is PROCESSING for ClosedAfter, then CLOSED: "CLOSED = the
	// refund failed, e.g. PROCESSING for more than 7 days for lack of
	// balance" (§2.4).
	RefundClosesNoBalance RefundOutcome = "closed"
	// RefundAbnormal: PROCESSING, then ABNORMAL after RefundDelay (the
	// payer's card was cancelled or frozen, §2.4); ResolveAbnormal settles
	// it as the merchant platform would.
	RefundAbnormal RefundOutcome = "abnormal"
	// RefundNotEnough: refused at once with NOT_ENOUGH, nothing accepted.
	// The code is the one the official Go SDK documents for the create call
	// (wechatpay-go services/refunddomestic/api_refunds.go; PROVIDERS.md
	// could only name v2's NOTENOUGH); the HTTP status, 403, is unverified.
	RefundNotEnough RefundOutcome = "not_enough"
)

// ParseRefundOutcome reads a RefundOutcome name.
func ParseRefundOutcome(s string) (RefundOutcome, bool) {
	switch o := RefundOutcome(s); o {
	case RefundSucceeds, RefundClosesNoBalance, RefundAbnormal, RefundNotEnough:
		return o, true
	}
	return "", false
}

// Refund timing and limits, on the sandbox's clock (see Advance).
const (
	// RefundDelay is how long an accepted refund stays PROCESSING: money
	// reaches 零钱 in about 5 minutes (§2.4), a bank card in 1–3 working
	// days, which the sandbox does not play.
	RefundDelay = 5 * time.Minute
	// ClosedAfter is how long a refund short of merchant balance stays
	// PROCESSING before CLOSED (§2.4: "more than 7 days").
	ClosedAfter = 7 * 24 * time.Hour
	// MaxRefunds is the number of refunds one order takes (§2.4: ≤50
	// partial refunds per order). Whether CLOSED ones count is not said;
	// the sandbox counts every accepted refund.
	MaxRefunds = 50
)

// refund is one refund of a paid order.
type refund struct {
	o                                  *order
	outRefundNo, refundID, reason, url string // url: notify_url, "" for the platform's
	amount                             int64
	created, due, successTime          time.Time
	status, final                      string // final: what PROCESSING settles into
	portal                             bool   // made on the merchant platform, not through the API
}

// refundRequest is the body of POST /v3/refund/domestic/refunds.
type refundRequest struct {
	TransactionID string `json:"transaction_id"`
	OutTradeNo    string `json:"out_trade_no"`
	OutRefundNo   string `json:"out_refund_no"`
	Reason        string `json:"reason"`
	NotifyURL     string `json:"notify_url"`
	FundsAccount  string `json:"funds_account"`
	Amount        struct {
		Refund   int64  `json:"refund"`
		Total    int64  `json:"total"`
		Currency string `json:"currency"`
	} `json:"amount"`
}

// out_refund_no: ≤64 characters from 0-9A-Za-z_-|*@ (§2.4).
var outRefundNoRE = regexp.MustCompile(`^[0-9A-Za-z_\-|*@]{1,64}$`)

// refundJSON is WeChat's Refund object (§2.4; WXGO Refund.md, Amount.md).
type refundJSON struct {
	RefundID            string       `json:"refund_id"`
	OutRefundNo         string       `json:"out_refund_no"`
	TransactionID       string       `json:"transaction_id"`
	OutTradeNo          string       `json:"out_trade_no"`
	Channel             string       `json:"channel"`
	UserReceivedAccount string       `json:"user_received_account"`
	SuccessTime         string       `json:"success_time,omitempty"`
	CreateTime          string       `json:"create_time"`
	Status              string       `json:"status"`
	FundsAccount        string       `json:"funds_account"`
	Amount              refundAmount `json:"amount"`
	PromotionDetail     []struct{}   `json:"promotion_detail"`
}

type refundAmount struct {
	Total            int64      `json:"total"`
	Refund           int64      `json:"refund"`
	From             []struct{} `json:"from"`
	PayerTotal       int64      `json:"payer_total"`
	PayerRefund      int64      `json:"payer_refund"`
	SettlementRefund int64      `json:"settlement_refund"`
	SettlementTotal  int64      `json:"settlement_total"`
	DiscountRefund   int64      `json:"discount_refund"`
	Currency         string     `json:"currency"`
}

// lostAnswer is a handler's value that makes api drop the connection
// instead of answering: the refund was made, its answer never arrives.
type lostAnswer struct{}

// createRefund answers POST /v3/refund/domestic/refunds.
func (s *Sandbox) createRefund(_ *http.Request, body []byte) (int, any) {
	var q refundRequest
	if err := json.Unmarshal(body, &q); err != nil {
		return 0, fail(http.StatusBadRequest, "PARAM_ERROR", "请求体不是合法的JSON")
	}
	if e := q.check(); e != nil {
		return 0, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rf := s.refunds[q.OutRefundNo]; rf != nil {
		// "One number refunds once" (§2.4): a repeat gets the refund made
		// the first time, whatever its state (a CLOSED one stays closed:
		// resubmit with a new number). A number used for another order is
		// refused; the docs do not give that answer (INVALID_REQUEST is
		// the sandbox's choice).
		if !q.names(rf.o) {
			return 0, fail(http.StatusBadRequest, wechat.CodeInvalidRequest, "商户退款单号已用于其他订单")
		}
		return s.answer(rf)
	}
	o := s.paidOrder(q.OutTradeNo, q.TransactionID)
	if o == nil {
		// RESOURCE_NOT_EXISTS: "请检查你的订单号是否正确且是否已支付，未支付的
		// 订单不能发起退款" (WXGO api_refunds.go).
		return 0, fail(http.StatusNotFound, wechat.CodeResourceNotExists, "订单号不存在")
	}
	if e := s.refundable(o, q.Amount.Refund, q.Amount.Total); e != nil {
		return 0, e
	}
	if s.refundOutcome == RefundNotEnough {
		return 0, fail(http.StatusForbidden, wechat.CodeNotEnough, "基本账户余额不足，请充值后重新发起")
	}
	rf := s.newRefund(o, q.OutRefundNo, q.Reason, q.NotifyURL, q.Amount.Refund, false)
	return s.answer(rf)
}

// answer is a refund's 200 answer, or a lost one while LoseRefundAnswers
// has some to lose. Callers hold s.mu.
func (s *Sandbox) answer(rf *refund) (int, any) {
	if s.loseAnswers > 0 {
		s.loseAnswers--
		s.log.Info("refund answer dropped", "out_refund_no", rf.outRefundNo)
		return 0, lostAnswer{}
	}
	return http.StatusOK, s.refundJSON(rf)
}

// check applies WeChat's parameter rules (§2.4); like prepay it accepts
// http notify URLs so local servers can receive them.
func (q *refundRequest) check() *apiError {
	bad := func(msg string) *apiError { return fail(http.StatusBadRequest, wechat.CodeParamError, msg) }
	switch {
	case q.TransactionID == "" && q.OutTradeNo == "":
		return bad("transaction_id 与 out_trade_no 须二选一")
	case !outRefundNoRE.MatchString(q.OutRefundNo):
		return bad("out_refund_no 须为1-64位数字、字母或_-|*@")
	case utf8.RuneCountInString(q.Reason) > 80:
		return bad("reason 长度不超过80个字符")
	case q.Amount.Refund < 1 || q.Amount.Total < 1:
		return bad("amount.refund 与 amount.total 须为正整数（单位：分）")
	case q.Amount.Currency != "CNY":
		return bad("amount.currency 仅支持 CNY")
	case q.FundsAccount != "" && q.FundsAccount != "AVAILABLE":
		return bad("funds_account 仅支持 AVAILABLE")
	}
	if q.NotifyURL != "" {
		// "https, no query string" (§2.4).
		u, err := url.Parse(q.NotifyURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
			return bad("notify_url 须为可访问的完整URL，且不能携带参数")
		}
	}
	return nil
}

// names reports whether the request is about o.
func (q *refundRequest) names(o *order) bool {
	return (q.OutTradeNo == "" || q.OutTradeNo == o.outTradeNo) &&
		(q.TransactionID == "" || q.TransactionID == o.transactionID)
}

// paidOrder finds a paid order by out_trade_no or transaction_id. Callers
// hold s.mu.
func (s *Sandbox) paidOrder(outTradeNo, transactionID string) *order {
	var o *order
	if outTradeNo != "" {
		o = s.orders[outTradeNo]
	} else {
		for _, c := range s.orders {
			if c.transactionID != "" && c.transactionID == transactionID {
				o = c
			}
		}
	}
	if o == nil || (transactionID != "" && o.transactionID != transactionID) {
		return nil
	}
	if st := s.stateOf(o); st != wechat.StateSuccess && st != wechat.StateRefund {
		return nil
	}
	return o
}

// refundable applies the refund rules of §2.4 to a new refund of amount.
// The messages are the sandbox's (WeChat's texts are unverified); the
// merchant side reads them only to refine INVALID_REQUEST. Callers hold
// s.mu.
func (s *Sandbox) refundable(o *order, amount, total int64) *apiError {
	switch {
	case total != o.amount:
		// The docs do not give this answer; PARAM_ERROR is the sandbox's.
		return fail(http.StatusBadRequest, wechat.CodeParamError, "amount.total 与原订单金额不一致")
	case !s.now().Before(o.successTime.AddDate(1, 0, 0)):
		// "within 1 year of payment" (§2.4); the v3 code for a late refund
		// is unverified: INVALID_REQUEST ("不符合业务规则") is the closest
		// the SDK's table has.
		return fail(http.StatusBadRequest, wechat.CodeInvalidRequest, wechat.MsgRefundWindowPassed)
	case len(o.refunds) >= MaxRefunds:
		return fail(http.StatusBadRequest, wechat.CodeInvalidRequest, wechat.MsgRefundTooMany)
	case refunded(o)+amount > o.amount:
		// Refunds of an order sum to at most its total (§2.4, WXGO
		// AmountReq: "不能超过原订单支付金额"). One community answer says a
		// fully refunded order's repeat shows CLOSED (unverified); the
		// sandbox refuses it instead, as the create call's table allows.
		return fail(http.StatusBadRequest, wechat.CodeInvalidRequest, wechat.MsgRefundExceeds)
	}
	return nil
}

// refunded is what o's refunds take, CLOSED ones aside (they returned
// nothing). Callers hold s.mu.
func refunded(o *order) int64 {
	var sum int64
	for _, rf := range o.refunds {
		if rf.status != wechat.RefundStatusClosed {
			sum += rf.amount
		}
	}
	return sum
}

// newRefund records an accepted refund and schedules its outcome. A
// portal refund succeeds at once: the app sees it only by its
// notification, so the processing time would change nothing it can
// observe (the docs are silent on portal refunds' timing). Callers hold
// s.mu.
func (s *Sandbox) newRefund(o *order, no, reason, notifyURL string, amount int64, portal bool) *refund {
	now := s.now()
	rf := &refund{o: o, outRefundNo: no, refundID: "50" + randString(27, digits), reason: reason, url: notifyURL,
		amount: amount, created: now, status: wechat.RefundStatusProcessing, final: wechat.RefundStatusSuccess,
		portal: portal}
	delay := RefundDelay
	switch {
	case portal:
		delay = 0
	case s.refundOutcome == RefundClosesNoBalance:
		rf.final, delay = wechat.RefundStatusClosed, ClosedAfter
	case s.refundOutcome == RefundAbnormal:
		rf.final = wechat.RefundStatusAbnormal
	}
	rf.due = now.Add(delay)
	o.refunds = append(o.refunds, rf)
	s.refunds[no] = rf
	s.log.Info("refund accepted", "out_trade_no", o.outTradeNo, "out_refund_no", no, "amount", amount, "settles_as", rf.final)
	// The delay runs on the notifier's time factor like every sandbox
	// delay; Advance moves the sandbox's clock past it at once.
	if delay > 0 {
		s.n.After(delay, func() { s.settle(no, true) })
	}
	return rf
}

// settle moves a PROCESSING refund to its outcome when it is due on the
// sandbox's clock, or at once when its timer fired (force), and notifies
// it. Safe to call any number of times.
func (s *Sandbox) settle(no string, force bool) {
	s.mu.Lock()
	d := s.settleLocked(s.refunds[no], force)
	s.mu.Unlock()
	if d != nil {
		s.n.Deliver(*d)
	}
}

// settleLocked is settle's work. Callers hold s.mu and deliver the result.
func (s *Sandbox) settleLocked(rf *refund, force bool) *sim.Delivery {
	if rf == nil || rf.status != wechat.RefundStatusProcessing || (!force && s.now().Before(rf.due)) {
		return nil
	}
	rf.status = rf.final
	if rf.status == wechat.RefundStatusSuccess {
		rf.successTime = s.now()
		// "After a refund the order's trade_state is REFUND" (§2.4). When
		// exactly (on acceptance or on success) the docs do not say; the
		// sandbox switches when money has gone back.
		rf.o.state, rf.o.desc = wechat.StateRefund, "转入退款"
	}
	s.log.Info("refund settled", "out_refund_no", rf.outRefundNo, "status", rf.status)
	return s.refundDelivery(rf)
}

// settleDue settles every refund due on the sandbox's clock, so that a
// query after Advance sees the outcome; it returns the notifications to
// deliver. Callers hold s.mu.
func (s *Sandbox) settleDue() []sim.Delivery {
	var out []sim.Delivery
	for _, rf := range s.refunds {
		if d := s.settleLocked(rf, false); d != nil {
			out = append(out, *d)
		}
	}
	return out
}

// tick settles what is due and delivers its notifications.
func (s *Sandbox) tick() {
	s.mu.Lock()
	ds := s.settleDue()
	s.mu.Unlock()
	for _, d := range ds {
		s.n.Deliver(d)
	}
}

// queryRefund answers GET /v3/refund/domestic/refunds/{out_refund_no};
// an unknown number is 404 RESOURCE_NOT_EXISTS (WXGO api_refunds.go).
func (s *Sandbox) queryRefund(r *http.Request, _ []byte) (int, any) {
	s.tick()
	s.mu.Lock()
	defer s.mu.Unlock()
	rf := s.refunds[r.PathValue("no")]
	if rf == nil {
		return 0, fail(http.StatusNotFound, wechat.CodeResourceNotExists, "退款单不存在")
	}
	return http.StatusOK, s.refundJSON(rf)
}

// refundJSON renders rf. Callers hold s.mu.
func (s *Sandbox) refundJSON(rf *refund) refundJSON {
	j := refundJSON{RefundID: rf.refundID, OutRefundNo: rf.outRefundNo, TransactionID: rf.o.transactionID,
		OutTradeNo: rf.o.outTradeNo, Channel: "ORIGINAL", UserReceivedAccount: "支付用户零钱",
		CreateTime: rf.created.In(cst).Format(time.RFC3339), Status: rf.status, FundsAccount: "AVAILABLE",
		Amount: refundAmount{Total: rf.o.amount, Refund: rf.amount, From: []struct{}{}, PayerTotal: rf.o.amount,
			PayerRefund: rf.amount, SettlementRefund: rf.amount, SettlementTotal: rf.o.amount, Currency: "CNY"},
		PromotionDetail: []struct{}{}}
	if rf.status == wechat.RefundStatusSuccess {
		j.SuccessTime = rf.successTime.In(cst).Format(time.RFC3339) // on SUCCESS only (§2.4)
	}
	return j
}

// refundNotice is the plaintext of a REFUND.* notification's resource
// (§2.4: mchid, out_trade_no, transaction_id, out_refund_no, refund_id,
// refund_status, success_time, user_received_account, amount).
type refundNotice struct {
	MchID               string `json:"mchid"`
	OutTradeNo          string `json:"out_trade_no"`
	TransactionID       string `json:"transaction_id"`
	OutRefundNo         string `json:"out_refund_no"`
	RefundID            string `json:"refund_id"`
	RefundStatus        string `json:"refund_status"`
	SuccessTime         string `json:"success_time,omitempty"`
	UserReceivedAccount string `json:"user_received_account"`
	Amount              struct {
		Total       int64 `json:"total"`
		Refund      int64 `json:"refund"`
		PayerTotal  int64 `json:"payer_total"`
		PayerRefund int64 `json:"payer_refund"`
	} `json:"amount"`
}

var refundEvents = map[string]struct{ event, summary string }{
	wechat.RefundStatusSuccess:  {wechat.EventRefundSuccess, "退款成功"},
	wechat.RefundStatusAbnormal: {wechat.EventRefundAbnormal, "退款异常"},
	wechat.RefundStatusClosed:   {wechat.EventRefundClosed, "退款关闭"},
}

// sealRefund encrypts n with AES-256-GCM under the APIv3 key, as payment
// notifications are, with original_type and associated_data "refund"
// (§2.4), into a REFUND.* body.
func sealRefund(aead cipher.AEAD, n refundNotice) []byte {
	plain, _ := json.Marshal(n)
	nonce := randString(aead.NonceSize(), alnum)
	ct := aead.Seal(nil, []byte(nonce), plain, []byte("refund"))
	ev := refundEvents[n.RefundStatus]
	body, _ := json.Marshal(envelope{
		ID: notificationID(), CreateTime: time.Now().In(cst).Format(time.RFC3339), ResourceType: "encrypt-resource",
		EventType: ev.event, Summary: ev.summary,
		Resource: resource{OriginalType: "refund", Algorithm: "AEAD_AES_256_GCM",
			Ciphertext: base64.StdEncoding.EncodeToString(ct), AssociatedData: "refund", Nonce: nonce},
	})
	return body
}

// refundDelivery is the REFUND.* notification of a settled refund,
// retried on WeChat's schedule like payment notifications (§2.6: the same
// schedule for both). It goes to the refund's notify_url, which overrides
// the platform's refund URL (§2.4); without one (portal refunds, API
// refunds that named none) to the platform's, RefundNotifyURL. When that
// is not configured, the sandbox falls back to the order's payment
// notify_url, where our app parses both kinds: the docs know no such
// fallback, it keeps an unconfigured sandbox working. Callers hold s.mu.
func (s *Sandbox) refundDelivery(rf *refund) *sim.Delivery {
	to := rf.url
	if to == "" {
		to = s.RefundNotifyURL
	}
	if to == "" {
		to = rf.o.notifyURL
	}
	n := refundNotice{MchID: s.keys.MchID, OutTradeNo: rf.o.outTradeNo, TransactionID: rf.o.transactionID,
		OutRefundNo: rf.outRefundNo, RefundID: rf.refundID, RefundStatus: rf.status,
		UserReceivedAccount: "支付用户零钱"}
	if rf.status == wechat.RefundStatusSuccess {
		n.SuccessTime = rf.successTime.In(cst).Format(time.RFC3339)
	}
	n.Amount.Total, n.Amount.Refund, n.Amount.PayerTotal, n.Amount.PayerRefund = rf.o.amount, rf.amount, rf.o.amount, rf.amount
	body := sealRefund(s.aead, n)
	return &sim.Delivery{
		Name:     "wechat refund notify " + rf.outRefundNo,
		Schedule: sim.WeChatSchedule,
		Build: func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, to, bytes.NewReader(body))
			if err != nil {
				return nil, err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("User-Agent", "Mozilla/4.0")
			// Signed with the real time: the merchant checks the
			// timestamp against its own clock, not the sandbox's.
			s.signNotification(req.Header, body, time.Now())
			return req, nil
		},
		Acked: func(status int, _ []byte) bool {
			return status == http.StatusOK || status == http.StatusNoContent
		},
	}
}

// SetRefundOutcome chooses how refunds accepted from now on settle (the
// sandbox starts with RefundSucceeds). Refunds already accepted keep theirs.
func (s *Sandbox) SetRefundOutcome(o RefundOutcome) {
	s.mu.Lock()
	s.refundOutcome = o
	s.mu.Unlock()
}

// LoseRefundAnswers makes the next n answers to refund requests get lost:
// the refund is made (or, for a repeated number, stays made) and the
// connection is dropped before the answer, so the merchant cannot know
// the outcome and must query or retry with the same out_refund_no.
func (s *Sandbox) LoseRefundAnswers(n int) {
	s.mu.Lock()
	s.loseAnswers = n
	s.mu.Unlock()
}

// Advance moves the sandbox's clock forward by d (the refund window, and
// refunds still PROCESSING, are measured on it) and settles every refund
// that became due, notifying each. The clock never goes back.
func (s *Sandbox) Advance(d time.Duration) {
	if d > 0 {
		s.offset.Add(int64(d))
	}
	s.tick()
}

// now is the sandbox's clock: the real time plus what Advance added.
func (s *Sandbox) now() time.Time { return time.Now().Add(time.Duration(s.offset.Load())) }

// PortalRefund refunds amount fen of a paid order the way a merchant does
// on the WeChat Pay merchant platform, outside our app: the refund
// succeeds and REFUND.SUCCESS goes to the platform's refund URL
// (RefundNotifyURL; see refundDelivery). It returns the refund's
// out_refund_no. What number WeChat gives a portal refund is unverified;
// the sandbox's ("MP_" + 24 digits) is deliberately outside our own
// [0-9A-Za-z]{16,32} numbers, so the merchant side can tell it apart.
func (s *Sandbox) PortalRefund(outTradeNo string, amount int64) (string, error) {
	s.mu.Lock()
	o := s.paidOrder(outTradeNo, "")
	if o == nil {
		s.mu.Unlock()
		return "", fmt.Errorf("wechat sandbox: portal refund: %s is not a paid order", outTradeNo)
	}
	if amount < 1 {
		s.mu.Unlock()
		return "", fmt.Errorf("wechat sandbox: portal refund of %s: amount %d", outTradeNo, amount)
	}
	if e := s.refundable(o, amount, o.amount); e != nil {
		s.mu.Unlock()
		return "", fmt.Errorf("wechat sandbox: portal refund of %s: %s %s", outTradeNo, e.Code, e.Message)
	}
	no := "MP_" + randString(24, digits)
	rf := s.newRefund(o, no, "商户平台退款", "", amount, true)
	d := s.settleLocked(rf, true)
	s.mu.Unlock()
	s.n.Deliver(*d)
	return no, nil
}

// ResolveAbnormal settles an ABNORMAL refund as finance would on the
// merchant platform (or via apply-abnormal-refund, which the sandbox does
// not serve): it succeeds and REFUND.SUCCESS is notified (§2.4: ABNORMAL
// is not final).
func (s *Sandbox) ResolveAbnormal(outRefundNo string) error {
	s.mu.Lock()
	rf := s.refunds[outRefundNo]
	if rf == nil || rf.status != wechat.RefundStatusAbnormal {
		s.mu.Unlock()
		return fmt.Errorf("wechat sandbox: refund %s is not ABNORMAL", outRefundNo)
	}
	rf.status, rf.final = wechat.RefundStatusProcessing, wechat.RefundStatusSuccess
	d := s.settleLocked(rf, true)
	s.mu.Unlock()
	s.n.Deliver(*d)
	return nil
}

// controls serves the refund controls over HTTP for tests that reach the
// sandbox only by URL (sandboxtest.Gateway): on the API origin, under
// /wechat/_sim/, like the gateway's own /_sim/ control endpoint.
//
//	POST /wechat/_sim/refund-outcome          outcome=success|closed|abnormal|not_enough
//	POST /wechat/_sim/lose-refund-answers     n=1
//	POST /wechat/_sim/advance                 by=<Go duration, e.g. 169h>
//	POST /wechat/_sim/orders/{no}/portal-refund amount=<fen>  → {"out_refund_no":…}
//	POST /wechat/_sim/refunds/{no}/resolve-abnormal
func (s *Sandbox) controls(mux *http.ServeMux) {
	p := "/" + Name + "/_sim"
	ok := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("POST "+p+"/refund-outcome", func(w http.ResponseWriter, r *http.Request) {
		o, valid := ParseRefundOutcome(r.FormValue("outcome"))
		if !valid {
			http.Error(w, "unknown refund outcome", http.StatusBadRequest)
			return
		}
		s.SetRefundOutcome(o)
		ok(w, map[string]string{"outcome": string(o)})
	})
	mux.HandleFunc("POST "+p+"/lose-refund-answers", func(w http.ResponseWriter, r *http.Request) {
		var n int
		if _, err := fmt.Sscan(r.FormValue("n"), &n); err != nil || n < 0 {
			http.Error(w, "n must be a count", http.StatusBadRequest)
			return
		}
		s.LoseRefundAnswers(n)
		ok(w, map[string]int{"n": n})
	})
	mux.HandleFunc("POST "+p+"/advance", func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.FormValue("by"))
		if err != nil || d < 0 {
			http.Error(w, "by must be a positive Go duration", http.StatusBadRequest)
			return
		}
		s.Advance(d)
		ok(w, map[string]string{"now": s.now().In(cst).Format(time.RFC3339)})
	})
	mux.HandleFunc("POST "+p+"/orders/{no}/portal-refund", func(w http.ResponseWriter, r *http.Request) {
		var amount int64
		if _, err := fmt.Sscan(r.FormValue("amount"), &amount); err != nil {
			http.Error(w, "amount must be fen", http.StatusBadRequest)
			return
		}
		no, err := s.PortalRefund(r.PathValue("no"), amount)
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		ok(w, map[string]string{"out_refund_no": no})
	})
	mux.HandleFunc("POST "+p+"/refunds/{no}/resolve-abnormal", func(w http.ResponseWriter, r *http.Request) {
		if err := s.ResolveAbnormal(r.PathValue("no")); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		ok(w, map[string]bool{"resolved": true})
	})
}
