package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Sealing in the bench.
//
// Figures 1 and 2 post in this process, where no sealer runs, a first run
// loads figure 5's 10 million entries before the app starts, and the
// cluster keeps its ledger from run to run, so the app starts behind: the
// chain ends where the last run's app stopped. In production every posting
// process runs a sealer and the chain stays a second behind; a backlog
// exists only after the sealer was off (the first deploy over an old
// ledger, or an outage). So the bench first lets the app seal its backlog
// (figure 8a, the catch-up rate, with no target), and the server figures
// 3-6 then measure the app with its sealer keeping up, as in production.
//
// Figure 8b is the "sealed within a minute of its commit": from
// the backlog's end to the last figure, a watcher polls the ledger's
// highest id and the chain's head each second. An id is committed by the
// first poll that sees it and sealed by the first poll whose head covers
// it; the figure is the longest time between the two, to within a poll.
// (Not created_at: figure 5 loads history dated months back.)

// sealPoll is how often the bench looks at the chain. A sample reads the
// unsealed transactions only (by id, above the head), a few thousand rows
// at most once the backlog is gone.
const sealPoll = time.Second

// chainSQL returns the chain's head and the ledger's highest id: two
// backward index scans.
const chainSQL = `
	SELECT coalesce((SELECT max(last_transaction_id) FROM ledger_seals), 0),
	       coalesce((SELECT max(id) FROM ledger_transactions), 0)`

type sealState struct {
	head, top int64
}

func (b *bench) sealState(ctx context.Context) (sealState, error) {
	var s sealState
	if err := b.conn.QueryRowxContext(ctx, chainSQL).Scan(&s.head, &s.top); err != nil {
		return s, fmt.Errorf("read the seal chain's head: %w", err)
	}
	return s, nil
}

// figureSealBacklog waits for the app's sealer to cover every transaction
// that existed when the app started, and reports how fast it went. Then
// it starts the lag watcher for figure 8b.
func (b *bench) figureSealBacklog(ctx context.Context) ([]result, error) {
	start, err := b.sealState(ctx)
	if err != nil {
		return nil, err
	}
	began := time.Now()
	b.logf("   chain head %d, ledger top %d: %d transactions to seal", start.head, start.top, start.top-start.head)
	cur, err := b.waitSealed(ctx, start)
	if err != nil {
		return nil, err
	}
	took := time.Since(began)
	n := float64(cur.head - start.head)
	rate := n / took.Seconds()
	r := result{ID: "8a", Name: "sealing a backlog", Value: fmt.Sprintf("%.0f txns/s", rate),
		Ref: fmt.Sprintf("figure 1: %.0f tps", b.postingTPS), Measured: fmt.Sprintf("%.2f×", rate/max(b.postingTPS, 1)),
		Target: "none: once per ledger", Info: true,
		Note: fmt.Sprintf("%.0f transactions (figures 1-2, a first run's history load and any earlier backlog) in %s, measured to the next poll", n, took.Round(time.Second))}
	b.sealWatch = startSealWatch(ctx, b)
	return []result{r}, nil
}

// waitSealed waits until the chain covers start.top, the ledger's highest
// id when the wait began, and returns the state it saw then.
func (b *bench) waitSealed(ctx context.Context, start sealState) (sealState, error) {
	// The bound is generous: it only stops a bench whose sealer is broken.
	deadline := time.Now().Add(30 * time.Minute)
	cur := start
	for cur.head < start.top {
		if time.Now().After(deadline) {
			return cur, fmt.Errorf("the app's sealer covered %d of %d transactions in 30 minutes (logs under %s)",
				cur.head-start.head, start.top-start.head, b.dir)
		}
		select {
		case <-ctx.Done():
			return cur, ctx.Err()
		case <-time.After(sealPoll):
		}
		var err error
		if cur, err = b.sealState(ctx); err != nil {
			return cur, err
		}
	}
	return cur, nil
}

// sealWatch keeps the longest wait for a seal seen while the server
// figures run.
type sealWatch struct {
	stop    context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	seen    []sighting // ids seen committed and not yet sealed, oldest first
	worst   time.Duration
	samples int
	err     error
}

// sighting: the ledger's top was id when first seen, at at.
type sighting struct {
	id int64
	at time.Time
}

// observe folds one poll in: sightings the head now covers were sealed
// within now - their time.
func (w *sealWatch) observe(s sealState, now time.Time) {
	for len(w.seen) > 0 && w.seen[0].id <= s.head {
		w.worst = max(w.worst, now.Sub(w.seen[0].at))
		w.seen = w.seen[1:]
	}
	if s.top > s.head && (len(w.seen) == 0 || w.seen[len(w.seen)-1].id < s.top) {
		w.seen = append(w.seen, sighting{id: s.top, at: now})
	}
	w.samples++
}

// result is the worst wait, counting sightings still unsealed as waiting
// until now.
func (w *sealWatch) result(now time.Time) time.Duration {
	worst := w.worst
	for _, s := range w.seen {
		worst = max(worst, now.Sub(s.at))
	}
	return worst
}

func startSealWatch(parent context.Context, b *bench) *sealWatch {
	ctx, cancel := context.WithCancel(parent)
	w := &sealWatch{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(sealPoll)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			s, err := b.sealState(ctx)
			w.mu.Lock()
			if err != nil {
				if ctx.Err() == nil {
					w.err = err
				}
				w.mu.Unlock()
				return
			}
			w.observe(s, time.Now())
			w.mu.Unlock()
		}
	}()
	return w
}

// figureSealLag stops the watcher before the app stops and reports figure
// 8b against the minute.
func (b *bench) figureSealLag(context.Context) ([]result, error) {
	w := b.sealWatch
	if w == nil {
		return nil, fmt.Errorf("figure 8b: the seal watcher was not started")
	}
	w.stop()
	<-w.done
	if w.err != nil {
		return nil, fmt.Errorf("figure 8b: %w", w.err)
	}
	worst := w.result(time.Now())
	shown := worst.Round(100 * time.Millisecond).String()
	r := result{ID: "8b", Name: "longest wait for a seal", Value: shown,
		Ref: "the commit", Measured: shown, Target: "≤ 60s", Met: worst <= time.Minute,
		Note: fmt.Sprintf("from the first poll that saw a transaction to the first whose chain covered it (%d polls, a second apart, over figures 3-6)", w.samples)}
	return []result{r}, nil
}
