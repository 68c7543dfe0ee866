package ops

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"im2pay/audit"
	"im2pay/staff"
)

// staffRoutes are the admin's actions on staff accounts.
func (s *Server) staffRoutes(g *echo.Group) {
	g.POST("/staff/:name/disable", s.disableStaff, need(staff.ManageStaff))
}

// disableStaff shuts a member out at once: their sessions end with it.
func (s *Server) disableStaff(c echo.Context) error {
	name := c.Param("name")
	m, err := s.d.Staff.Disable(ctx(c), name)
	if errors.Is(err, staff.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if err != nil {
		return err
	}
	if err := s.record(c, nil, audit.Entry{Action: "staff.disable", ObjectKind: "staff", ObjectID: m.Name,
		After: map[string]any{"disabled_at": m.DisabledAt.Time}}); err != nil {
		return err
	}
	return redirect(c, "/ops?done=ops.staff.disabled")
}
