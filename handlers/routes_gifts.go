package handlers

import "github.com/labstack/echo/v4"

// giftRoutes registers the routes of gifts: the page (catalog, send form,
// sent and received lists) and sending.
func (s *Server) giftRoutes(e *echo.Echo) {
	e.GET("/gifts", s.giftsPage, s.requireLogin)
	e.POST("/gifts", s.sendGift, s.requireLogin)
}
