// Package static holds the built CSS, vendored htmx and images served by the app.
package static
