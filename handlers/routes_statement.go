package handlers

import "github.com/labstack/echo/v4"

// statementRoutes registers the routes of the CSV export and the monthly
// summary, beside the history page they complete.
func (s *Server) statementRoutes(e *echo.Echo) {
	e.GET("/history/export.csv", s.exportStatement, s.requireLogin)
	e.GET("/history/summary", s.statementSummary, s.requireLogin)
	e.GET("/history/links", s.statementLinks, s.requireLogin)
}
