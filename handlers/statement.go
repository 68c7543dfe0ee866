package handlers

import (
	"context"
	"encoding/csv"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"im2pay/statement"
	"im2pay/views/i18n"
	"im2pay/views/pages"
)

// utf8BOM opens the CSV so that spreadsheet programs read it as UTF-8 and
// show the Chinese instead of mojibake.
const utf8BOM = "\uFEFF"

// exportWriteWindow is how long one page of an export may take to reach the
// client. It is renewed page by page, so a long export outlives the server's
// WriteTimeout while a client that stops reading is still cut off.
const exportWriteWindow = time.Minute

// exportStatement streams the wallet's lines that the history filter selects
// as CSV, oldest first, one keyset page at a time: memory stays flat however
// long the statement is.
func (s *Server) exportStatement(c echo.Context) error {
	u, _ := currentUser(c)
	f, err := s.statement.ParseFilter(c.QueryParam("kind"), c.QueryParam("from"), c.QueryParam("to"), "")
	if err != nil {
		// The history page refuses the same filter and says why (422).
		return s.history(c)
	}
	ctx := c.Request().Context()
	next, stop := iter.Pull2(s.statement.Statement(ctx, u.WalletID, f))
	defer stop()
	// Read the first line before answering, so a failure to start is still
	// an error page rather than an empty file.
	line, err, more := next()
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s"`, s.exportName(f)))
	c.Response().WriteHeader(http.StatusOK)

	rc := http.NewResponseController(c.Response())
	w := csv.NewWriter(c.Response())
	_, _ = c.Response().Write([]byte(utf8BOM))
	_ = w.Write(csvHeader(ctx))
	for n := 1; more; n++ {
		if err != nil {
			s.abortExport(c, err)
		}
		_ = w.Write(csvRow(ctx, line))
		if n%statement.StatementPageSize == 0 {
			s.flushExport(c, w, rc)
		}
		line, err, more = next()
	}
	s.flushExport(c, w, rc)
	return nil
}

// flushExport sends what is buffered and renews the write deadline.
func (s *Server) flushExport(c echo.Context, w *csv.Writer, rc *http.ResponseController) {
	w.Flush()
	if err := w.Error(); err != nil {
		s.abortExport(c, err)
	}
	if err := rc.Flush(); err != nil {
		s.abortExport(c, err)
	}
	_ = rc.SetWriteDeadline(time.Now().Add(exportWriteWindow))
}

// abortExport ends a statement that failed halfway by breaking the
// connection: a clean end would hand over a shorter file that looks
// complete, and a statement must never silently lack lines. The recover
// middleware lets http.ErrAbortHandler through to net/http, which drops the
// connection quietly.
func (s *Server) abortExport(c echo.Context, err error) {
	if c.Request().Context().Err() == nil {
		s.log.ErrorContext(c.Request().Context(), "statement export failed midway", "err", err)
	}
	panic(http.ErrAbortHandler)
}

// exportName says which dates the file covers; the dates come from the parsed
// filter, so nothing the person typed reaches the header unchecked.
func (s *Server) exportName(f statement.HistoryFilter) string {
	from, to := "start", s.cfg.Now().In(s.cfg.Location).Format(statement.DateLayout)
	if !f.From.IsZero() {
		from = f.From.Format(statement.DateLayout)
	}
	if !f.To.IsZero() {
		to = f.To.Format(statement.DateLayout)
	}
	return "im2pay-statement-" + from + "-" + to + ".csv"
}

func csvHeader(ctx context.Context) []string {
	return []string{
		i18n.T(ctx, "statement.csv.time"), i18n.T(ctx, "statement.csv.kind"), i18n.T(ctx, "statement.csv.description"),
		i18n.T(ctx, "statement.csv.amount"), i18n.T(ctx, "statement.csv.balance_after"), i18n.T(ctx, "statement.csv.reference"),
	}
}

// csvRow writes amounts as plain signed numbers ("-12.50", "100.00") that a
// spreadsheet reads as numbers; every text cell is neutralised.
func csvRow(ctx context.Context, l statement.StatementLine) []string {
	return []string{
		l.At.In(i18n.Location(ctx)).Format("2006-01-02 15:04:05"),
		csvText(i18n.T(ctx, "kind."+string(l.Kind))),
		csvText(describe(ctx, l.Description)),
		l.Amount.Yuan(),
		l.BalanceAfter.Yuan(),
		csvText(l.Reference),
	}
}

// describe translates a description (see i18n.Describe); a code the
// catalog lacks is shown as it is, which is more use in a spreadsheet than
// "desc.<code>".
func describe(ctx context.Context, code string) string { return i18n.Describe(ctx, code) }

// csvText keeps a text cell from running as a formula: a spreadsheet
// evaluates a cell starting with = + - or @ (and some skip a leading tab or
// carriage return first), so such a cell gets a leading apostrophe.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// statementSummary is the monthly summary of the last twelve months, cut
// by the reader's calendar.
func (s *Server) statementSummary(c echo.Context) error {
	u, _ := currentUser(c)
	ctx := c.Request().Context()
	sum, err := s.statement.MonthlySummary(ctx, u.WalletID, i18n.Location(ctx))
	if err != nil {
		return err
	}
	page := pages.Summary(s.shell(c, "statement.summary.title", "history"), pages.SummaryView{Summary: sum})
	return render(c, http.StatusOK, page, nil)
}

// statementLinks answers the links block's htmx refresh after the history
// filter changed; without htmx there is nothing to refresh, so a plain
// visit goes to the history page with that filter.
func (s *Server) statementLinks(c echo.Context) error {
	v := pages.StatementLinksView{Kind: c.QueryParam("kind"), From: c.QueryParam("from"), To: c.QueryParam("to")}
	if !isPartial(c) {
		q := url.Values{}
		for k, val := range map[string]string{"kind": v.Kind, "from": v.From, "to": v.To} {
			if val != "" {
				q.Set(k, val)
			}
		}
		return c.Redirect(http.StatusSeeOther, strings.TrimSuffix("/history?"+q.Encode(), "?"))
	}
	return render(c, http.StatusOK, pages.StatementLinks(v), nil)
}
