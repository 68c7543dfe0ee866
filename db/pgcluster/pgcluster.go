// Package pgcluster runs a private PostgreSQL cluster for development and
// tests, so neither needs a system-wide server or hand-made credentials.
//
// Layout of Options.Dir:
//
//	data/       the cluster (owned by the postgres user when we run as root)
//	password    the superuser's password, 0600
//	port        the port last used, so the next start reuses it
//	server.log  the server's output
//	lock        serialises Start calls from several processes
package pgcluster

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/lib/pq"
)

// superuser is the cluster's only role; initdb creates it.
const superuser = "im2pay"

// readyTimeout bounds how long Start waits for the server to accept
// connections: crash recovery of a small dev cluster takes seconds, not more.
const readyTimeout = 30 * time.Second

// Options says where the cluster lives and how to run it.
type Options struct {
	Dir      string    // data directory root, e.g. ".data/pg"; created if missing
	Port     int       // TCP port on 127.0.0.1; 0 reuses the last port or picks a free one
	Database string    // database created if missing; "" means "postgres"
	Fast     bool      // tests: fsync=off, synchronous_commit=off, full_page_writes=off
	Log      io.Writer // progress lines; may be nil
}

// Cluster is a running PostgreSQL cluster, started by this process or reused.
type Cluster struct {
	dir, dataDir string
	database     string
	password     string
	r            *runner
	log          io.Writer

	mu      sync.Mutex
	port    int
	started bool          // this process launched the server, so Stop may stop it
	proc    *os.Process   // the launched process (runuser when we are root)
	exited  chan struct{} // closed once proc has been reaped
}

// Start initialises the cluster if needed, starts it unless it is already
// running, creates the database if missing, and returns once the server
// accepts connections.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	c, err := newCluster(o)
	if err != nil {
		return nil, err
	}
	unlock, err := lockFile(ctx, filepath.Join(c.dir, "lock"))
	if err != nil {
		return nil, fmt.Errorf("pgcluster: lock %s: %w", c.dir, err)
	}
	defer unlock()
	if err := c.ensureInit(ctx, o.Fast); err != nil {
		return nil, err
	}
	if err := c.ensureRunning(ctx, o); err != nil {
		return nil, err
	}
	if err := c.ensureDatabase(ctx); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func newCluster(o Options) (*Cluster, error) {
	if o.Dir == "" {
		return nil, errors.New("pgcluster: Options.Dir is required")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pgcluster: create %s: %w", dir, err)
	}
	c := &Cluster{dir: dir, dataDir: filepath.Join(dir, "data"), database: o.Database, log: o.Log}
	if c.database == "" {
		c.database = "postgres"
	}
	if c.log == nil {
		c.log = io.Discard
	}
	c.r, err = newRunner(dir, c.dataDir)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// URL is the superuser URL of the cluster's database.
func (c *Cluster) URL() string { return c.AdminURL(c.database) }

// AdminURL is the superuser URL of another database on the same server.
func (c *Cluster) AdminURL(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(superuser, c.password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port())),
		Path:     "/" + db,
		RawQuery: "sslmode=disable&connect_timeout=5",
	}
	return u.String()
}

// DataDir is the cluster's data directory (<Dir>/data).
func (c *Cluster) DataDir() string { return c.dataDir }

// Port is the TCP port the server listens on.
func (c *Cluster) Port() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.port
}

// Stop shuts the server down (fast mode: sessions are disconnected) if this
// process started it. A cluster that was already running is left alone,
// because someone else (another `make run`) owns it.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.started {
		return nil
	}
	select {
	case <-c.exited:
		// Our server already died: pg_ctl stop now could hit a server
		// someone else has since started in the same directory.
		c.started = false
		return nil
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := c.r.pgctl(ctx, "stop", "-D", c.dataDir, "-m", "fast", "-w")
	if err != nil {
		// No postmaster.pid yet (failed startup): signal the process
		// itself; runuser passes SIGTERM on to the server.
		c.proc.Signal(syscall.SIGTERM)
	}
	select {
	case <-c.exited: // reaped, so nothing of ours lingers after Stop
	case <-ctx.Done():
		return fmt.Errorf("pgcluster: stop %s: %v: %s", c.dataDir, err, out)
	}
	c.started = false
	return nil
}

// Destroy stops whatever server runs in dir, whoever started it, without a
// checkpoint, then removes dir. It is for throwaway clusters, such as those
// left behind by a test process that was killed.
func Destroy(ctx context.Context, dir string) error {
	dataDir := filepath.Join(dir, "data")
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); err == nil {
		r, err := newRunner(dir, dataDir)
		if err != nil {
			return err
		}
		clearStalePid(dataDir, io.Discard)
		if up, _ := r.running(ctx, dataDir); up {
			if out, err := r.pgctl(ctx, "stop", "-D", dataDir, "-m", "immediate", "-w"); err != nil {
				return fmt.Errorf("pgcluster: stop %s: %w: %s", dataDir, err, out)
			}
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("pgcluster: remove %s: %w", dir, err)
	}
	return nil
}

// waitReady connects until the server answers, the launched process dies,
// or readyTimeout passes.
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	conn, err := sql.Open("postgres", c.AdminURL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close()
	for {
		// Pinged aside, so a server that dies mid-handshake is noticed at
		// once rather than after the ping's timeout.
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		errc := make(chan error, 1)
		go func() { errc <- conn.PingContext(pctx) }()
		select {
		case err = <-errc:
		case <-c.exited:
			pcancel()
			return errors.New("server exited during startup")
		}
		pcancel()
		var pqErr *pq.Error
		if err == nil {
			return nil
		} else if errors.As(err, &pqErr) && pqErr.Code.Class() == "28" {
			// Bad password: the server is up but is not ours, or its
			// password file was replaced. Waiting will not help.
			return fmt.Errorf("server on port %d rejects our credentials: %w", c.port, err)
		}
		select {
		case <-c.exited:
			return fmt.Errorf("server exited during startup (last connection error: %v)", err)
		case <-ctx.Done():
			return fmt.Errorf("server not accepting connections (%v): last connection error: %v", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ensureDatabase creates the configured database unless it exists.
func (c *Cluster) ensureDatabase(ctx context.Context) error {
	conn, err := sql.Open("postgres", c.AdminURL("postgres"))
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer conn.Close()
	var exists bool
	err = conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, c.database).Scan(&exists)
	if err != nil {
		return fmt.Errorf("pgcluster: look up database %q: %w", c.database, err)
	}
	if exists {
		return nil
	}
	_, err = conn.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(c.database))
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "42P04" {
		err = nil // created meanwhile by a process using the same server
	}
	if err != nil {
		return fmt.Errorf("pgcluster: create database %q: %w", c.database, err)
	}
	fmt.Fprintf(c.log, "pgcluster: created database %s\n", c.database)
	return nil
}
