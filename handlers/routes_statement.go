package handlers

import "github.com/labstack/echo/v4"

// statementRoutes registers the routes of the CSV export and the monthly summary.
func (s *Server) statementRoutes(e *echo.Echo) {}
