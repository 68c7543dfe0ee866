package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// stats is what a timed run of workers did.
type stats struct {
	ops, errs int
	elapsed   time.Duration
	latencies []time.Duration // of successful operations
	firstErr  error
}

func (s stats) perSecond() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.ops) / s.elapsed.Seconds()
}

// percentile is the p-th percentile (0-100) of the successful operations.
func (s stats) percentile(p float64) time.Duration {
	if len(s.latencies) == 0 {
		return 0
	}
	l := slices.Clone(s.latencies)
	slices.Sort(l)
	i := int(float64(len(l)-1) * p / 100)
	return l[i]
}

// merge adds another run of the same kind (an interleaved repetition).
func (s stats) merge(o stats) stats {
	s.ops += o.ops
	s.errs += o.errs
	s.elapsed += o.elapsed
	s.latencies = append(s.latencies, o.latencies...)
	if s.firstErr == nil {
		s.firstErr = o.firstErr
	}
	return s
}

// timed runs fn on workers goroutines for d; each worker counts its own
// operations (i is the worker's operation number). An operation that fails
// counts as an error, not as throughput.
func timed(ctx context.Context, workers int, d time.Duration, fn func(ctx context.Context, worker, i int) error) stats {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	deadline := time.Now().Add(d)
	var mu sync.Mutex
	var total stats
	var wg sync.WaitGroup
	begin := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine stats
			for i := 0; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
				t0 := time.Now()
				if err := fn(ctx, w, i); err != nil {
					mine.errs++
					if mine.firstErr == nil {
						mine.firstErr = err
					}
					continue
				}
				mine.ops++
				mine.latencies = append(mine.latencies, time.Since(t0))
			}
			mu.Lock()
			total = total.merge(mine)
			mu.Unlock()
		}()
	}
	wg.Wait()
	total.elapsed = time.Since(begin)
	return total
}

// errorsNote says how many operations failed, and the first failure, if any.
func (s stats) errorsNote() string {
	if s.errs == 0 {
		return ""
	}
	return fmt.Sprintf("%d errors (first: %.120v)", s.errs, s.firstErr)
}

// httpClient keeps up to conns connections to the app open, so n workers
// load it over n connections.
func httpClient(conns int) *http.Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: 2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var errStatus = errors.New("unexpected status")

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%d µs", d.Microseconds())
}
