package handlers

import "github.com/labstack/echo/v4"

// spendRoutes registers the routes of the shop, events and settings.
func (s *Server) spendRoutes(e *echo.Echo) {
	e.GET("/shop", s.shop, s.requireLogin)
	e.POST("/shop/buy", s.buyProduct, s.requireLogin)
	e.GET("/events", s.events, s.requireLogin)
	e.POST("/events/buy", s.buyBundle, s.requireLogin)
	e.GET("/account/settings", s.settingsPage, s.requireLogin)
	e.POST("/account/settings", s.saveSettings, s.requireLogin)
	e.POST("/account/sessions/end-others", s.endOtherSessions, s.requireLogin)
	e.POST("/account/sessions/:id/end", s.endSession, s.requireLogin)
}
