package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"im2pay/apidoc"
)

// openAPI serves the service API's OpenAPI document. It describes the API
// and reveals nothing the README does not, so it needs no token.
func openAPI(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, apidoc.OpenAPI)
}
