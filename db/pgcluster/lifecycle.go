package pgcluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// retryable marks start failures worth another attempt.
type retryable struct{ error }

func (r retryable) Unwrap() error { return r.error }

// ensureInit runs initdb unless the data directory already holds a cluster,
// and loads the superuser password.
func (c *Cluster) ensureInit(ctx context.Context, fast bool) error {
	pwPath := filepath.Join(c.dir, "password")
	if _, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION")); err == nil {
		pw, err := os.ReadFile(pwPath)
		if err != nil {
			return fmt.Errorf("pgcluster: cluster in %s has no readable password (%w); delete %s to start afresh", c.dataDir, err, c.dir)
		}
		c.password = strings.TrimSpace(string(pw))
		return nil
	}
	if entries, _ := os.ReadDir(c.dataDir); len(entries) > 0 {
		return fmt.Errorf("pgcluster: %s is not empty but holds no cluster (no PG_VERSION); delete it to start afresh", c.dataDir)
	}
	fmt.Fprintf(c.log, "pgcluster: initialising cluster in %s\n", c.dataDir)
	begin := time.Now()
	c.password = randomHex(16)
	// Saved before initdb so that a cluster never exists without it.
	if err := os.WriteFile(pwPath, []byte(c.password+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgcluster: save password: %w", err)
	}
	// initdb must find the data directory owned by the server's user; the
	// parent is ours, so initdb could not create it itself.
	if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
		return fmt.Errorf("pgcluster: create %s: %w", c.dataDir, err)
	}
	if err := c.r.chown(c.dataDir); err != nil {
		return err
	}
	out, err := c.initdb(ctx, "C.UTF-8", fast)
	if err != nil && bytes.Contains(out, []byte("locale")) {
		fmt.Fprintf(c.log, "pgcluster: locale C.UTF-8 unavailable, using C\n")
		out, err = c.initdb(ctx, "C", fast)
	}
	if err != nil {
		return fmt.Errorf("pgcluster: initdb in %s: %w\n%s", c.dataDir, err, tailLines(out, 20))
	}
	fmt.Fprintf(c.log, "pgcluster: initialised in %s\n", time.Since(begin).Round(time.Millisecond))
	return nil
}

func (c *Cluster) initdb(ctx context.Context, locale string, fast bool) ([]byte, error) {
	// initdb reads the password from a file, which must be readable by the
	// server's user: a private copy that lives only as long as initdb.
	pwfile := filepath.Join(c.dir, "initdb.pwfile")
	if err := os.WriteFile(pwfile, []byte(c.password+"\n"), 0o600); err != nil {
		return nil, err
	}
	defer os.Remove(pwfile)
	if err := c.r.chown(pwfile); err != nil {
		return nil, err
	}
	args := []string{
		"-D", c.dataDir, "-U", superuser, "--pwfile=" + pwfile,
		"--auth-host=scram-sha-256", "--auth-local=reject",
		"--encoding=UTF8", "--locale=" + locale,
	}
	if fast {
		args = append(args, "--no-sync")
	}
	return c.r.cmd(ctx, c.r.pg("initdb"), args...).CombinedOutput()
}

// ensureRunning reuses a running server or launches one and waits until it
// accepts connections.
func (c *Cluster) ensureRunning(ctx context.Context, o Options) error {
	clearStalePid(c.dataDir, c.log)
	up, err := c.r.running(ctx, c.dataDir)
	if err != nil {
		return err
	}
	if up {
		port, err := pidFilePort(c.dataDir)
		if err != nil {
			return err
		}
		c.port = port
		fmt.Fprintf(c.log, "pgcluster: reusing cluster already running on port %d\n", port)
		if err := c.waitReady(ctx); err != nil {
			return fmt.Errorf("pgcluster: running cluster in %s: %w", c.dataDir, err)
		}
		return nil
	}
	for attempt := 1; ; attempt++ {
		err = c.launch(ctx, c.choosePort(o.Port), o.Port != 0, o.Fast)
		if err == nil || !errors.As(err, new(retryable)) || attempt == 3 {
			break
		}
		fmt.Fprintf(c.log, "pgcluster: start failed, retrying: %v\n", err)
		time.Sleep(time.Second)
	}
	if err != nil {
		return err
	}
	portFile := filepath.Join(c.dir, "port")
	if err := os.WriteFile(portFile, []byte(strconv.Itoa(c.port)+"\n"), 0o644); err != nil {
		return fmt.Errorf("pgcluster: save port: %w", err)
	}
	return nil
}

// launch starts the server on port and waits for it. The server is our
// child (through runuser when root) rather than daemonised by pg_ctl, so
// its death is noticed at once and it is reaped by us, not by PID 1: in
// containers PID 1 may reap late or never, and pg_ctl takes a zombie
// postmaster for a running one.
func (c *Cluster) launch(ctx context.Context, port int, fixedPort, fast bool) error {
	logPath := filepath.Join(c.dir, "server.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgcluster: open server log: %w", err)
	}
	defer logf.Close() // the server keeps its own descriptor
	offset, _ := logf.Seek(0, io.SeekEnd)
	begin := time.Now()
	cmd := c.r.cmd(context.Background(), c.r.pg("postgres"), serverArgs(c.dataDir, port, fast)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own session, so Ctrl-C in the terminal of `make run` does not
	// reach the server, just as with pg_ctl.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgcluster: start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	c.mu.Lock()
	c.port, c.proc, c.exited, c.started = port, cmd.Process, exited, true
	c.mu.Unlock()
	if err := c.waitReady(ctx); err != nil {
		c.Stop()
		log := readFrom(logPath, offset)
		err = fmt.Errorf("pgcluster: start on port %d: %w\n%s:\n%s", port, err, logPath, tailLines([]byte(log), 20))
		// Worth retrying: a port we picked was taken meanwhile, or backends
		// of a crashed server have not yet let go of its shared memory.
		if (!fixedPort && strings.Contains(log, "Address already in use")) || strings.Contains(log, "is still in use") {
			return retryable{err}
		}
		return err
	}
	fmt.Fprintf(c.log, "pgcluster: started on port %d in %s\n", port, time.Since(begin).Round(time.Millisecond))
	return nil
}

// serverArgs puts every setting on the command line, so it holds whatever
// the state of postgresql.conf, and Fast can differ between starts.
func serverArgs(dataDir string, port int, fast bool) []string {
	settings := []string{
		"listen_addresses=127.0.0.1",
		"unix_socket_directories=", // TCP only: socket paths have a length limit
		"max_connections=200",      // room for load tests
		"shared_buffers=128MB",
		// What a streaming standby (StartStandby) needs of its primary;
		// PostgreSQL's defaults, said here so that a postgresql.conf
		// edited otherwise cannot take them away.
		"wal_level=replica",
		"max_wal_senders=10",
	}
	if fast {
		// Tests throw the cluster away, so durability only costs time.
		settings = append(settings, "fsync=off", "synchronous_commit=off", "full_page_writes=off")
	}
	args := []string{"-D", dataDir, "-p", strconv.Itoa(port)}
	for _, s := range settings {
		args = append(args, "-c", s)
	}
	return args
}

// choosePort prefers the requested port, then the one used last time (so
// URLs stay stable across `make run`s), then any free one.
func (c *Cluster) choosePort(requested int) int {
	if requested != 0 {
		return requested
	}
	if b, err := os.ReadFile(filepath.Join(c.dir, "port")); err == nil {
		if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && portFree(p) {
			return p
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 5432 // cannot probe; let the server report the problem
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func portFree(p int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// lockFile takes an exclusive flock on path, polling so ctx can end the wait.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// readFrom returns the file's contents after offset: this start's log lines.
func readFrom(path string, offset int64) string {
	b, err := os.ReadFile(path)
	if err != nil || offset > int64(len(b)) {
		return ""
	}
	return string(b[offset:])
}

func tailLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
