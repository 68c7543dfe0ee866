package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// A request's work has one deadline, except a stream's: the statement and
// orders exports would otherwise be cut off halfway once a big one runs
// longer than REQUEST_TIMEOUT (seen in `make bench` on a busy machine: the
// million-line export ended in a truncated file).
func TestDeadlineSparesStreams(t *testing.T) {
	for path, want := range map[string]bool{
		"/account":            true,
		"/history":            true,
		"/history/export.csv": false,
		"/ops/orders":         true,
		"/ops/orders.csv":     false,
		"/account/live":       false,
		// A made-up .csv path is no stream: only routes that stream are spared.
		"/account.csv": true,
	} {
		var has bool
		h := withDeadline(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			_, has = r.Context().Deadline()
		}), time.Hour)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
		if has != want {
			t.Errorf("%s: deadline %v, want %v", path, has, want)
		}
	}
}
