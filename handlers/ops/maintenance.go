package ops

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"im2pay/audit"
	"im2pay/problem"
	"im2pay/recharge"
	"im2pay/staff"
	"im2pay/views/components"
	"im2pay/views/console"
	"im2pay/views/i18n"
)

// maintenanceRoutes are the switches, per method and for all. Everyone
// reads them; operators turn them on and off.
func (s *Server) maintenanceRoutes(g *echo.Group) {
	g.GET("/maintenance", s.maintenance, need(staff.View))
	g.POST("/maintenance", s.maintenanceOn, need(staff.Maintain))
	g.POST("/maintenance/off", s.maintenanceOff, need(staff.Maintain))
	g.POST("/maintenance/all-off", s.maintenanceAllOff, need(staff.Maintain))
}

func (s *Server) maintenanceView(c echo.Context) (console.MaintenanceView, error) {
	on, err := s.d.Recharge.Maintenances(ctx(c))
	if err != nil {
		return console.MaintenanceView{}, fmt.Errorf("ops maintenance: %w", err)
	}
	return console.MaintenanceView{Switches: console.MaintenanceSwitches(on),
		CanEdit: s.member(c).Can(staff.Maintain), CSRF: csrfToken(c)}, nil
}

func (s *Server) maintenance(c echo.Context) error {
	v, err := s.maintenanceView(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, console.Maintenance(v))
}

// maintenanceOn turns a switch on, or changes its notice and expected
// end; a refused form comes back as typed with its message (422).
func (s *Server) maintenanceOn(c echo.Context) error {
	form := console.MaintenanceSwitch{Key: truncate(c.FormValue("method"), 32),
		Message: c.FormValue("message"), MessageEN: c.FormValue("message_en")}
	until, err := parseUntil(c, strings.TrimSpace(c.FormValue("until")))
	var ch recharge.MaintenanceChange
	if err == nil {
		form.Until = until
		ch, err = s.d.Recharge.SwitchMaintenanceOn(ctx(c), form.Key, recharge.Notice{ZH: form.Message, EN: form.MessageEN}, until)
	}
	if err != nil {
		return s.maintenanceRefused(c, err, &form)
	}
	if err := s.record(c, nil, audit.Entry{Action: "maintenance.on", ObjectKind: "maintenance", ObjectID: ch.Method,
		Before: ch.Before, After: ch.After}); err != nil {
		return err
	}
	return redirect(c, console.MaintenancePath)
}

// parseUntil reads the form's expected end, a datetime-local in the
// console's zone ("" is "end unknown").
func parseUntil(c echo.Context, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(console.MaintenanceUntilLayout, v, i18n.Location(ctx(c)))
	if err != nil || t.Year() < 2000 || t.Year() > 9999 {
		return time.Time{}, problem.New("until", "ops.maintenance.err.until")
	}
	return t, nil
}

// maintenanceOff lifts one switch ("all" is its own switch: a method
// closed on its own stays closed).
func (s *Server) maintenanceOff(c echo.Context) error {
	ch, err := s.d.Recharge.SwitchMaintenanceOff(ctx(c), truncate(c.FormValue("method"), 32))
	if err != nil {
		return s.maintenanceRefused(c, err, nil)
	}
	if err := s.record(c, nil, audit.Entry{Action: "maintenance.off", ObjectKind: "maintenance", ObjectID: ch.Method,
		Before: ch.Before, After: ch.After}); err != nil {
		return err
	}
	return redirect(c, console.MaintenancePath)
}

// maintenanceAllOff lifts every switch, "all" and each method's, and
// audits each one that was on.
func (s *Server) maintenanceAllOff(c echo.Context) error {
	chs, err := s.d.Recharge.ClearAllMaintenance(ctx(c))
	if err != nil {
		return fmt.Errorf("ops maintenance all off: %w", err)
	}
	before := make([]*recharge.Maintenance, 0, len(chs))
	for _, ch := range chs {
		before = append(before, ch.Before)
	}
	if err := s.record(c, nil, audit.Entry{Action: "maintenance.all_off", ObjectKind: "maintenance", ObjectID: "all",
		Before: before, After: []*recharge.Maintenance{}}); err != nil {
		return err
	}
	return redirect(c, console.MaintenancePath)
}

// maintenanceRefused is the page again with what was wrong, in the staff
// member's language; anything but a Problem is a server error.
func (s *Server) maintenanceRefused(c echo.Context, err error, form *console.MaintenanceSwitch) error {
	problems, ok := components.ProblemsOf(err)
	if !ok {
		return fmt.Errorf("ops maintenance: %w", err)
	}
	v, verr := s.maintenanceView(c)
	if verr != nil {
		return verr
	}
	v.Problems, v.Form = problems, form
	return s.render(c, http.StatusUnprocessableEntity, console.Maintenance(v))
}
