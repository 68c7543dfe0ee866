package sandbox

import (
	"net/http"

	"im2pay/payment/sandbox/sim"
)

// Handlers serves the simulators on two origins, as the real providers
// serve their APIs and their browser pages on different hosts (see
// sim.Pages): api answers the provider APIs, the control endpoint and the
// index; web answers the cashier, H5 and approve pages. A request for a
// path of the other kind is a 404 that says where the path lives, so a
// simulator that sends the browser to the wrong origin fails loudly.
//
// Each simulator must be told its web origin (its WebOrigin field) before
// it serves, so that the redirects and links it builds point there.
func Handlers(sims ...sim.Simulator) (api, web http.Handler) {
	all := Handler(sims...)
	page := func(path string) bool {
		for _, s := range sims {
			if p, ok := s.(sim.Pages); ok && p.Page(path) {
				return true
			}
		}
		return false
	}
	api = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if page(r.URL.Path) {
			http.Error(w, "sandbox: "+r.URL.Path+" is a browser page, served on the sandbox's web origin, not on its API origin", http.StatusNotFound)
			return
		}
		all.ServeHTTP(w, r)
	})
	web = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !page(r.URL.Path) {
			http.Error(w, "sandbox: "+r.URL.Path+" is not a browser page: the sandbox's API origin serves it", http.StatusNotFound)
			return
		}
		all.ServeHTTP(w, r)
	})
	return api, web
}
