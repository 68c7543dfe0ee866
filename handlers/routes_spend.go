package handlers

import "github.com/labstack/echo/v4"

// spendRoutes registers the routes of the shop, events and the shortfall top-up.
func (s *Server) spendRoutes(e *echo.Echo) {}
