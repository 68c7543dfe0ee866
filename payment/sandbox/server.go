// Package sandbox is the local payment gateway: an HTTP server that plays
// the provider side of Alipay, WeChat Pay, UnionPay and PayPal (one
// simulator each, under its own path prefix), plus a control endpoint that
// lets tests choose what happens to an order. Handlers serves it on two
// origins, the APIs on one and the browser pages on the other, as the real
// providers do; Handler serves everything on one, for the simulators' own
// tests.
package sandbox

import (
	"encoding/json"
	"html/template"
	"net/http"

	"im2pay/payment/sandbox/sim"
)

// Handler serves every simulator and the control endpoint:
//
//	POST /_sim/orders/{out_trade_no}/pay   outcome=<sim.Outcome>
//
// answers {"found":true,"redirect":"…"}: the settled order and where the
// person would be sent, exactly as if they had chosen the outcome on the
// cashier page.
func Handler(sims ...sim.Simulator) http.Handler {
	mux := http.NewServeMux()
	for _, s := range sims {
		s.Routes(mux)
	}
	mux.HandleFunc("POST /_sim/orders/{no}/pay", func(w http.ResponseWriter, r *http.Request) {
		outcome, ok := sim.ParseOutcome(r.FormValue("outcome"))
		if !ok {
			http.Error(w, "unknown outcome", http.StatusBadRequest)
			return
		}
		for _, s := range sims {
			redirect, found, err := s.Simulate(r.Context(), r.PathValue("no"), outcome)
			if err != nil {
				http.Error(w, err.Error(), http.StatusConflict)
				return
			}
			if found {
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(map[string]any{"found": true, "simulator": s.Name(), "redirect": redirect})
				return
			}
		}
		http.Error(w, "no simulator knows this order", http.StatusNotFound)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		names := make([]string, len(sims))
		for i, s := range sims {
			names[i] = s.Name()
		}
		_ = indexTmpl.Execute(w, map[string]any{"Names": names, "Outcomes": sim.Outcomes})
	})
	return mux
}

var indexTmpl = template.Must(template.New("index").Parse(`<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>IM2.0 Pay 沙箱网关 SANDBOX</title></head><body style="font-family:system-ui,sans-serif;max-width:720px;margin:2em auto">
<h1>IM2.0 Pay 沙箱网关 · Sandbox gateway</h1>
<p>This server plays the payment providers for local development and tests. It is never part of production.</p>
<h2>Providers</h2><ul>{{range .Names}}<li>/{{.}}/</li>{{end}}</ul>
<h2>Control</h2><p><code>POST /_sim/orders/{out_trade_no}/pay</code> with <code>outcome</code> one of:</p>
<ul>{{range .Outcomes}}<li><code>{{.}}</code> — {{.Label}}</li>{{end}}</ul>
<p>Payment password on every cashier page: <code>123456</code>.</p></body></html>`))
