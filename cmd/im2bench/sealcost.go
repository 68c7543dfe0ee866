package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Figure 8c: what sealing costs the per-use charges.
//
// Figure 3 is a ratio to pgbench measured minutes earlier, and whole runs
// with the sealer on and off (-sealer) differ by more than the sealer
// could cost: this machine's share of CPU and disk moves between runs. So
// 8c interleaves: after the main app stopped, it starts the app afresh
// with the sealer off and on by turns (off, on; on, off; off, on; on, off:
// each arm's phases then sit at slots adding to the same sum, so a steady
// drift over the rounds weighs on both alike) and runs figure 3's load
// against each for one phase. Every phase first waits a poll; before an
// "on" phase the chain then catches up with what the "off" phase left
// unsealed, so the phase measures a sealer keeping up, as in production. The figure is the mean rate with
// the sealer over the mean without; the issue asks that sealing lower no
// figure beyond noise, taken here as 10%.
const sealCostRounds = 4

func (b *bench) figureSealCost(ctx context.Context) ([]result, error) {
	users, err := b.createUsers(ctx, "s", httpConns)
	if err != nil {
		return nil, err
	}
	if err := b.fund(ctx, users, 1_000_000_00); err != nil {
		return nil, err
	}
	client := httpClient(httpConns)
	var rate [2][]float64 // [0] sealer off, [1] on
	var trail, errNotes []string
	for round := range sealCostRounds {
		order := []bool{false, true}
		if round%2 == 1 {
			order = []bool{true, false}
		}
		for _, on := range order {
			st, err := b.sealCostPhase(ctx, client, users, round, on)
			if err != nil {
				return nil, err
			}
			r := st.perSecond()
			errNotes = append(errNotes, st.errorsNote())
			i, mark := 0, "off"
			if on {
				i, mark = 1, "on"
			}
			rate[i] = append(rate[i], r)
			trail = append(trail, fmt.Sprintf("%s %.0f", mark, r))
			b.logf("   round %d, sealer %s: %.0f req/s", round+1, mark, r)
		}
	}
	on, off := mean(rate[1]), mean(rate[0])
	r := result{ID: "8c", Name: "charges with the sealer on vs off",
		Value: fmt.Sprintf("%.0f req/s", on), Ref: fmt.Sprintf("sealer off: %.0f req/s", off),
		Note: joinNotes(append([]string{fmt.Sprintf("%d rounds, interleaved, a fresh app each phase (req/s: %s)", sealCostRounds, strings.Join(trail, ", "))}, errNotes...)...)}
	return []result{ratioResult(r, on, off, 0.9, false)}, nil
}

// sealCostPhase starts the app with the sealer on or off, lets the chain
// catch up when on, runs figure 3's load for one phase and stops the app.
func (b *bench) sealCostPhase(ctx context.Context, client *http.Client, users []benchUser, round int, on bool) (stats, error) {
	period := "SEAL_PERIOD=0"
	if on {
		period = "SEAL_PERIOD=1s"
	}
	name := fmt.Sprintf("sealcost%d-%t", round, on)
	a, err := b.startInstance(ctx, name, period)
	if err != nil {
		return stats{}, err
	}
	defer a.stop()
	select {
	case <-ctx.Done():
		return stats{}, ctx.Err()
	case <-time.After(sealPoll):
	}
	if on {
		start, err := b.sealState(ctx)
		if err != nil {
			return stats{}, err
		}
		if _, err := b.waitSealed(ctx, start); err != nil {
			return stats{}, err
		}
	}
	// The last app's connections are dead: start this phase with none.
	client.CloseIdleConnections()
	return b.charges(ctx, client, users, name, a.base), nil
}
