package ops

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"im2pay/audit"
	"im2pay/db"
	"im2pay/recharge"
	"im2pay/staff"
	"im2pay/views/components"
	"im2pay/views/console"
	"im2pay/views/i18n"
)

// exportWriteWindow is how long one page of the orders export may take to
// reach the client; renewed as the file goes, so a long export outlives
// the server's WriteTimeout while a client that stops reading is cut off.
const exportWriteWindow = time.Minute

// utf8BOM opens the CSV so spreadsheet programs read the Chinese as UTF-8.
const utf8BOM = "\uFEFF"

// orderRoutes are the order search, its export, the order page with the
// provider timeline, and 补单.
func (s *Server) orderRoutes(g *echo.Group) {
	g.GET("/orders", s.orders, need(staff.View))
	g.GET("/orders.csv", s.ordersCSV, need(staff.View))
	g.GET("/orders/:no", s.order, need(staff.View))
	g.POST("/orders/:no/requery", s.requery, need(staff.Requery))
}

// hasSearch says the form was submitted: a bare /ops/orders shows the
// form alone rather than every order of the site.
func hasSearch(q recharge.OrderQuery) bool {
	return q != (recharge.OrderQuery{})
}

// orders is the search page; an htmx request gets the results alone. A
// refused field re-renders the form with its message (422), and nothing
// is searched, so a filter that was not applied never reads as "none".
func (s *Server) orders(c echo.Context) error {
	q := console.QueryFromURL(c.QueryParams())
	v := console.OrdersView{Query: q}
	if !hasSearch(q) {
		return s.render(c, http.StatusOK, console.Orders(v))
	}
	f, err := s.d.Recharge.ParseOrderQuery(q)
	if err != nil {
		problems, ok := components.ProblemsOf(err)
		if !ok {
			return err
		}
		v.Problems = problems
		// The whole form, even to htmx: the message belongs beside its field.
		c.Request().Header.Del("HX-Request")
		return s.render(c, http.StatusUnprocessableEntity, console.Orders(v))
	}
	page, err := s.d.Recharge.SearchOrders(ctx(c), f)
	if err != nil {
		return fmt.Errorf("ops order search: %w", err)
	}
	if err := s.record(c, nil, audit.Entry{Action: "order.search", ObjectKind: "order",
		Detail: truncate(console.SearchQuery(q).Encode(), 2000)}); err != nil {
		return err
	}
	v.Page, v.Filter = &page, f
	if c.Request().Header.Get("HX-Request") == "true" && c.Request().Header.Get("HX-Boosted") != "true" {
		return s.render(c, http.StatusOK, console.OrdersResults(v))
	}
	return s.render(c, http.StatusOK, console.Orders(v))
}

// ordersCSV streams the whole search as CSV, page by page. A failure
// before the first byte is an error page; one midway breaks the download
// (abortExport), so a short file never passes for a whole one.
func (s *Server) ordersCSV(c echo.Context) error {
	q := console.QueryFromURL(c.QueryParams())
	q.Before = ""
	f, err := s.d.Recharge.ParseOrderQuery(q)
	if err != nil {
		problems, ok := components.ProblemsOf(err)
		if !ok {
			return err
		}
		return s.render(c, http.StatusUnprocessableEntity, console.Orders(console.OrdersView{Query: q, Problems: problems}))
	}
	// The line is written before the file: an export is a copy of
	// people's data leaving the console, and must be on record even if
	// the download is cut.
	if err := s.record(c, nil, audit.Entry{Action: "order.export", ObjectKind: "order",
		Detail: truncate(console.SearchQuery(q).Encode(), 2000)}); err != nil {
		return err
	}
	header := make([]string, len(recharge.OrderCSVColumns))
	for i, k := range recharge.OrderCSVColumns {
		header[i] = i18n.T(ctx(c), k)
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="im2pay-orders-`+s.d.Now().In(i18n.Location(ctx(c))).Format("20060102-150405")+`.csv"`)
	h.Set("Cache-Control", "no-store")
	c.Response().WriteHeader(http.StatusOK)
	w := &deadlineWriter{c: c, rc: http.NewResponseController(c.Response())}
	_ = w.rc.SetWriteDeadline(time.Now().Add(exportWriteWindow))
	if _, err := w.Write([]byte(utf8BOM)); err != nil {
		s.abortExport(c, err)
	}
	if err := s.d.Recharge.WriteOrdersCSV(ctx(c), w, f, header); err != nil {
		s.abortExport(c, err)
	}
	if err := w.rc.Flush(); err != nil {
		s.abortExport(c, err)
	}
	return nil
}

// deadlineWriter sends each chunk the CSV writer flushes at once and
// renews the write deadline, so memory stays one page however long the file.
type deadlineWriter struct {
	c  echo.Context
	rc *http.ResponseController
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	n, err := w.c.Response().Write(p)
	if err != nil {
		return n, err
	}
	if err := w.rc.Flush(); err != nil {
		return n, err
	}
	_ = w.rc.SetWriteDeadline(time.Now().Add(exportWriteWindow))
	return n, nil
}

// abortExport ends an export that failed halfway by breaking the
// connection (as the person's statement export does): a clean end would
// hand over a shorter file that looks complete. The recover middleware
// lets http.ErrAbortHandler through to net/http, which drops the
// connection quietly.
func (s *Server) abortExport(c echo.Context, err error) {
	if c.Request().Context().Err() == nil {
		s.log.ErrorContext(ctx(c), "orders export failed midway", "err", err)
	}
	panic(http.ErrAbortHandler)
}

// notFound is the console's 404 page.
func (s *Server) notFound(c echo.Context) error {
	return s.render(c, http.StatusNotFound, console.NotFound())
}

// order is the order page: amounts, state changes, the provider timeline,
// the ledger transactions, the person's other orders.
func (s *Server) order(c echo.Context) error {
	no := c.Param("no")
	t, err := s.d.Recharge.OrderTimeline(ctx(c), no)
	if errors.Is(err, db.ErrNotFound) {
		return s.notFound(c)
	}
	if err != nil {
		return fmt.Errorf("ops order %q: %w", no, err)
	}
	if err := s.record(c, nil, audit.Entry{Action: "order.view", ObjectKind: "order", ObjectID: no}); err != nil {
		return err
	}
	v := s.orderView(c, t, nil)
	if v.Refund != nil {
		v.Refund.Notice = refundNotice(c.QueryParam("refund"))
	}
	return s.render(c, http.StatusOK, console.Order(v))
}

func (s *Server) orderView(c echo.Context, t recharge.Timeline, a *recharge.Answer) console.OrderView {
	return console.OrderView{Timeline: t, Answer: a, CanRequery: s.member(c).Can(staff.Requery), CSRF: csrfToken(c),
		Refund: s.refundPanel(c, t.Order.Order)}
}

// orderState is an order as the audit log keeps it before and after 补单.
type orderState struct {
	State           string `json:"state"`
	FailReason      string `json:"fail_reason,omitempty"`
	ProviderTradeNo string `json:"provider_trade_no,omitempty"`
	Credited        int64  `json:"credited_fen"`
}

// requery is 补单: recharge.Requery asks the provider and credits only
// what it says is paid, through the one crediting function; a second
// 补单 of a credited order moves nothing. The audit line keeps the order
// before and after and what the provider said. htmx gets the answer
// partial; a plain form gets the whole page.
func (s *Server) requery(c echo.Context) error {
	no := c.Param("no")
	before, err := s.d.Recharge.OrderTimeline(ctx(c), no)
	if errors.Is(err, db.ErrNotFound) {
		return s.notFound(c)
	}
	if err != nil {
		return fmt.Errorf("ops requery %q: %w", no, err)
	}
	_, answer, err := s.d.Recharge.Requery(ctx(c), no)
	if err != nil {
		return fmt.Errorf("ops requery %q: %w", no, err)
	}
	if before.Order.State == recharge.OrderPaid && answer.Said == recharge.OrderPaid {
		// Said apart from a credit just made: this 补单 moved nothing.
		answer.Said = "already_paid"
	}
	if answer.Err != nil {
		s.log.WarnContext(ctx(c), "requery: provider not reachable", "order", no, "err", answer.Err)
	}
	after, err := s.d.Recharge.OrderTimeline(ctx(c), no)
	if err != nil {
		return fmt.Errorf("ops requery %q: %w", no, err)
	}
	said := map[string]any{"said": answer.Said, "provider_status": string(answer.Provider.Status),
		"provider_trade_no": answer.Provider.TradeNo}
	if err := s.record(c, nil, audit.Entry{Action: "order.requery", ObjectKind: "order", ObjectID: no,
		Before: stateOf(before), After: map[string]any{"order": stateOf(after), "provider": said}}); err != nil {
		return err
	}
	v := s.orderView(c, after, &answer)
	if c.Request().Header.Get("HX-Request") == "true" && c.Request().Header.Get("HX-Boosted") != "true" {
		return s.render(c, http.StatusOK, console.OrderAnswer(v))
	}
	return s.render(c, http.StatusOK, console.Order(v))
}

func stateOf(t recharge.Timeline) orderState {
	return orderState{State: t.Order.State, FailReason: t.Order.FailReason,
		ProviderTradeNo: t.Order.ProviderTradeNo.String, Credited: t.Credited()}
}
