package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// StartStandby starts a streaming standby of primary in o.Dir, a hot
// standby that answers read-only queries while it replays the primary's
// write-ahead log. The first start copies the primary with pg_basebackup
// over a replication connection (-R writes standby.signal and the
// primary_conninfo to reach it, -X stream brings the WAL written during the
// copy); a later start reuses the copy, or the standby already running.
//
// The primary needs nothing beyond what Start gives it: wal_level=replica
// and max_wal_senders are on its command line (see serverArgs), and
// initdb's pg_hba.conf lets the superuser, who has the replication
// privilege, connect for replication from 127.0.0.1 with its password.
// o.Database is not created (a standby is read-only): it names which of
// the primary's databases URL points at, the primary's own when empty.
func StartStandby(ctx context.Context, primary *Cluster, o Options) (*Cluster, error) {
	if o.Database == "" {
		o.Database = primary.database
	}
	c, err := newCluster(o)
	if err != nil {
		return nil, err
	}
	if c.dir == primary.dir {
		return nil, errors.New("pgcluster: a standby needs a directory of its own")
	}
	unlock, err := lockFile(ctx, filepath.Join(c.dir, "lock"))
	if err != nil {
		return nil, fmt.Errorf("pgcluster: lock %s: %w", c.dir, err)
	}
	defer unlock()
	if err := c.ensureCopy(ctx, primary); err != nil {
		return nil, err
	}
	if err := c.ensureRunning(ctx, o); err != nil {
		return nil, err
	}
	return c, nil
}

// ensureCopy runs pg_basebackup from primary unless the data directory
// already holds a cluster. The copy keeps the primary's superuser and
// password, so the standby's password file is the primary's.
func (c *Cluster) ensureCopy(ctx context.Context, primary *Cluster) error {
	pwPath := filepath.Join(c.dir, "password")
	if _, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION")); err == nil {
		return c.ensureInit(ctx, false) // only loads the password
	}
	if entries, _ := os.ReadDir(c.dataDir); len(entries) > 0 {
		return fmt.Errorf("pgcluster: %s is not empty but holds no cluster (no PG_VERSION); delete it to start afresh", c.dataDir)
	}
	c.password = primary.password
	if err := os.WriteFile(pwPath, []byte(c.password+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgcluster: save password: %w", err)
	}
	if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
		return fmt.Errorf("pgcluster: create %s: %w", c.dataDir, err)
	}
	if err := c.r.chown(c.dataDir); err != nil {
		return err
	}
	fmt.Fprintf(c.log, "pgcluster: copying the primary on port %d into %s\n", primary.Port(), c.dataDir)
	begin := time.Now()
	cmd := c.r.cmd(ctx, c.r.pg("pg_basebackup"),
		"-D", c.dataDir, "-h", "127.0.0.1", "-p", strconv.Itoa(primary.Port()), "-U", superuser,
		"-X", "stream", "-R", "--checkpoint=fast", "--no-password")
	// The password travels in the environment, never on a command line
	// that ps shows; -R writes it into primary_conninfo, inside the data
	// directory that only the server's user can read.
	cmd.Env = append(cmd.Env, "PGPASSWORD="+c.password, "PGCONNECT_TIMEOUT=10")
	if out, err := cmd.CombinedOutput(); err != nil {
		// Leave no half copy that the next start would take for a cluster.
		os.RemoveAll(c.dataDir)
		return fmt.Errorf("pgcluster: pg_basebackup into %s: %w\n%s", c.dataDir, err, tailLines(out, 20))
	}
	fmt.Fprintf(c.log, "pgcluster: copied in %s\n", time.Since(begin).Round(time.Millisecond))
	return nil
}
