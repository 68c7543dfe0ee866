// Package views holds the templ components: layout, pages, partials and shared components.
package views
