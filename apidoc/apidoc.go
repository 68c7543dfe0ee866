// Package apidoc holds the OpenAPI 3.1 document of the service API
// (/api/v1). It is written by hand and kept true by the API tests, which
// check every request the server accepts and every answer it gives
// against it.
package apidoc

import _ "embed"

// OpenAPI is the document, served at /api/v1/openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte
