package ops

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"im2pay/audit"
	"im2pay/staff"
	"im2pay/views/console"
)

func (s *Server) auditRoutes(g *echo.Group) {
	g.GET("/audit", s.auditPage, need(staff.View))
}

// auditPageSize is how many lines one page of the audit log shows.
const auditPageSize = 50

// auditPage lists the audit log, filtered by staff, action and object,
// newest first, a keyset page at a time (?before=<id>).
func (s *Server) auditPage(c echo.Context) error {
	f := audit.Filter{
		StaffName:  field(c, "staff", 64),
		Action:     field(c, "action", 64),
		ObjectKind: field(c, "object_kind", 32),
		ObjectID:   field(c, "object_id", 128),
		Limit:      auditPageSize + 1,
	}
	if b := c.QueryParam("before"); b != "" {
		id, err := strconv.ParseInt(b, 10, 64)
		if err != nil || id <= 0 {
			return echo.NewHTTPError(http.StatusBadRequest)
		}
		f.Before = id
	}
	// Reading the log is a search like any other, and recorded as one.
	if err := s.record(c, nil, audit.Entry{Action: "audit.search", Detail: truncate(c.QueryString(), 2000)}); err != nil {
		return err
	}
	lines, err := audit.List(ctx(c), s.d.DB, f)
	if err != nil {
		return err
	}
	v := console.AuditView{Staff: f.StaffName, Action: f.Action, ObjectKind: f.ObjectKind, ObjectID: f.ObjectID}
	if len(lines) > auditPageSize {
		lines = lines[:auditPageSize]
		q := url.Values{"before": {strconv.FormatInt(lines[len(lines)-1].ID, 10)}}
		for k, val := range map[string]string{"staff": f.StaffName, "action": f.Action, "object_kind": f.ObjectKind, "object_id": f.ObjectID} {
			if val != "" {
				q.Set(k, val)
			}
		}
		v.Older = "/ops/audit?" + q.Encode()
	}
	for _, l := range lines {
		v.Lines = append(v.Lines, console.AuditLine{ID: l.ID, At: l.At, Staff: l.StaffName, Address: l.ClientIP,
			Action: l.Action, ObjectKind: l.ObjectKind, ObjectID: l.ObjectID, Before: jsonText(l.Before),
			After: jsonText(l.After), Detail: l.Detail})
	}
	return s.render(c, http.StatusOK, console.Audit(v))
}

// field is a query parameter trimmed and cut to the column's length.
func field(c echo.Context, name string, n int) string {
	return truncate(strings.TrimSpace(c.QueryParam(name)), n)
}

func jsonText(raw []byte) string {
	if s := string(raw); s != "null" {
		return s
	}
	return ""
}
