// Command im2bench is `make bench`: it starts a private PostgreSQL cluster
// (durable: fsync on, as in production), loads what the figures need, runs
// every measurement against references taken in the same run (pgbench, a
// static file), and prints one table of figures, targets and outcomes.
//
// The machines we run on are shared and noisy, so no figure is an absolute
// number: each is a ratio to a reference measured minutes apart on the same
// cluster, interleaved where it matters.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "im2bench:", err)
		os.Exit(1)
	}
}

// sizes is how big and how long every measurement is.
type sizes struct {
	phase         time.Duration // each timed run of figures 1-4 and of pgbench
	rounds        int           // pgbench and figure 1 alternate this many times
	pgbenchScale  int
	histTotal     int // ledger entries loaded for figure 5
	histBig       int // of which the big user holds
	histMid       int // of which the mid user holds
	histFillers   int // users sharing the rest
	histSamples   int // page requests per kind in figure 5
	notifications int // figure 6
}

var (
	fullSizes = sizes{phase: 15 * time.Second, rounds: 2, pgbenchScale: 8,
		histTotal: 10_000_000, histBig: 1_000_000, histMid: 100_000, histFillers: 1000,
		histSamples: 600, notifications: 1000}
	quickSizes = sizes{phase: 1500 * time.Millisecond, rounds: 1, pgbenchScale: 1,
		histTotal: 24_000, histBig: 5_000, histMid: 500, histFillers: 10,
		histSamples: 40, notifications: 100}
)

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("im2bench", flag.ContinueOnError)
	quick := fs.Bool("quick", false, "tiny sizes, about a second per figure: a self-test, not a measurement")
	dir := fs.String("dir", "", "where the cluster, the app binary and logs live (default .data/bench; -quick: a temporary directory)")
	mdOut := fs.String("md", "", "also write the table as Markdown to this file")
	sealer := fs.String("sealer", "on", "on, or off to run the app with SEAL_PERIOD=0 and skip figures 8a-8c: the other half of a whole-run A/B of what sealing costs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sealer != "on" && *sealer != "off" {
		return fmt.Errorf("-sealer must be on or off, not %q", *sealer)
	}
	sz := fullSizes
	if *quick {
		sz = quickSizes
	}
	began := time.Now()
	b, err := newBench(ctx, *dir, *quick, sz, stdout)
	if err != nil {
		return err
	}
	b.sealerOff = *sealer == "off"
	defer b.close()
	results, err := b.runAll(ctx)
	if err != nil {
		return err
	}
	t := table{results: results, wall: time.Since(began).Round(time.Second), machine: b.machine, quick: *quick, sealerOff: b.sealerOff}
	fmt.Fprintln(stdout)
	t.print(stdout)
	if *mdOut != "" {
		if err := os.MkdirAll(filepath.Dir(*mdOut), 0o755); err != nil {
			return err
		}
		f, err := os.Create(*mdOut)
		if err != nil {
			return err
		}
		t.markdown(f)
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// runAll runs every figure in order. The app is started after the two
// in-process figures so they run on a quiet machine, and stopped at the end,
// when its peak memory is read.
func (b *bench) runAll(ctx context.Context) ([]result, error) {
	var out []result
	type step struct {
		name string
		fn   func(context.Context) ([]result, error)
		// sealer marks a step that needs the app's sealer (left out of
		// a -sealer=off run).
		sealer bool
	}
	steps := []step{
		{"pgbench and ledger posting", b.figurePosting, false},
		{"hot recipient", b.figureHotRecipient, false},
		{"history data set", b.loadHistorySet, false},
		{"start the app", b.startApp, false},
		{"seal the backlog", b.figureSealBacklog, true},
		{"per-use charges", b.figureCharges, false},
		{"account center", b.figureAccount, false},
		{"balance history", b.figureHistory, false},
		{"notification flood", b.figureNotify, false},
		{"seal lag", b.figureSealLag, true},
		{"server memory", b.figureMemory, false},
		{"sealing's cost", b.figureSealCost, true},
	}
	if b.sealerOff {
		// No sealer: no backlog to wait for, no seal to watch, and no
		// sealer to switch on and off (8c).
		kept := steps[:0]
		for _, s := range steps {
			if !s.sealer {
				kept = append(kept, s)
			}
		}
		steps = kept
	}
	for _, s := range steps {
		b.logf("== %s", s.name)
		begin := time.Now()
		rs, err := s.fn(ctx)
		if err != nil {
			return out, fmt.Errorf("%s: %w", s.name, err)
		}
		for _, r := range rs {
			b.logf("   %s", r.line())
		}
		b.logf("   (%s)", time.Since(begin).Round(100*time.Millisecond))
		out = append(out, rs...)
	}
	return out, nil
}
