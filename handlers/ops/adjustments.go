package ops

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"im2pay/adjust"
	"im2pay/audit"
	"im2pay/staff"
	"im2pay/views/components"
	"im2pay/views/console"
	"im2pay/wallet"
)

// adjustRoutes are support's wallet adjustments: the request form and the
// requests waiting for a second staff member (four eyes).
func (s *Server) adjustRoutes(g *echo.Group) {
	g.GET("/adjustments", s.adjustments, need(staff.View))
	g.POST("/adjustments", s.requestAdjustment, need(staff.Adjust))
	g.POST("/adjustments/:id/approve", s.decideAdjustment(true), need(staff.Approve))
	g.POST("/adjustments/:id/reject", s.decideAdjustment(false), need(staff.Approve))
}

// pendingShown is how many waiting requests the page lists.
const pendingShown = 100

// Where a request or a decision sends the browser: the page says what
// happened (?done= on a request, ?decided= on a decision).
var (
	requestDone = map[string]string{adjust.StatePosted: "console.adjust.posted",
		adjust.StateRequested: "console.adjust.requested"}
	decisionDone = map[string]string{"approved": "console.adjust.approved", "rejected": "console.adjust.rejected"}
)

// adjustments shows the form (prefilled with ?user=<username>, as the
// person's page links to it) and the requests waiting for approval.
func (s *Server) adjustments(c echo.Context) error {
	v := console.AdjustPageView{Form: console.AdjustFormView{User: field(c, "user", 64), Direction: "credit"}}
	v.Form.Notice = requestDone[c.QueryParam("done")]
	v.Decided = decisionDone[c.QueryParam("decided")]
	return s.adjustPage(c, http.StatusOK, v)
}

// adjustPage renders v with the threshold and the waiting requests.
func (s *Server) adjustPage(c echo.Context, status int, v console.AdjustPageView) error {
	v.Form.Threshold = s.d.Adjust.ApprovalAbove()
	if v.Form.RequestKey == "" {
		v.Form.RequestKey = formKey()
	}
	pending, err := s.d.Adjust.Pending(ctx(c), pendingShown)
	if err != nil {
		return err
	}
	me := s.member(c).ID
	for _, a := range pending {
		v.Pending = append(v.Pending, console.PendingAdjustment{ID: a.ID, Username: a.Username,
			Credit: a.Direction == adjust.Credit, Amount: a.Amount, Reason: a.Reason, Ticket: a.Ticket,
			RequesterName: a.RequesterName, RequestedAt: a.RequestedAt, Own: a.RequestedBy == me})
	}
	return s.render(c, status, console.AdjustPage(csrfToken(c), v))
}

// requestAdjustment asks for an adjustment: posted at once at or below the
// threshold, waiting for a second member above it. The service appends
// the audit line in the adjustment's transaction; a refused debit gets a
// line of its own.
func (s *Server) requestAdjustment(c echo.Context) error {
	f := console.AdjustFormView{User: c.FormValue("user"), Direction: c.FormValue("direction"),
		Amount: c.FormValue("amount"), Reason: c.FormValue("reason"), Ticket: c.FormValue("ticket"),
		RequestKey: truncate(c.FormValue("request_key"), 64)}
	a, err := s.d.Adjust.Request(ctx(c), adjust.Request{Username: f.User, Direction: f.Direction, Amount: f.Amount,
		Reason: f.Reason, Ticket: f.Ticket, StaffID: s.member(c).ID, RequestKey: f.RequestKey}, s.entry(c))
	if err == nil {
		return redirect(c, console.AdjustPath+"?done="+a.State)
	}
	var short *adjust.Shortfall
	if errors.As(err, &short) {
		if err := s.record(c, nil, audit.Entry{Action: "adjustment.request_refused", ObjectKind: "user",
			ObjectID: truncate(f.User, 128), Detail: "shortfall " + short.Missing().String(),
			After: map[string]any{"direction": f.Direction, "amount": short.Amount, "balance": short.Balance}}); err != nil {
			return err
		}
		f.Problems = components.Problems{"amount": wallet.NewProblem("amount", "console.adjust.shortfall",
			short.Missing().String())}
	} else if f.Problems, _ = components.ProblemsOf(err); len(f.Problems) == 0 {
		return err
	}
	// htmx swaps the form alone (its hx-target); a plain post gets the page.
	if c.Request().Header.Get("HX-Request") == "true" {
		f.Threshold = s.d.Adjust.ApprovalAbove()
		return s.render(c, http.StatusUnprocessableEntity, console.AdjustForm(csrfToken(c), f))
	}
	return s.adjustPage(c, http.StatusUnprocessableEntity, console.AdjustPageView{Form: f})
}

// decideAdjustment approves (posts) or rejects a waiting request as the
// member's decision. The asker's own decision, a request decided before
// and a debit the wallet no longer covers are refused with the reason on
// the page and in the audit log; an id that is no adjustment is 404.
func (s *Server) decideAdjustment(approve bool) echo.HandlerFunc {
	action, decided := "adjustment.reject_refused", "rejected"
	if approve {
		action, decided = "adjustment.approve_refused", "approved"
	}
	return func(c echo.Context) error {
		id, err := strconv.ParseInt(c.Param("id"), 10, 64)
		if err != nil || id <= 0 {
			return echo.NewHTTPError(http.StatusNotFound)
		}
		decide := s.d.Adjust.Reject
		if approve {
			decide = s.d.Adjust.Approve
		}
		_, err = decide(ctx(c), id, s.member(c).ID, s.entry(c))
		if err == nil {
			return redirect(c, console.AdjustPath+"?decided="+decided)
		}
		var (
			short  *adjust.Shortfall
			v      console.AdjustPageView
			reason string
		)
		switch {
		case errors.Is(err, adjust.ErrNotFound):
			return echo.NewHTTPError(http.StatusNotFound)
		case errors.Is(err, adjust.ErrOwnRequest):
			v.Refused, reason = "console.adjust.own_refused", "own request"
		case errors.Is(err, adjust.ErrAlreadyDecided):
			v.Refused, reason = "console.adjust.decided", "already decided"
		case errors.As(err, &short):
			v.Refused, v.RefusedArgs = "console.adjust.shortfall", []any{short.Missing().String()}
			reason = "shortfall " + short.Missing().String()
		default:
			return err
		}
		if err := s.record(c, nil, audit.Entry{Action: action, ObjectKind: "adjustment",
			ObjectID: strconv.FormatInt(id, 10), Detail: reason}); err != nil {
			return err
		}
		v.Form = console.AdjustFormView{Direction: "credit"}
		return s.adjustPage(c, http.StatusConflict, v)
	}
}
