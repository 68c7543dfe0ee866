package refund

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"im2pay/payment"
	"im2pay/recharge"
)

// Every call we make to a provider about a refund is recorded in
// payment_events, as recharge records its payment calls: the request and
// the answer (or the error) in one row, so that the order's timeline in
// /ops shows what we asked and what the provider said, beside the
// provider's own refund notifications.

// callRefund sends req to p and records the call.
func (s *Service) callRefund(ctx context.Context, method string, p payment.Refunder, req payment.RefundRequest) (payment.RefundResult, error) {
	res, err := p.Refund(ctx, req)
	s.recordCall(ctx, method, recharge.EventRefund, req, res, err)
	return res, err
}

// callQuery asks p about req and records the call.
func (s *Service) callQuery(ctx context.Context, method string, p payment.Refunder, req payment.RefundRequest) (payment.RefundResult, error) {
	res, err := p.QueryRefund(ctx, req)
	s.recordCall(ctx, method, recharge.EventRefundQuery, req, res, err)
	return res, err
}

// recordCall stores one call. Its status is the answer's (succeeded,
// processing, failed), "refused" for a definite no, "not_found" when the
// provider has no such refund, "error" when no usable answer came;
// verified says a provider's answer was read (signed answers checked by
// the provider package), not an error of the way there.
func (s *Service) recordCall(ctx context.Context, method, kind string, req payment.RefundRequest, res payment.RefundResult, err error) {
	status, verified := string(res.Status), err == nil
	var refusal *payment.RefundRefusal
	switch {
	case errors.As(err, &refusal):
		status, verified = "refused", true
	case errors.Is(err, payment.ErrRefundNotFound):
		status, verified = "not_found", true
	case err != nil:
		status = "error"
	}
	detail := fmt.Sprintf("request %s amount %d %s", req.RequestNo, req.Amount, req.Currency)
	if err == nil {
		detail += fmt.Sprintf(": %s %s amount %d total %d %s", res.Status, res.RefundID, res.Amount, res.RefundedTotal, res.Detail)
	} else {
		detail += ": " + err.Error()
	}
	body, _ := json.Marshal(struct {
		Request payment.RefundRequest `json:"request"`
		Answer  *payment.RefundResult `json:"answer,omitempty"`
		Error   string                `json:"error,omitempty"`
	}{Request: req, Answer: answerOf(res, err), Error: errString(err)})
	// Forensics, not a precondition: failing to record must not change
	// what the call decided.
	if rerr := recharge.RecordEvent(ctx, s.store, recharge.PaymentEvent{Method: method, Kind: kind, OutTradeNo: req.OutTradeNo,
		Verified: verified, Status: status, Detail: detail, Body: string(body)}); rerr != nil {
		s.log.Warn("refund: record the provider call", "kind", kind, "request_no", req.RequestNo, "err", rerr)
	}
}

func answerOf(res payment.RefundResult, err error) *payment.RefundResult {
	if err != nil {
		return nil
	}
	return &res
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
