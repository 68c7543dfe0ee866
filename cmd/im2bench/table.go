package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// result is one row of the table: a figure, what it was compared with, and
// whether it met its target.
type result struct {
	ID       string // "1", "5a", ...
	Name     string
	Value    string // the figure itself, with its unit
	Ref      string // the reference it is compared with
	Measured string // the compared quantity: a ratio, or an absolute for figure 7
	Target   string
	Met      bool
	// Info marks a figure measured without a target (Target says why);
	// it is neither met nor missed.
	Info bool
	Note string
}

func (r result) line() string {
	return fmt.Sprintf("%-3s %-34s %-22s vs %-26s = %-8s target %-8s %s %s",
		r.ID, r.Name, r.Value, r.Ref, r.Measured, r.Target, r.verdict(), r.Note)
}

func (r result) verdict() string {
	switch {
	case r.Info:
		return "no target"
	case r.Met:
		return "met"
	}
	return "MISSED"
}

// ratioResult fills Measured, Target and Met for "value ≥ min × ref" (or ≤
// when atMost).
func ratioResult(r result, value, ref, bound float64, atMost bool) result {
	ratio := 0.0
	if ref > 0 {
		ratio = value / ref
	}
	r.Measured = fmt.Sprintf("%.2f×", ratio)
	if atMost {
		r.Target = fmt.Sprintf("≤ %.1f×", bound)
		r.Met = ref > 0 && ratio <= bound
	} else {
		r.Target = fmt.Sprintf("≥ %.1f×", bound)
		r.Met = ratio >= bound
	}
	return r
}

type table struct {
	results []result
	wall    time.Duration
	machine machine
	quick   bool
	// sealerOff marks a run whose app did not seal (-sealer=off).
	sealerOff bool
}

var header = []string{"#", "figure", "measured", "reference", "ratio", "target", "result", "notes"}

func (t table) rows() [][]string {
	out := [][]string{header}
	for _, r := range t.results {
		out = append(out, []string{r.ID, r.Name, r.Value, r.Ref, r.Measured, r.Target, r.verdict(), r.Note})
	}
	return out
}

// print writes the table in aligned columns for a terminal.
func (t table) print(w io.Writer) {
	rows := t.rows()
	widths := make([]int, len(header))
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	for n, row := range rows {
		var b strings.Builder
		for i, c := range row {
			b.WriteString(c)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-len([]rune(c))+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		if n == 0 {
			fmt.Fprintln(w, strings.Repeat("-", sum(widths)+2*(len(widths)-1)))
		}
	}
	met, targeted := 0, 0
	for _, r := range t.results {
		if r.Info {
			continue
		}
		targeted++
		if r.Met {
			met++
		}
	}
	fmt.Fprintf(w, "\n%d of %d figures met their targets; wall time %s", met, targeted, t.wall)
	if t.quick {
		fmt.Fprint(w, " (-quick: sizes too small to mean anything)")
	}
	if t.sealerOff {
		fmt.Fprint(w, "; the app's sealer was OFF (-sealer=off)")
	}
	fmt.Fprintf(w, "\nmachine: %d cores, %s; %s; PostgreSQL %s\n", t.machine.Cores, t.machine.CPU, t.machine.Go, t.machine.Postgres)
}

// markdown writes the same table for BENCHMARKS.md.
func (t table) markdown(w io.Writer) {
	for n, row := range t.rows() {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = strings.ReplaceAll(c, "|", `\|`)
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
		if n == 0 {
			fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(row)))
		}
	}
	off := ""
	if t.sealerOff {
		off = " The app's sealer was OFF (-sealer=off)."
	}
	fmt.Fprintf(w, "\nWall time %s.%s Machine: %d cores, %s; %s; PostgreSQL %s.\n",
		t.wall, off, t.machine.Cores, t.machine.CPU, t.machine.Go, t.machine.Postgres)
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}
