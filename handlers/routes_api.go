package handlers

import "github.com/labstack/echo/v4"

// apiRoutes registers the routes of the IM backend's service API (/api/v1).
func (s *Server) apiRoutes(e *echo.Echo) {}
