package ops

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"im2pay/staff"
)

func (s *Server) auditRoutes(g *echo.Group) {
	g.GET("/audit", s.auditPage, need(staff.View))
}

func (s *Server) auditPage(c echo.Context) error {
	return c.String(http.StatusOK, "audit")
}
