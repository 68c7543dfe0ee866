package handlers

import "github.com/labstack/echo/v4"

// apiRoutes registers the routes of the IM backend's service API (/api/v1).
// It must run after routes() has set the error handler: API paths get JSON
// errors instead of error pages, including the errors of the middleware
// that runs before any handler (body limit, unknown path, recovered panic).
func (s *Server) apiRoutes(e *echo.Echo) {
	pageErrors := e.HTTPErrorHandler
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if isServiceAPI(c.Request().URL.Path) {
			s.apiFailure(err, c)
			return
		}
		pageErrors(err, c)
	}
	e.GET("/api/v1/openapi.json", openAPI)
	e.POST("/api/v1/charges", s.createCharge, s.requireServiceToken)
	e.GET("/api/v1/balance", s.apiBalance, s.requireServiceToken)
	e.POST("/api/v1/items/use", s.useItem, s.requireServiceToken)
}
