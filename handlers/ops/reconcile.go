package ops

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"im2pay/audit"
	"im2pay/db"
	"im2pay/payment"
	"im2pay/reconcile"
	"im2pay/staff"
	"im2pay/views/console"
)

// reconcileRoutes are the daily reconciliation's reports: the list, a
// report with its CSV, running a day (again) and resolving a difference.
func (s *Server) reconcileRoutes(g *echo.Group) {
	g.GET("/reconcile", s.reconcileList, need(staff.View))
	g.POST("/reconcile/run", s.reconcileRun, need(staff.Reconcile))
	g.GET("/reconcile/:id", s.reconcileReport, need(staff.View))
	g.GET("/reconcile/:id/csv", s.reconcileCSV, need(staff.View))
	g.POST("/reconcile/differences/:id/resolve", s.reconcileResolve, need(staff.ResolveDifference))
}

func (s *Server) reconcileListView(c echo.Context) (console.ReconcileListView, error) {
	v := console.ReconcileListView{CanRun: s.member(c).Can(staff.Reconcile)}
	if s.d.Reconcile == nil {
		return v, nil
	}
	for _, m := range s.d.Reconcile.Methods() {
		v.Methods = append(v.Methods, string(m))
	}
	list, err := s.d.Reconcile.Reports(ctx(c), 200)
	if err != nil {
		return v, err
	}
	for _, r := range list {
		v.Reports = append(v.Reports, reconcileRow(r))
	}
	return v, nil
}

func reconcileRow(r reconcile.Report) console.ReconcileRow {
	row := console.ReconcileRow{ID: r.ID, Method: r.Method, Day: r.Day, Counts: r.Counts, Totals: r.Totals, Open: r.Open,
		Fees: r.FeesBooked, RanAt: r.UpdatedAt}
	row.BillSum.Count, row.BillSum.Gross, row.BillSum.Refund, row.BillSum.Fees = r.BillCount, r.BillGross, r.BillRefund, r.BillFees
	return row
}

// reconcileList lists the reports, newest day first, with the run form.
func (s *Server) reconcileList(c echo.Context) error {
	v, err := s.reconcileListView(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, console.ReconcileList(csrfToken(c), v))
}

// reconcileRun runs (or runs again) one method's day, at most yesterday:
// the provider has no bill of a day not over. The audit line records who
// asked and what was found.
func (s *Server) reconcileRun(c echo.Context) error {
	method, typed := truncate(c.FormValue("method"), 16), truncate(c.FormValue("day"), 16)
	refuse := func(code, detail string) error {
		if err := s.record(c, nil, audit.Entry{Action: "reconcile.run_refused", ObjectKind: "reconcile",
			ObjectID: method + " " + typed, Detail: detail}); err != nil {
			return err
		}
		v, err := s.reconcileListView(c)
		if err != nil {
			return err
		}
		v.Method, v.Day, v.Problem = method, typed, code
		return s.render(c, http.StatusUnprocessableEntity, console.ReconcileList(csrfToken(c), v))
	}
	if s.d.Reconcile == nil {
		return refuse("ops.reconcile.problem.no_biller", "no reconciliation")
	}
	day, err := time.ParseInLocation(time.DateOnly, typed, reconcile.Beijing())
	if err != nil || !day.Before(s.d.Reconcile.Day(payment.Method(method), s.d.Now())) {
		return refuse("ops.reconcile.problem.bad_input", "bad day")
	}
	r, err := s.d.Reconcile.Run(ctx(c), payment.Method(method), day)
	switch {
	case errors.Is(err, reconcile.ErrNoBiller):
		return refuse("ops.reconcile.problem.no_biller", "no biller")
	case errors.Is(err, reconcile.ErrNotReady):
		return refuse("ops.reconcile.problem.not_ready", "not ready")
	case err != nil:
		s.log.WarnContext(ctx(c), "ops reconcile run", "method", method, "day", typed, "err", err)
		return refuse("ops.reconcile.problem.bill_error", truncate(err.Error(), 500))
	}
	if err := s.record(c, nil, audit.Entry{Action: "reconcile.run", ObjectKind: "reconcile_report",
		ObjectID: strconv.FormatInt(r.ID, 10), After: map[string]any{"counts": r.Counts, "totals": r.Totals}}); err != nil {
		return err
	}
	return redirect(c, console.ReconcileReportPath(r.ID)+"?done=ops.reconcile.done.run")
}

// report loads the report named by :id; ok false when it answered 404.
func (s *Server) report(c echo.Context) (reconcile.Report, []reconcile.Difference, bool, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || s.d.Reconcile == nil {
		return reconcile.Report{}, nil, false, s.notFound(c)
	}
	r, err := s.d.Reconcile.Report(ctx(c), id)
	if errors.Is(err, db.ErrNotFound) {
		return r, nil, false, s.notFound(c)
	}
	if err != nil {
		return r, nil, false, err
	}
	diffs, err := s.d.Reconcile.Differences(ctx(c), id)
	return r, diffs, err == nil, err
}

func (s *Server) reportView(c echo.Context, r reconcile.Report, diffs []reconcile.Difference) console.ReconcileReportView {
	m := s.member(c)
	v := console.ReconcileReportView{Report: reconcileRow(r), CanRun: m.Can(staff.Reconcile), CanResolve: m.Can(staff.ResolveDifference)}
	for _, d := range diffs {
		row := console.ReconcileDiff{ID: d.ID, Class: d.Class, Detail: d.Detail, OutTradeNo: d.OutTradeNo, TradeNo: d.TradeNo,
			RequestNo: d.RequestNo, RefundID: d.RefundID, Credited: d.Credited, Resolved: d.Resolved(),
			ResolvedBy: d.ResolverName.String, Note: d.Note, ResolvedAt: d.ResolvedAt.Time}
		if d.Ours.Valid {
			row.Ours = console.ReconcileAmount(d.Ours.Int64, d.OursCurrency)
		}
		if d.Theirs.Valid {
			row.Theirs = console.ReconcileAmount(d.Theirs.Int64, d.TheirsCurrency)
		}
		v.Diffs = append(v.Diffs, row)
	}
	return v
}

// reconcileReport is one report: counts and totals per class, the
// differences, each with its resolution or the form to resolve it.
func (s *Server) reconcileReport(c echo.Context) error {
	r, diffs, ok, err := s.report(c)
	if !ok {
		return err
	}
	return s.render(c, http.StatusOK, console.ReconcileReport(csrfToken(c), s.reportView(c, r, diffs)))
}

// reconcileCSV downloads a report: the classes, then one row per difference.
func (s *Server) reconcileCSV(c echo.Context) error {
	r, diffs, ok, err := s.report(c)
	if !ok {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="im2pay-reconcile-%s-%s.csv"`, r.Method, r.Day.Format("20060102")))
	c.Response().WriteHeader(http.StatusOK)
	if _, err := c.Response().Write([]byte(utf8BOM)); err != nil {
		return err
	}
	return reconcile.WriteCSV(c.Response(), r, diffs)
}

// reconcileResolve closes a difference with finance's note; the service
// appends the audit line in the same transaction.
func (s *Server) reconcileResolve(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || s.d.Reconcile == nil {
		return s.notFound(c)
	}
	note := truncate(c.FormValue("note"), 4000)
	d, err := s.d.Reconcile.Resolve(ctx(c), id, s.member(c).ID, note, s.Entry(c, audit.Entry{}))
	var code string
	switch {
	case err == nil:
		return redirect(c, console.ReconcileReportPath(d.ReportID)+"?done=ops.reconcile.done.resolved")
	case errors.Is(err, db.ErrNotFound):
		return s.notFound(c)
	case errors.Is(err, reconcile.ErrNote):
		code = "ops.reconcile.problem.note"
	case errors.Is(err, reconcile.ErrResolved):
		code = "ops.reconcile.problem.resolved"
	default:
		return err
	}
	d, err = s.d.Reconcile.Difference(ctx(c), id)
	if errors.Is(err, db.ErrNotFound) {
		return s.notFound(c)
	}
	if err != nil {
		return err
	}
	c.SetParamValues(strconv.FormatInt(d.ReportID, 10))
	r, diffs, ok, err := s.report(c)
	if !ok {
		return err
	}
	v := s.reportView(c, r, diffs)
	v.Problem, v.ProblemDiff = code, id
	return s.render(c, http.StatusUnprocessableEntity, console.ReconcileReport(csrfToken(c), v))
}
