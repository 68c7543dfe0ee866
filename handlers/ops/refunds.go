package ops

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"im2pay/audit"
	"im2pay/db"
	"im2pay/recharge"
	"im2pay/refund"
	"im2pay/staff"
	"im2pay/views/console"
	"im2pay/views/i18n"
	"im2pay/wallet"
)

// refundRoutes are finance's refunds: the form on an order's page with its
// clawback preview, and the refunds waiting for a second staff member.
func (s *Server) refundRoutes(g *echo.Group) {
	g.GET("/refunds", s.refunds, need(staff.View))
	g.GET("/orders/:no/refund/preview", s.refundPreview, need(staff.Refund))
	g.POST("/orders/:no/refund", s.requestRefund, need(staff.Refund))
	g.POST("/refunds/:id/approve", s.decideRefund(true), need(staff.Approve))
	g.POST("/refunds/:id/reject", s.decideRefund(false), need(staff.Approve))
}

// refundNotice is what the order page says after a refund was asked for
// (?refund=<its state>); "" for anything else.
func refundNotice(state string) string {
	if code := "console.refund.done." + state; state != "" && i18n.Has(code) {
		return code
	}
	return ""
}

// refundPanel is the order page's refund section (nil without the
// refund service).
func (s *Server) refundPanel(c echo.Context, o recharge.Order) *console.RefundPanel {
	if s.d.Refund == nil {
		return nil
	}
	p := &console.RefundPanel{OrderNo: o.OutTradeNo, CanRefund: s.member(c).Can(staff.Refund),
		Paid: o.State == recharge.OrderPaid, Threshold: wallet.Money(s.d.Refund.ApprovalAbove())}
	list, err := s.d.Refund.OfOrder(ctx(c), o.OutTradeNo)
	if err != nil {
		s.log.WarnContext(ctx(c), "ops order: refunds", "order", o.OutTradeNo, "err", err)
	}
	var refunded int64
	for _, r := range list {
		if r.State == refund.StateInFlight || r.State == refund.StateSucceeded {
			refunded += r.Amount
		}
		p.Refunds = append(p.Refunds, refundRow(r, s.member(c).ID))
	}
	p.Refundable = wallet.Money(o.Amount - refunded)
	return p
}

func refundRow(r refund.Refund, me int64) console.RefundRow {
	return console.RefundRow{ID: r.ID, OrderNo: r.OutTradeNo, RequestNo: r.RequestNo, Amount: wallet.Money(r.Amount),
		Clawback: wallet.Money(r.Clawback), Debt: wallet.Money(r.Debt), State: r.State, Failure: r.Failure,
		Reason: r.Reason, Asker: r.AskerName, ByPerson: r.AskedByUser.Valid, External: r.External,
		RequestedAt: r.RequestedAt, Own: r.AskedByStaff.Valid && r.AskedByStaff.Int64 == me}
}

// refundPreview answers the form's preview as the amount is typed:
// "退款 ¥68.00，扣回奖励 ¥3.40，钱包共扣除 ¥71.40", and the shortfall.
func (s *Server) refundPreview(c echo.Context) error {
	var p console.RefundPreview
	if amount, err := wallet.ParseMoney(c.QueryParam("amount")); err == nil && s.d.Refund != nil {
		q, err := s.d.Refund.Preview(ctx(c), c.Param("no"), int64(amount))
		var short *refund.Shortfall
		if err == nil || errors.As(err, &short) {
			p = console.RefundPreview{Shown: true, Amount: wallet.Money(q.Amount), Clawback: wallet.Money(q.Clawback),
				Balance: wallet.Money(q.Balance)}
		}
	}
	return s.render(c, http.StatusOK, console.RefundPreviewLine(p))
}

// requestRefund refunds (at or below the threshold) or asks to refund
// (above) part or all of a paid top-up. The service appends the audit line
// in the refund's transaction; a refusal gets a line of its own and is
// said on the order page.
func (s *Server) requestRefund(c echo.Context) error {
	no := c.Param("no")
	if s.d.Refund == nil {
		return s.notFound(c)
	}
	t, err := s.d.Recharge.OrderTimeline(ctx(c), no)
	if errors.Is(err, db.ErrNotFound) {
		return s.notFound(c)
	}
	if err != nil {
		return fmt.Errorf("ops refund %q: %w", no, err)
	}
	typed, reason := truncate(c.FormValue("amount"), 32), truncate(c.FormValue("reason"), 800)
	amount, err := wallet.ParseMoney(typed)
	var r refund.Refund
	if err == nil {
		r, err = s.d.Refund.Request(ctx(c), refund.Ask{OrderNo: no, Amount: int64(amount), Reason: reason,
			StaffID: s.member(c).ID}, s.entry(c))
		if err == nil {
			return redirect(c, console.OrderPath(no)+"?refund="+r.State)
		}
	} else {
		err = errBadAmount
	}
	code, args, detail := refundProblem(err)
	if code == "" {
		return err
	}
	if err := s.record(c, nil, audit.Entry{Action: "refund.request_refused", ObjectKind: "order", ObjectID: no,
		Detail: detail, After: map[string]any{"amount": typed}}); err != nil {
		return err
	}
	v := s.orderView(c, t, nil)
	v.Refund.Amount, v.Refund.Reason, v.Refund.Problem, v.Refund.ProblemArgs = typed, reason, code, args
	return s.render(c, http.StatusUnprocessableEntity, console.Order(v))
}

var errBadAmount = errors.New("ops refund: amount is not a sum of money")

// refundProblem is what the page says about a refusal, and the audit
// line's detail; "" for an error that is no refusal.
func refundProblem(err error) (code string, args []any, detail string) {
	var short *refund.Shortfall
	switch {
	case errors.As(err, &short):
		return "refund.shortfall", []any{wallet.Money(short.Balance).String(), wallet.Money(short.Missing()).String()},
			"shortfall " + wallet.Money(short.Missing()).String()
	case errors.Is(err, errBadAmount):
		return "console.refund.bad_amount", nil, "bad amount"
	case errors.Is(err, refund.ErrTooMuch):
		return "console.refund.too_much", nil, "too much"
	case errors.Is(err, refund.ErrNotPaid):
		return "console.refund.not_paid", nil, "not paid"
	case errors.Is(err, refund.ErrOpen):
		return "console.refund.open", nil, "another refund open"
	case errors.Is(err, refund.ErrReason):
		return "console.refund.reason_invalid", nil, "reason"
	case errors.Is(err, refund.ErrNoRefunder):
		return "console.refund.no_provider", nil, "no provider"
	}
	return "", nil, ""
}

// refunds lists the refunds waiting for approval.
func (s *Server) refunds(c echo.Context) error {
	v := console.RefundsPageView{}
	if d := c.QueryParam("decided"); d == "approved" || d == "rejected" {
		v.Decided = "console.refund.decided." + d
	}
	return s.refundsPage(c, http.StatusOK, v)
}

func (s *Server) refundsPage(c echo.Context, status int, v console.RefundsPageView) error {
	if s.d.Refund == nil {
		return s.notFound(c)
	}
	pending, err := s.d.Refund.Pending(ctx(c), pendingShown)
	if err != nil {
		return err
	}
	for _, r := range pending {
		v.Pending = append(v.Pending, refundRow(r, s.member(c).ID))
	}
	return s.render(c, status, console.RefundsPage(csrfToken(c), v))
}

// decideRefund approves (debits and sends) or rejects a waiting refund as
// the member's decision. The asker's own decision, one decided before and
// a wallet that no longer covers it are refused on the page and in the
// audit log; an id that is no refund is 404.
func (s *Server) decideRefund(approve bool) echo.HandlerFunc {
	action, decided := "refund.reject_refused", "rejected"
	if approve {
		action, decided = "refund.approve_refused", "approved"
	}
	return func(c echo.Context) error {
		id, err := strconv.ParseInt(c.Param("id"), 10, 64)
		if err != nil || id <= 0 || s.d.Refund == nil {
			return echo.NewHTTPError(http.StatusNotFound)
		}
		decide := s.d.Refund.Reject
		if approve {
			decide = s.d.Refund.Approve
		}
		_, err = decide(ctx(c), id, s.member(c).ID, s.entry(c))
		if err == nil {
			return redirect(c, console.RefundsPath+"?decided="+decided)
		}
		var v console.RefundsPageView
		code, args, reason := refundProblem(err)
		switch {
		case errors.Is(err, refund.ErrNotFound):
			return echo.NewHTTPError(http.StatusNotFound)
		// The refund's own words: the adjustments' said "adjustment".
		case errors.Is(err, refund.ErrOwnRequest):
			v.Refused, reason = "console.refund.own_refused", "own request"
		case errors.Is(err, refund.ErrNotDecidable):
			v.Refused, reason = "console.refund.decided_before", "already decided"
		case code != "":
			v.Refused, v.RefusedArgs = code, args
		default:
			return err
		}
		if err := s.record(c, nil, audit.Entry{Action: action, ObjectKind: "refund",
			ObjectID: strconv.FormatInt(id, 10), Detail: reason}); err != nil {
			return err
		}
		return s.refundsPage(c, http.StatusConflict, v)
	}
}
