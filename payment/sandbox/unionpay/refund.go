package unionpaysandbox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"im2pay/payment/sandbox/sim"
)

// Refunds: 退货, txnType 04 on backTransReq.do (PROVIDERS.md §3.4, from
// UnionPay's demo Form_6_4_Refund). A refund is a transaction of its own
// (new orderId and txnTime) naming a paid consumption by origQryId; partial
// refunds are allowed while together they stay within the original; the
// synchronous respCode 00 only means accepted, the outcome comes by back
// notification to the refund's backUrl or by queryTrans.do on the refund's
// orderId/txnTime, whose origRespCode is 05 while it is processed (§3.1:
// 03/04/05 mean "query again").
//
// Where the public material is silent the sandbox chooses, and says so:
//   - the codes of refusals: 35 for a consumption that is not ours, not paid
//     or past the window, 36 for more than is left, 45 when nothing is left
//     (two-digit codes of §3.2, an enumeration unverified against the 附录);
//   - how long a refund takes to be decided: RefundDelay;
//   - that a refund made in the merchant portal (商户服务平台) notifies the
//     consumption's backUrl and carries no reqReserved.

// RefundWindow is how old a consumption may be and still be refunded:
// "up to 11 months" (§3.4).
const RefundWindow = 11 // months

// RefundDelay is how long an accepted refund is processed before it is
// decided (scaled by the notifier's factor). UnionPay publishes no figure;
// its demo queries a back-end transaction at 1, 2, 4, 8, 16 and 32 s
// (§3.4), so the outcome is expected within seconds. The money then takes
// 1–10 settlement days to reach the card, which no message reports.
const RefundDelay = 2 * time.Second

// RefundSchedule is how a refund's back notification is resent until the
// merchant answers 200: at most 5 sends, gaps of 1, 2, 4 and 5 minutes
// (§3.6, smartwalle/unionpay's copy; another copy says 0, 1, 2, 4, and
// which is current is unverified).
var RefundSchedule = []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute}

// RefundSwitch is how the next refund of one consumption goes; the zero
// value is an accepted refund that succeeds after RefundDelay and is
// notified on RefundSchedule. Each switch is used by one refund only.
type RefundSwitch struct {
	// Refuse answers the request synchronously with this respCode (e.g.
	// "31" 商户状态不正确); nothing is refunded.
	Refuse string
	// Fail accepts the refund (00), then fails it with this respCode,
	// notified and queried as such (e.g. "63" 卡状态不正确). §3.4 lists
	// no asynchronous failure codes.
	Fail string
	// Hold keeps the refund processing (origRespCode 05) until FinishRefund.
	Hold bool
	// LoseAnswer processes the request, then drops the connection before
	// answering: the merchant cannot know whether it arrived.
	LoseAnswer bool
	// Silent sends no back notification: only a query tells the outcome.
	Silent bool
}

// refund is one 04 transaction.
type refund struct {
	merID, orderID, txnTime string
	orig                    *order
	amount                  int64
	backURL, reqReserved    string
	queryID                 string
	traceNo, traceTime      string
	settleDate              string
	settledAt               time.Time // when it succeeded: its settlement file's day
	code                    string    // "" while processing
	silent                  bool
	external                bool // made in the merchant portal
}

var refundRequired = []string{"version", "encoding", "txnType", "txnSubType", "bizType", "channelType",
	"accessType", "merId", "orderId", "txnTime", "txnAmt", "currencyCode", "origQryId", "backUrl",
	"certId", "signMethod", "signature"}

// backTransReq is POST backTransReq.do. Only 退货 (04) is played; 消费撤销
// (31) and the rest are refused as format errors.
func (s *Sandbox) backTransReq(w http.ResponseWriter, r *http.Request) {
	f, ok := s.readRequest(w, r, refundRequired)
	if !ok {
		return
	}
	rf, sw, code := s.registerRefund(f)
	if code != "" {
		s.log.Info("unionpay sandbox: refund refused", "orderId", f["orderId"], "respCode", code)
		s.answer(w, f, code)
		return
	}
	s.log.Info("unionpay sandbox: refund accepted", "orderId", rf.orderID, "origQryId", rf.orig.queryID, "txnAmt", rf.amount)
	if !sw.Hold {
		s.n.After(RefundDelay, func() { _ = s.FinishRefund(rf.orderID, sw.Fail) })
	}
	if sw.LoseAnswer {
		loseAnswer(w)
		return
	}
	res := map[string]string{"version": "5.1.0", "encoding": "UTF-8", "bizType": "000201", "txnType": "04",
		"txnSubType": "00", "accessType": "0", "merId": rf.merID, "orderId": rf.orderID, "txnTime": rf.txnTime,
		"txnAmt": strconv.FormatInt(rf.amount, 10), "currencyCode": "156", "queryId": rf.queryID,
		"respCode": "00", "respMsg": respMsg("00")}
	s.write(w, res)
}

// loseAnswer closes the connection without an HTTP answer, as a network
// failure after the gateway processed the request would.
func loseAnswer(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	w.WriteHeader(http.StatusBadGateway)
}

// registerRefund validates a 04 request and records it, taking the
// consumption's switch. It returns the refusing code, or "".
func (s *Sandbox) registerRefund(f map[string]string) (*refund, RefundSwitch, string) {
	_, terr := time.ParseInLocation("20060102150405", f["txnTime"], beijing)
	if f["txnType"] != "04" || f["txnSubType"] != "00" || f["bizType"] != "000201" ||
		(f["channelType"] != "07" && f["channelType"] != "08") || f["currencyCode"] != "156" ||
		!refundOrderRE(f["orderId"]) || !amountRE.MatchString(f["txnAmt"]) || terr != nil || !httpURL(f["backUrl"]) ||
		len(f["reqReserved"]) > 1024 {
		return nil, RefundSwitch{}, "10"
	}
	amount, _ := strconv.ParseInt(f["txnAmt"], 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	key := f["merId"] + "|" + f["orderId"]
	if s.refunds[key] != nil || s.orders[key] != nil {
		return nil, RefundSwitch{}, "12" // 重复交易: the orderId is taken
	}
	orig := s.byQueryIDLocked(f["merId"], f["origQryId"])
	if orig == nil || orig.state != paid {
		return nil, RefundSwitch{}, "35"
	}
	if s.now().After(orig.paidAt.AddDate(0, RefundWindow, 0)) {
		return nil, RefundSwitch{}, "35"
	}
	sw := s.takeSwitchLocked(orig.orderID)
	if sw.Refuse != "" {
		return nil, sw, sw.Refuse
	}
	left := orig.amount - s.refundedLocked(orig)
	switch {
	case left <= 0:
		return nil, sw, "45"
	case amount > left:
		return nil, sw, "36"
	}
	rf := &refund{merID: f["merId"], orderID: f["orderId"], txnTime: f["txnTime"], orig: orig, amount: amount,
		backURL: f["backUrl"], reqReserved: f["reqReserved"], silent: sw.Silent}
	s.stampLocked(rf)
	s.refunds[key] = rf
	return rf, sw, ""
}

// refundOrderRE is ACP's orderId for a back transaction: 8–32 letters or
// digits (§3.4; the consumption side accepts up to 40).
func refundOrderRE(s string) bool { return len(s) <= 32 && orderIDRE.MatchString(s) }

func (s *Sandbox) stampLocked(rf *refund) {
	now := s.now().In(beijing)
	rf.queryID = now.Format("20060102150405") + fmt.Sprintf("%07d", rand.IntN(10_000_000))
	rf.traceNo, rf.traceTime = fmt.Sprintf("%06d", rand.IntN(1_000_000)), now.Format("0102150405")
}

// byQueryIDLocked is the merchant's consumption with this queryId.
func (s *Sandbox) byQueryIDLocked(merID, queryID string) *order {
	if queryID == "" {
		return nil
	}
	for _, o := range s.orders {
		if o.merID == merID && o.queryID == queryID {
			return o
		}
	}
	return nil
}

// refundedLocked is what o's refunds that did not fail hold or returned.
func (s *Sandbox) refundedLocked(o *order) int64 {
	var sum int64
	for _, rf := range s.refunds {
		if rf.orig == o && (rf.code == "" || rf.code == "00") {
			sum += rf.amount
		}
	}
	return sum
}

func (s *Sandbox) takeSwitchLocked(orderID string) RefundSwitch {
	sw := s.switches[orderID]
	delete(s.switches, orderID)
	if sw == nil {
		return RefundSwitch{}
	}
	return *sw
}

// refundFields are a 04 transaction's notification fields; its respCode is
// "" while processing (the query answers 05 then). Callers hold s.mu.
func (s *Sandbox) refundFields(rf *refund) map[string]string {
	f := map[string]string{
		"version": "5.1.0", "encoding": "UTF-8", "accessType": "0", "bizType": "000201",
		"txnType": "04", "txnSubType": "00", "merId": rf.merID, "orderId": rf.orderID, "txnTime": rf.txnTime,
		"txnAmt": strconv.FormatInt(rf.amount, 10), "currencyCode": "156", "origQryId": rf.orig.queryID,
		"queryId": rf.queryID, "traceNo": rf.traceNo, "traceTime": rf.traceTime,
		"respCode": rf.code, "respMsg": respMsg(rf.code),
	}
	if rf.reqReserved != "" {
		f["reqReserved"] = rf.reqReserved // echoed (§3.4)
	}
	if rf.code == "00" {
		f["settleAmt"], f["settleCurrencyCode"], f["settleDate"] = f["txnAmt"], "156", rf.settleDate
	}
	return f
}

var errNoRefund = errors.New("unionpay sandbox: no such refund")

// FinishRefund decides a processing refund (by its orderId): respCode ""
// or "00" succeeds, any other fails with that code. The back notification
// follows unless the refund's switch silenced it. A decided refund is left
// alone.
func (s *Sandbox) FinishRefund(refundOrderID, respCode string) error {
	if respCode == "" {
		respCode = "00"
	}
	s.mu.Lock()
	var rf *refund
	for _, x := range s.refunds {
		if x.orderID == refundOrderID {
			rf = x
		}
	}
	if rf == nil {
		s.mu.Unlock()
		return fmt.Errorf("%w: %s", errNoRefund, refundOrderID)
	}
	if rf.code != "" {
		s.mu.Unlock()
		return nil
	}
	rf.code = respCode
	if respCode == "00" {
		rf.settledAt = s.now().In(beijing)
		rf.settleDate = rf.settledAt.Format("0102")
	}
	result := s.sign(s.refundFields(rf))
	silent, backURL := rf.silent, rf.backURL
	s.mu.Unlock()
	s.log.Info("unionpay sandbox: refund decided", "orderId", refundOrderID, "respCode", respCode)
	if !silent {
		s.notifyRefund(refundOrderID, backURL, result)
	}
	return nil
}

// notifyRefund posts a 04's back notification to backURL on RefundSchedule.
func (s *Sandbox) notifyRefund(orderID, backURL string, result map[string]string) {
	body := toValues(result).Encode()
	s.n.Deliver(sim.Delivery{
		Name:     "unionpay refund notify " + orderID,
		Schedule: RefundSchedule,
		Build: func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, backURL, strings.NewReader(body))
			if err == nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
			}
			return req, err
		},
		Acked: func(status int, _ []byte) bool { return status == http.StatusOK },
	})
}

// SetRefundSwitch sets how the next refund of the consumption orderId
// (our order number) goes.
func (s *Sandbox) SetRefundSwitch(orderID string, sw RefundSwitch) {
	s.mu.Lock()
	s.switches[orderID] = &sw
	s.mu.Unlock()
}

// Backdate makes the paid consumption orderId look paid d earlier, to
// reach the 11-month refund window without waiting.
func (s *Sandbox) Backdate(orderID string, d time.Duration) error {
	o := s.find(orderID)
	if o == nil {
		return fmt.Errorf("unionpay sandbox: no order %s", orderID)
	}
	s.mu.Lock()
	o.paidAt = o.paidAt.Add(-d)
	s.mu.Unlock()
	return nil
}

// PortalRefund is a refund the merchant makes in UnionPay's merchant
// portal (商户服务平台), outside our app: it succeeds at once and reaches
// us only by back notification. Whether the portal notifies, and where,
// is unverified: the sandbox posts to the consumption's backUrl, with an
// orderId of the portal's making and no reqReserved. It returns that
// orderId.
func (s *Sandbox) PortalRefund(orderID string, amount int64) (string, error) {
	o := s.find(orderID)
	if o == nil {
		return "", fmt.Errorf("unionpay sandbox: no order %s", orderID)
	}
	s.mu.Lock()
	if o.state != paid || amount <= 0 || amount > o.amount-s.refundedLocked(o) {
		s.mu.Unlock()
		return "", fmt.Errorf("unionpay sandbox: cannot refund %d fen of %s", amount, orderID)
	}
	now := s.now().In(beijing)
	rf := &refund{merID: o.merID, orderID: "MP" + now.Format("20060102150405") + fmt.Sprintf("%08d", rand.IntN(100_000_000)),
		txnTime: now.Format("20060102150405"), orig: o, amount: amount, backURL: o.backURL, external: true}
	s.stampLocked(rf)
	s.refunds[rf.merID+"|"+rf.orderID] = rf
	s.mu.Unlock()
	return rf.orderID, s.FinishRefund(rf.orderID, "00")
}

// RefundCode is a refund's decided respCode ("" while processing) and
// whether the sandbox knows it.
func (s *Sandbox) RefundCode(refundOrderID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rf := range s.refunds {
		if rf.orderID == refundOrderID {
			return rf.code, true
		}
	}
	return "", false
}
