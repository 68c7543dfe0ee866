package pgcluster

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"
)

// Hooks for fault-injection tests and benchmarks: they act on the server this
// process started and are not used by the app itself.

// StopImmediate stops the server the way a power cut would: `pg_ctl stop -m
// immediate` aborts every backend without a checkpoint, so the next start
// runs crash recovery. Start with the same Dir and Port brings it back.
func (c *Cluster) StopImmediate() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.started {
		return fmt.Errorf("pgcluster: stop -m immediate: %s was not started by this process", c.dataDir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := c.r.pgctl(ctx, "stop", "-D", c.dataDir, "-m", "immediate", "-w"); err != nil {
		return fmt.Errorf("pgcluster: stop -m immediate %s: %w: %s", c.dataDir, err, out)
	}
	select {
	case <-c.exited:
	case <-ctx.Done():
		return fmt.Errorf("pgcluster: stop -m immediate %s: server not reaped", c.dataDir)
	}
	c.started = false
	return nil
}

// PostmasterPID is the server's own process ID (not that of runuser), for
// SIGSTOP/SIGCONT.
func (c *Cluster) PostmasterPID() (int, error) {
	s, err := pidFileField(c.dataDir, 0)
	if err != nil {
		return 0, fmt.Errorf("pgcluster: postmaster PID: %w", err)
	}
	return strconv.Atoi(s)
}

// Program is the path of one of the server's client programs, such as
// pgbench or psql, from the same installation as the server.
func (c *Cluster) Program(name string) string { return filepath.Join(c.r.bin, name) }
