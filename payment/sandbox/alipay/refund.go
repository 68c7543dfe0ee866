package alipaysandbox

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
)

// methodRefundQuery is the refund query the merchant calls after a refund
// whose answer it did not get (PROVIDERS.md §1.4).
const methodRefundQuery = "alipay.trade.fastpay.refund.query"

// RefundWindow is how long after payment a trade can be refunded before it
// becomes TRADE_FINISHED. Alipay sets it by contract: 3 months by default
// per an older support article, 12 months per a 2025 doc transcription;
// which applies is unverified (PROVIDERS.md §1.4). The sandbox plays the
// shorter one, 3 months (90 days), on its own clock.
const RefundWindow = 90 * 24 * time.Hour

// RefundFault is what the sandbox does to the next refund call of a trade,
// for tests: Alipay's documented failures played on demand.
type RefundFault string

// Refund faults.
const (
	// FaultSellerBalance answers ACQ.SELLER_BALANCE_NOT_ENOUGH: the
	// merchant's Alipay balance cannot pay it; nothing refunded (§1.4).
	FaultSellerBalance RefundFault = "seller_balance"
	// FaultSystemError answers ACQ.SYSTEM_ERROR without refunding: the
	// merchant must retry with the same out_request_no (§1.4, §1.6).
	FaultSystemError RefundFault = "system_error"
	// FaultLoseAnswer refunds, then drops the connection before answering:
	// the network losing the answer. The docs are silent on this case as
	// such; it is what the idempotent out_request_no and the refund query
	// exist for (§1.4, §1.6).
	FaultLoseAnswer RefundFault = "lose_answer"
)

// FailNextRefund makes the next alipay.trade.refund call for outTradeNo
// play f (once).
func (s *Sandbox) FailNextRefund(outTradeNo string, f RefundFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refundFaults == nil {
		s.refundFaults = map[string]RefundFault{}
	}
	s.refundFaults[outTradeNo] = f
}

// takeFault returns and clears the fault planned for a trade; callers hold s.mu.
func (s *Sandbox) takeFault(outTradeNo string) RefundFault {
	f := s.refundFaults[outTradeNo]
	delete(s.refundFaults, outTradeNo)
	return f
}

// refundCall serves alipay.trade.refund, dropping the connection after the
// refund when the fault says so.
func (s *Sandbox) refundCall(w http.ResponseWriter, b biz) {
	a, lose := s.refund(b)
	if lose {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		http.Error(w, "connection lost", http.StatusBadGateway)
		return
	}
	s.answer(w, methodRefund, a)
}

// refund answers alipay.trade.refund (PROVIDERS.md §1.4): out_request_no
// makes it idempotent (a used one succeeds again with fund_change=N and the
// same content, or ACQ.DISCORDANT_REPEAT_REQUEST with other content);
// without one, only the whole amount may be refunded
// (ACQ.REFUND_AMT_NOT_EQUAL_TOTAL); more than is left is
// ACQ.REASON_TRADE_REFUND_FEE_ERR; after the refund window the trade is
// TRADE_FINISHED and refuses with ACQ.TRADE_HAS_FINISHED. A partial refund
// re-sends TRADE_SUCCESS with the refund's fields; a full one closes the
// trade, notified where TRADE_CLOSED is (§1.1). The 3 s minimum between two
// refunds of one trade (§1.4) is not played: the docs name no answer for it.
func (s *Sandbox) refund(b biz) (tradeAnswer, bool) {
	amount, err := payment.YuanToFen(b.RefundAmount)
	if err != nil || amount <= 0 {
		return failed(codeInvalidParam), false
	}
	reqNo := b.OutRequestNo
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.find(b)
	if t == nil || !t.known {
		return failed(codeNotExist), false
	}
	if reqNo == "" {
		reqNo = t.outTradeNo // Alipay's default when none is given (§1.4 query: "pass out_trade_no")
	}
	a := ok()
	a.OutTradeNo, a.TradeNo, a.BuyerLogonID, a.BuyerUserID = t.outTradeNo, t.tradeNo, buyerLogonID, buyerUserID
	if prev, seen := t.refunds[reqNo]; seen {
		if prev != amount {
			return failed(codeRepeat), false
		}
		a.FundChange, a.RefundFee = "N", payment.FenToYuan(t.refunded)
		return a, false
	}
	now := s.now()
	s.finishIfDue(t, now)
	switch fault := s.takeFault(t.outTradeNo); {
	case fault == FaultSellerBalance:
		return failed(codeSellerBalance), false
	case fault == FaultSystemError:
		return failed(codeSystemError), false
	case t.status == statusFinished:
		return failed(codeHasFinished), false
	case t.status != statusSuccess:
		return failed(codeStatusError), false
	case amount > t.amount-t.refunded:
		return failed(codeRefundTooMuch), false
	case b.OutRequestNo == "" && amount != t.amount-t.refunded:
		return failed(codeNotEqualTotal), false
	default:
		s.refundLocked(t, reqNo, amount, now)
		a.FundChange, a.RefundFee = "Y", payment.FenToYuan(t.refunded)
		a.GmtRefundPay = now.In(beijing).Format(timeLayout)
		return a, fault == FaultLoseAnswer
	}
}

// finishIfDue ends a paid trade's refund window (RefundWindow after
// payment) when it is next looked at; callers hold s.mu.
func (s *Sandbox) finishIfDue(t *trade, now time.Time) {
	if t.status == statusSuccess && !t.paidAt.IsZero() && now.Sub(t.paidAt) > RefundWindow {
		t.status, t.closedAt = statusFinished, now
	}
}

// refundLocked books a refund on t and notifies it: a partial one re-sends
// TRADE_SUCCESS with out_biz_no, refund_fee and gmt_refund; a full one
// closes the trade, which is notified only where TRADE_CLOSED is (wap
// pay; page pay when configured) (PROVIDERS.md §1.1;
// blog.csdn.net/qq_40089904/article/details/134884289: partial refunds
// notified, full not). Callers hold s.mu.
func (s *Sandbox) refundLocked(t *trade, reqNo string, amount int64, now time.Time) {
	if t.refunds == nil {
		t.refunds, t.refundAt = map[string]int64{}, map[string]time.Time{}
	}
	t.refunds[reqNo], t.refundAt[reqNo] = amount, now
	t.refunded += amount
	t.lastRefund, t.refundedAt = reqNo, now
	if t.refunded == t.amount {
		t.status, t.closedAt = statusClosed, now
		s.closedLocked(t)
		return
	}
	snap := *t
	s.n.After(0, func() { s.notify(snap, sim.NotifyNow, false) })
}

// refundQuery answers alipay.trade.fastpay.refund.query (PROVIDERS.md §1.4):
// out_request_no required; a refund done is refund_status=REFUND_SUCCESS
// with its refund_amount; one never received answers 10000 without
// refund_status. gmt_refund_pay is given only when asked for in
// query_options.
func (s *Sandbox) refundQuery(b biz, options []string) tradeAnswer {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.find(b)
	if t == nil || !t.known {
		return failed(codeNotExist)
	}
	if b.OutRequestNo == "" {
		return failed(codeInvalidParam)
	}
	a := ok()
	a.OutTradeNo, a.TradeNo, a.OutRequestNo = t.outTradeNo, t.tradeNo, b.OutRequestNo
	amount, done := t.refunds[b.OutRequestNo]
	if !done {
		return a
	}
	a.TotalAmount, a.RefundAmount, a.RefundStatus = payment.FenToYuan(t.amount), payment.FenToYuan(amount), "REFUND_SUCCESS"
	for _, o := range options {
		if o == "gmt_refund_pay" {
			a.GmtRefundPay = t.refundAt[b.OutRequestNo].In(beijing).Format(timeLayout)
		}
	}
	return a
}

// PortalRefund refunds amount of a paid trade as the merchant would in
// Alipay's merchant portal (商家中心), outside our app: it reaches us only
// as the notification a refund causes, whose out_biz_no is then Alipay's
// own number (the docs are silent on its form; the sandbox uses "P" and 20
// digits) (PROVIDERS.md §1.1, §1.8). It returns that number.
func (s *Sandbox) PortalRefund(outTradeNo string, amount int64) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.trades[outTradeNo]
	if t == nil || t.status != statusSuccess || amount <= 0 || amount > t.amount-t.refunded {
		return "", fmt.Errorf("alipay sandbox: cannot refund %d of %s from the portal", amount, outTradeNo)
	}
	no := "P" + strings.ToUpper(randomHex(10))[:20]
	for i := range []byte(no[1:]) {
		// digits only: hex letters mapped onto 0-9
		if c := no[1+i]; c > '9' {
			no = no[:1+i] + string('0'+(c-'A')) + no[2+i:]
		}
	}
	s.refundLocked(t, no, amount, s.now())
	return no, nil
}
