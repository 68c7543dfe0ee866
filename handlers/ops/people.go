package ops

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"im2pay/audit"
	"im2pay/db"
	"im2pay/staff"
	"im2pay/views/components"
	"im2pay/views/console"
)

// peopleRoutes are the person lookup, the person page, and "end all
// sessions" (a hijacked account): operators and finance may end them.
func (s *Server) peopleRoutes(g *echo.Group) {
	g.GET("/people", s.peopleLookup, need(staff.View))
	g.GET("/people/:id", s.person, need(staff.View))
	g.POST("/people/:id/sessions/end", s.endSessions, need(staff.EndSessions))
}

// peopleLookup finds a person by name or id and sends the browser to their
// page, where the view is audited; an unknown one is the form with the
// message, in the staff member's language.
func (s *Server) peopleLookup(c echo.Context) error {
	who := truncate(strings.TrimSpace(c.QueryParam("who")), 64)
	v := s.personView(c)
	v.Lookup = who
	if who == "" {
		return s.render(c, http.StatusOK, console.Person(v))
	}
	p, err := s.d.People.Find(ctx(c), who)
	if err != nil {
		problems, ok := components.ProblemsOf(err)
		if !ok {
			return fmt.Errorf("ops person lookup: %w", err)
		}
		v.Problems = problems
		return s.render(c, http.StatusUnprocessableEntity, console.Person(v))
	}
	return c.Redirect(http.StatusSeeOther, console.PersonPath(p.ID))
}

// personID is the route's user id in its one spelling; anything else
// names nobody (404), never a 500.
func personID(c echo.Context) (int64, bool) {
	raw := c.Param("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	return id, err == nil && id > 0 && strconv.FormatInt(id, 10) == raw
}

// person is a person's page. Every view is audited: staff reading a
// person's data is itself on record.
func (s *Server) person(c echo.Context) error {
	id, ok := personID(c)
	if !ok {
		return s.notFound(c)
	}
	p, err := s.d.People.ByID(ctx(c), id)
	if errors.Is(err, db.ErrNotFound) {
		return s.notFound(c)
	}
	if err != nil {
		return fmt.Errorf("ops person %d: %w", id, err)
	}
	if err := s.record(c, nil, audit.Entry{Action: "person.view", ObjectKind: "user",
		ObjectID: strconv.FormatInt(id, 10), Detail: p.Username}); err != nil {
		return err
	}
	v := s.personView(c)
	v.Lookup, v.Person = p.Username, &p
	// ended is what the redirect after "end all sessions" says; only a
	// count is read from the link, shown as a count.
	if n, err := strconv.Atoi(c.QueryParam("ended")); err == nil && n >= 0 && n < 1_000_000 {
		v.Ended = &n
	}
	return s.render(c, http.StatusOK, console.Person(v))
}

func (s *Server) personView(c echo.Context) console.PersonView {
	m := s.member(c)
	return console.PersonView{CanEndSessions: m.Can(staff.EndSessions), CanAdjust: m.Can(staff.Adjust), CSRF: csrfToken(c)}
}

// endSessions logs the person out everywhere: their next request meets
// the login page. The audit line keeps how many sessions there were.
func (s *Server) endSessions(c echo.Context) error {
	id, ok := personID(c)
	if !ok {
		return s.notFound(c)
	}
	n, err := s.d.People.EndAllSessions(ctx(c), id)
	if errors.Is(err, db.ErrNotFound) {
		return s.notFound(c)
	}
	if err != nil {
		return fmt.Errorf("ops end sessions of %d: %w", id, err)
	}
	if err := s.record(c, nil, audit.Entry{Action: "person.end_sessions", ObjectKind: "user",
		ObjectID: strconv.FormatInt(id, 10), Before: map[string]int{"sessions": n},
		After: map[string]int{"sessions": 0}}); err != nil {
		return err
	}
	return redirect(c, console.PersonPath(id)+"?ended="+strconv.Itoa(n))
}
