// Package figures lets the security and chaos suites report what they
// counted (attempts made, how many got through) instead of only passing.
//
// `go test` hides the output of passing packages, so each figure is also
// appended to a file under $IM2_FIGURES_DIR, one tab-separated line per
// figure, which `make test` and `make chaos` print as a table at the end.
// Without the variable, figures go to the test log only.
package figures

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// mu serialises appends from parallel tests of one process; O_APPEND keeps
// whole lines from several processes apart.
var mu sync.Mutex

// Record notes that attempts were made of the kind what, and how many of them
// got through (for a security figure, any through > 0 is a failure the
// calling test reports itself). suite names the file: "security", "chaos".
func Record(t testing.TB, suite, what string, attempts, through int) {
	t.Helper()
	t.Logf("figure %s: %s: %d attempts, %d through", suite, what, attempts, through)
	Line(t, suite, what, fmt.Sprint(attempts), fmt.Sprint(through))
}

// Line appends free-form columns under suite, for counts that are not
// attempts/through pairs (the chaos suite's ok/failed/unknown tallies).
func Line(t testing.TB, suite string, columns ...string) {
	t.Helper()
	dir := os.Getenv("IM2_FIGURES_DIR")
	if dir == "" {
		return
	}
	for i, c := range columns {
		columns[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(c)
	}
	mu.Lock()
	defer mu.Unlock()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("figures: %v", err)
		return
	}
	f, err := os.OpenFile(filepath.Join(dir, suite+".tsv"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Errorf("figures: %v", err)
		return
	}
	defer f.Close()
	if _, err := f.WriteString(strings.Join(columns, "\t") + "\n"); err != nil {
		t.Errorf("figures: %v", err)
	}
}
