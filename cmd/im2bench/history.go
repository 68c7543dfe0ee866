package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// historyConns is how many requests for history pages run at once: enough
// to keep the server busy, few enough that latency is the page's own.
const historyConns = 4

// figureHistory is figure 5: (a) the p99 of a page deep in the big user's
// history against that of the first page, (b) the server's peak memory while
// exporting the big user's statement against the mid user's.
func (b *bench) figureHistory(ctx context.Context) ([]result, error) {
	h := b.hist
	var total int64
	if err := b.conn.GetContext(ctx, &total, `SELECT reltuples::bigint FROM pg_class WHERE relname = 'ledger_entries'`); err != nil {
		return nil, err
	}
	pages, err := b.historyPages(ctx, h)
	if err != nil {
		return nil, err
	}
	pages.Note = joinNotes(fmt.Sprintf("%.1fM entries in the ledger, %d in the user's", float64(total)/1e6, h.BigN), pages.Note)
	if h.LoadDuration > 0 {
		pages.Note = joinNotes(pages.Note, fmt.Sprintf("loaded in %s", h.LoadDuration.Round(time.Second)))
	}
	export, err := b.historyExport(ctx, h)
	if err != nil {
		return nil, err
	}
	return []result{pages, export}, nil
}

func (b *bench) historyPages(ctx context.Context, h histUsers) (result, error) {
	// A cursor h.BigN/1000 entries from the oldest: the page before it is
	// as deep as history goes, with a full page of older lines.
	var deepID int64
	err := b.conn.GetContext(ctx, &deepID, `
		SELECT id FROM ledger_entries WHERE account_id = $1 ORDER BY id OFFSET $2 LIMIT 1`,
		h.Big.WalletID, max(25, h.BigN/1000))
	if err != nil {
		return result{}, fmt.Errorf("deep cursor: %w", err)
	}
	client, err := b.login(ctx, h.Big.Username, historyConns)
	if err != nil {
		return result{}, err
	}
	paths := []string{"/history", "/history?before=" + strconv.FormatInt(deepID, 10)}
	var mu sync.Mutex
	lat := [2]stats{}
	var next atomic.Int64
	var wg sync.WaitGroup
	n := int64(2 * b.sz.histSamples)
	// Warm both paths first: the figure is about steady state, not a
	// cold cache after the load.
	for _, p := range paths {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.app.base+p, nil)
		if err := expect(client, req, http.StatusOK); err != nil {
			return result{}, err
		}
	}
	for range historyConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < n && ctx.Err() == nil; i = next.Add(1) - 1 {
				kind := i % 2 // alternate, so both kinds see the same moments
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.app.base+paths[kind], nil)
				t0 := time.Now()
				err := expect(client, req, http.StatusOK)
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					lat[kind].errs++
					lat[kind].firstErr = err
				} else {
					lat[kind].ops++
					lat[kind].latencies = append(lat[kind].latencies, d)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	first, deep := lat[0].percentile(99), lat[1].percentile(99)
	r := result{ID: "5a", Name: "history: deep page p99 vs first page",
		Value: "p99 " + fmtDur(deep), Ref: "first page p99 " + fmtDur(first),
		Note: joinNotes(fmt.Sprintf("%d requests each, %d at once", lat[0].ops, historyConns),
			lat[0].errorsNote(), lat[1].errorsNote())}
	return ratioResult(r, float64(deep), float64(first), 2.0, true), nil
}

// historyExport downloads both statements, each with the server's peak
// memory reset just before, and checks every line arrived.
func (b *bench) historyExport(ctx context.Context, h histUsers) (result, error) {
	type export struct {
		lines  int
		bytes  int64
		peakKB int64
		took   time.Duration
	}
	run := func(u benchUser) (export, error) {
		var e export
		client, err := b.login(ctx, u.Username, 1)
		if err != nil {
			return e, err
		}
		var want int
		if err := b.conn.GetContext(ctx, &want, `SELECT count(*) FROM ledger_entries WHERE account_id = $1`, u.WalletID); err != nil {
			return e, err
		}
		if err := b.resetHWM(); err != nil {
			return e, err
		}
		begin := time.Now()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.app.base+"/history/export.csv", nil)
		resp, err := client.Do(req)
		if err != nil {
			return e, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return e, fmt.Errorf("export of %s: status %d", u.Username, resp.StatusCode)
		}
		lc := &lineCounter{}
		if e.bytes, err = io.Copy(lc, resp.Body); err != nil {
			return e, fmt.Errorf("export of %s: %w", u.Username, err)
		}
		e.took = time.Since(begin)
		if e.peakKB, err = b.hwmKB(); err != nil {
			return e, err
		}
		e.lines = lc.n - 1 // the header
		if e.lines != want {
			return e, fmt.Errorf("export of %s: %d lines, the wallet has %d entries", u.Username, e.lines, want)
		}
		return e, nil
	}
	small, err := run(h.Mid)
	if err != nil {
		return result{}, err
	}
	big, err := run(h.Big)
	if err != nil {
		return result{}, err
	}
	r := result{ID: "5b", Name: "CSV export: peak memory by size",
		Value: fmt.Sprintf("%d rows: %.1f MB", big.lines, float64(big.peakKB)/1024),
		Ref:   fmt.Sprintf("%d rows: %.1f MB", small.lines, float64(small.peakKB)/1024),
		Note: fmt.Sprintf("server VmHWM, reset before each; %.0f MB in %s (%.0f rows/s)",
			float64(big.bytes)/(1<<20), big.took.Round(100*time.Millisecond), float64(big.lines)/big.took.Seconds())}
	return ratioResult(r, float64(big.peakKB), float64(small.peakKB), 1.3, true), nil
}

// lineCounter counts newlines of what it is given and keeps nothing.
type lineCounter struct{ n int }

func (l *lineCounter) Write(p []byte) (int, error) {
	l.n += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}
