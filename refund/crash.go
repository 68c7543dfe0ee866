package refund

import (
	"os"
	"strings"
	"syscall"
)

// CrashEnv names, comma-separated, the points at which the process kills
// itself with SIGKILL: the chaos suite's faults (RELIABILITY.md), placed
// where a crash would hurt most. Unset, as in every real deployment, no
// point fires; the variable is read once at start, so a point costs a map
// lookup.
const CrashEnv = "IM2PAY_CHAOS_CRASH"

// Crash points.
const (
	// CrashAfterDebit: the wallet's debit into refunds:in-flight has
	// committed, the provider has not been asked yet.
	CrashAfterDebit = "refund.after_debit"
	// CrashAfterConfirm: the provider has confirmed the refund (its answer,
	// a query or a notification), our booking of it has not committed.
	CrashAfterConfirm = "refund.after_confirm"
)

var crashPoints = parseCrashPoints(os.Getenv(CrashEnv))

func parseCrashPoints(v string) map[string]bool {
	points := map[string]bool{}
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			points[p] = true
		}
	}
	return points
}

// crashAt kills the process at point when CrashEnv names it: SIGKILL to
// itself, so nothing runs after it (no deferred call, no rollback but the
// database's own), exactly as when the machine dies.
func crashAt(point string) {
	if !crashPoints[point] {
		return
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way; nothing more may happen here
}
