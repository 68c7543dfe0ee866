package ops

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"im2pay/audit"
	"im2pay/problem"
	"im2pay/staff"
	"im2pay/views/components"
	"im2pay/views/console"
)

// staffRoutes are the admin's: staff accounts.
func (s *Server) staffRoutes(g *echo.Group) {
	g.GET("/staff", s.staffPage, need(staff.ManageStaff))
	g.POST("/staff", s.addStaff, need(staff.ManageStaff))
	g.POST("/staff/:name/disable", s.disableStaff, need(staff.ManageStaff))
}

func (s *Server) staffView(c echo.Context) (console.StaffView, error) {
	members, err := s.d.Staff.List(ctx(c))
	if err != nil {
		return console.StaffView{}, err
	}
	v := console.StaffView{CSRF: csrfToken(c)}
	for _, r := range staff.Roles {
		v.Roles = append(v.Roles, string(r))
	}
	for _, m := range members {
		v.Lines = append(v.Lines, console.StaffLine{Name: m.Name, Role: string(m.Role), Enrolled: m.Enrolled(),
			Disabled: m.DisabledAt.Valid, Created: m.CreatedAt})
	}
	return v, nil
}

func (s *Server) staffPage(c echo.Context) error {
	v, err := s.staffView(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, console.Staff(v))
}

// addStaff creates a member and shows the one-time password on this
// answer only: it is never stored in clear, nor sent again.
func (s *Server) addStaff(c echo.Context) error {
	role := staff.Role(c.FormValue("role"))
	if !role.Valid() {
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	m, pw, err := s.d.Staff.Add(ctx(c), staff.NormalizeName(c.FormValue("name")), role)
	if errors.Is(err, staff.ErrBadName) {
		v, verr := s.staffView(c)
		if verr != nil {
			return verr
		}
		v.Problems = components.Problems{"": problem.New("", "ops.staff.name_invalid")}
		return s.render(c, http.StatusUnprocessableEntity, console.Staff(v))
	}
	if err != nil {
		return err
	}
	if err := s.record(c, nil, audit.Entry{Action: "staff.add", ObjectKind: "staff", ObjectID: m.Name,
		After: map[string]any{"role": m.Role}}); err != nil {
		return err
	}
	v, err := s.staffView(c)
	if err != nil {
		return err
	}
	v.NewName, v.NewPassword = m.Name, pw
	return s.render(c, http.StatusOK, console.Staff(v))
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
	return redirect(c, "/ops/staff?done=ops.staff.disabled")
}
