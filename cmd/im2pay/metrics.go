package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"im2pay/metrics"
)

// serveMetrics serves /metrics on its own address, apart from the public
// site: a scraper inside the network reaches it, the internet does not.
// It listens before returning, so a taken port stops the start.
func serveMetrics(ctx context.Context, addr string, m *metrics.Metrics, log *slog.Logger, stdout io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("METRICS_ADDR: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	fmt.Fprintf(stdout, "metrics: http://%s/metrics\n", ln.Addr())
	return nil
}
