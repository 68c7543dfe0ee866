package ops

import (
	"github.com/labstack/echo/v4"

	"im2pay/audit"
)

// entry is the template of an audit line a domain service appends itself,
// inside the transaction of its action (adjust, redeem): who, when and
// from where, filled in as record fills them. The service sets the
// action, the object and the values.
func (s *Server) entry(c echo.Context) audit.Entry {
	m := s.member(c)
	return audit.Entry{At: s.d.Now(), StaffID: m.ID, StaffName: truncate(m.Name, 64),
		ClientIP: truncate(c.RealIP(), 64)}
}
