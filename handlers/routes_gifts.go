package handlers

import "github.com/labstack/echo/v4"

// giftRoutes registers the routes of gifts.
func (s *Server) giftRoutes(e *echo.Echo) {}
