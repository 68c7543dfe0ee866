package chaos

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lib/pq"

	"im2pay/internal/figures"
	"im2pay/live"
	"im2pay/payment/sandbox/sim"
)

// recoveryTarget is the requirement: after PostgreSQL comes back,
// the app serves again within 10 s, without a restart. It is a figure the
// test reports, not a condition it fails on: how fast a loaded machine
// reconnects is a measurement, and a pass/fail test measures no time. The
// test fails when the app does not serve again at all (giveUpAfter only
// stops it from waiting forever) or needed a restart.
const (
	recoveryTarget = 10 * time.Second
	giveUpAfter    = 5 * time.Minute
)

// firstSuccess polls a database-backed API read until it succeeds and
// returns how long that took (or limit and false).
func (e *env) firstSuccess(limit time.Duration) (time.Duration, bool) {
	c := &http.Client{Timeout: 2 * time.Second}
	begin := time.Now()
	for time.Since(begin) < limit {
		req, _ := http.NewRequest(http.MethodGet, "http://"+e.appAddr+"/api/v1/balance?user=chaos_0", nil)
		req.Header.Set("Authorization", "Bearer "+serviceToken)
		if res, err := c.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return time.Since(begin), true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return limit, false
}

// F3: PostgreSQL is stopped with -m immediate under load (a power cut: no
// checkpoint, crash recovery at the next start) and started again. The
// same app process serves again within 10 s.
func TestPostgresStoppedImmediately(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	l := newLoad(e, 4, 0)
	pid := e.app.Process.Pid
	l.start(6, true)
	cycles := pick(2, 6)
	var worst time.Duration
	for i := range cycles {
		time.Sleep(time.Duration(1000+rand.IntN(2000)) * time.Millisecond)
		must(t, e.cluster.StopImmediate())
		time.Sleep(time.Duration(500+rand.IntN(2500)) * time.Millisecond)
		e.restartPG()
		took, back := e.firstSuccess(giveUpAfter)
		t.Logf("cycle %d: the app served again %s after PostgreSQL was back (target %s)", i+1, took.Round(time.Millisecond), recoveryTarget)
		if !back {
			t.Errorf("cycle %d: the app did not serve again within %s of PostgreSQL's restart", i+1, giveUpAfter)
		}
		worst = max(worst, took)
		if !e.appAlive() || e.app.Process.Pid != pid {
			t.Fatalf("cycle %d: the app process %d did not survive the database outage\n%s", i+1, pid, e.logTail())
		}
	}
	t.Logf("F3: worst time to the first success after a restart: %s", worst.Round(time.Millisecond))
	e.finish(l, cycles)
	if e.starts != 1 {
		t.Errorf("the app was started %d times; it must ride out the outage unrestarted", e.starts)
	}
}

// F4: every backend of the app is terminated with pg_terminate_backend,
// again and again; each write is all-or-nothing and the pool recovers.
func TestBackendsTerminated(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	l := newLoad(e, 4, 0)
	l.start(6, true)
	terminated, rounds := 0, 0
	for end := time.Now().Add(pick(10*time.Second, time.Minute)); time.Now().Before(end); rounds++ {
		var n int
		if err := e.check.Get(&n, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()
			  AND backend_type = 'client backend' AND application_name <> 'chaos-check'`); err != nil {
			t.Fatalf("terminate backends: %v", err)
		}
		terminated += n
		time.Sleep(time.Duration(100+rand.IntN(300)) * time.Millisecond)
	}
	took, back := e.firstSuccess(time.Minute)
	if !back {
		t.Fatalf("the pool never recovered after the terminations")
	}
	t.Logf("F4: %d backends terminated in %d rounds; first success %s after the last", terminated, rounds, took.Round(time.Millisecond))
	e.finish(l, rounds)
	figures.Line(t, "chaos", t.Name()+" backends terminated", strconv.Itoa(terminated))
}

// F5: latency, connection resets and hangs between the app and
// PostgreSQL (Toxiproxy), then PostgreSQL paused with SIGSTOP. Every
// request ends by its deadline, nothing is charged twice, and once the
// faults stop the app holds no more connections than its pool.
func TestNetworkFaultsToDatabase(t *testing.T) {
	t.Parallel()
	var x *toxi
	// The hang and the pause outlast the clients' deadline: only the app's
	// own request timeout can answer them in time.
	const deadline = 8 * time.Second
	e := newEnv(t, options{requestTimeout: "3s", clientDeadline: deadline, dbVia: func(pgAddr string) string {
		x = startToxi(t)
		return x.proxy(t, "pg", pgAddr)
	}})
	l := newLoad(e, 4, 0)
	l.start(6, true)
	phase := pick(3*time.Second, 10*time.Second)
	long := deadline + 2*time.Second
	faults := []struct {
		name, kind, stream string
		toxicity           float32
		attrs              map[string]any
		lasts              time.Duration
	}{
		{"latency", "latency", "downstream", 1, map[string]any{"latency": 150, "jitter": 100}, phase},
		{"resets", "reset_peer", "upstream", 0.5, map[string]any{"timeout": 300}, phase},
		{"hang", "timeout", "upstream", 1, map[string]any{"timeout": 0}, long},
		{"hang_then_close", "timeout", "downstream", 1, map[string]any{"timeout": 2000}, phase},
	}
	cycles := 0
	for range pick(1, 3) {
		for _, f := range faults {
			time.Sleep(time.Second)
			t.Logf("fault: %s for %s", f.name, f.lasts)
			x.add(t, "pg", f.name, f.kind, f.stream, f.toxicity, f.attrs)
			time.Sleep(f.lasts)
			x.remove(t, "pg", f.name)
			cycles++
		}
		time.Sleep(time.Second)
		t.Logf("fault: PostgreSQL paused (SIGSTOP) for %s", long)
		pauseServer(t, e, long)
		cycles++
	}
	if _, back := e.firstSuccess(time.Minute); !back {
		t.Fatalf("the app never served again after the network faults\n%s", e.logTail())
	}
	e.finish(l, cycles)
	if n := l.log.lateAnswers.Load(); n > 0 {
		t.Errorf("%d requests got no answer within the client's deadline (%s)", n, deadline)
	}
	// Once quiet, the app holds at most its pool, and besides it one
	// listening connection (the live balance's hub, named apart): a
	// listener that reconnected must not leave the old one behind.
	var conns, listeners int
	quiet := time.Now().Add(30 * time.Second)
	for {
		must(t, e.check.Get(&conns, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND backend_type = 'client backend' AND application_name NOT IN ('chaos-check', $1)`, live.ListenerName))
		must(t, e.check.Get(&listeners, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND backend_type = 'client backend' AND application_name = $1`, live.ListenerName))
		if (conns <= poolSize && listeners <= 1) || time.Now().After(quiet) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if conns > poolSize {
		t.Errorf("the app holds %d connections after the faults, more than its pool of %d", conns, poolSize)
	}
	if listeners > 1 {
		t.Errorf("the app holds %d listening connections after the faults, want at most 1", listeners)
	}
	t.Logf("F5: late answers %d, app connections at the end %d (pool %d)", l.log.lateAnswers.Load(), conns, poolSize)
}

// pauseServer stops the postmaster and every backend with SIGSTOP for d,
// then lets them go on: PostgreSQL frozen, not gone.
func pauseServer(t *testing.T, e *env, d time.Duration) {
	t.Helper()
	pid, err := e.cluster.PostmasterPID()
	must(t, err)
	pids := append([]int{pid}, childrenOf(pid)...)
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGSTOP)
	}
	time.Sleep(d)
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGCONT)
	}
	// Under root the postmaster is a child of runuser, which stops itself
	// when its child stops (job control, as su does) and would never reap
	// the server at shutdown: it is ours, so it gets its SIGCONT too.
	if ppid := parentOf(pid); ppid > 1 && ppid != os.Getpid() {
		_ = syscall.Kill(ppid, syscall.SIGCONT)
	}
}

// parentOf reads a process's parent from /proc (0 when unknown). The
// command may hold spaces and parentheses; the parent is the second field
// after its closing one.
func parentOf(pid int) int {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	var state string
	var ppid int
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
	if _, err := fmt.Sscan(rest, &state, &ppid); err != nil {
		return 0
	}
	return ppid
}

// childrenOf lists the processes whose parent is pid, from /proc.
func childrenOf(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, ent := range entries {
		if child, err := strconv.Atoi(ent.Name()); err == nil && parentOf(child) == pid {
			out = append(out, child)
		}
	}
	return out
}

// F6: the provider never notifies a tenth of the paid orders; the
// reconciler asks about each and credits it exactly once.
func TestSilentProvider(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	l := newLoad(e, 4, 0.1)
	l.start(4, true)
	time.Sleep(pick(10*time.Second, time.Minute))
	e.finish(l, 0)
	var silent []string
	for _, tp := range l.log.topups {
		if tp.outcome == sim.DropNotify {
			silent = append(silent, tp.no)
		}
	}
	if len(silent) == 0 {
		t.Fatalf("no order went unnotified: the fault did not happen")
	}
	var credited int
	must(t, e.check.Get(&credited, `SELECT count(*) FROM recharge_orders o WHERE o.out_trade_no = ANY($1) AND o.state = 'paid'
		AND (SELECT count(*) FROM ledger_transactions t WHERE t.idempotency_key = 'topup:' || o.out_trade_no) = 1`, pq.Array(silent)))
	if credited != len(silent) {
		t.Errorf("%d of %d unnotified paid orders credited exactly once", credited, len(silent))
	}
	t.Logf("F6: %d of %d paid orders never notified, %d credited once by the reconciler", len(silent), len(l.log.topups), credited)
	figures.Line(t, "chaos", t.Name()+" silent orders credited", strconv.Itoa(credited), "of", strconv.Itoa(len(silent)))
}
