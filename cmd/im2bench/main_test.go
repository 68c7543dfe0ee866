package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestQuickRun runs the whole bench at tiny sizes so it cannot rot: every
// figure must appear in the table with a number. Whether targets are met is
// not checked: timings on a shared machine never fail a test.
func TestQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and the app")
	}
	table := quickTable(t, "-quick")
	for _, id := range []string{"1", "2", "3", "4", "5a", "5b", "6", "7", "8b", "8c"} {
		row := regexp.MustCompile(`(?m)^` + id + ` +\S.*[0-9].*(met|MISSED)`)
		if !row.MatchString(table) {
			t.Errorf("figure %s missing from the table", id)
		}
	}
	// 3b (two app instances) and 8a (sealing a backlog) are measured
	// without a target.
	for _, id := range []string{"3b", "8a"} {
		if !regexp.MustCompile(`(?m)^` + id + ` +\S.*[0-9].*no target`).MatchString(table) {
			t.Errorf("figure %s missing from the table", id)
		}
	}
	if strings.Contains(table, "NOT EXACTLY ONCE") {
		t.Error("figure 6 credited some notification other than exactly once")
	}
}

// TestQuickRunWithTheSealerOff runs the other half of the sealing A/B: the
// app starts with SEAL_PERIOD=0, nothing waits for a seal (an earlier bench
// hung there), figures 8a, 8b and 8c are left out, and the table says so.
func TestQuickRunWithTheSealerOff(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and the app")
	}
	table := quickTable(t, "-quick", "-sealer=off")
	for _, id := range []string{"3", "6", "7"} {
		if !regexp.MustCompile(`(?m)^` + id + ` +\S.*[0-9].*(met|MISSED)`).MatchString(table) {
			t.Errorf("figure %s missing from the table", id)
		}
	}
	for _, id := range []string{"8a", "8b", "8c"} {
		if regexp.MustCompile(`(?m)^` + id + ` `).MatchString(table) {
			t.Errorf("figure %s is in the table of a run without a sealer", id)
		}
	}
	if !strings.Contains(table, "sealer was OFF") {
		t.Errorf("the table does not say the sealer was off:\n%s", table)
	}
	if err := run(context.Background(), []string{"-quick", "-sealer=maybe"}, io.Discard); err == nil || !strings.Contains(err.Error(), "-sealer must be on or off") {
		t.Errorf("-sealer=maybe: %v", err)
	}
}

// quickTable runs the bench with args and returns its table. The context's
// 15 minutes are a hang guard, not a timing: a busy machine makes the run
// slow, and the tests check only what the table holds.
func quickTable(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, args, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Log(out.String())
	return out.String()[strings.LastIndex(out.String(), "\n#  "):]
}
