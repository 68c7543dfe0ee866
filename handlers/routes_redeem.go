package handlers

import "github.com/labstack/echo/v4"

// redeemRoutes registers the person's redemption code page (兑换码) in the
// account center: the form, and redeeming a code.
func (s *Server) redeemRoutes(e *echo.Echo) {
	e.GET("/account/redeem", s.redeemPage, s.requireLogin)
	e.POST("/account/redeem", s.redeemCode, s.requireLogin)
}
