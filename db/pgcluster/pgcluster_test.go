package pgcluster

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testDir returns a cluster directory the postgres user can reach (unlike
// t.TempDir(), which is 0700), destroyed with anything running in it.
func testDir(t *testing.T) string {
	t.Helper()
	base, err := os.MkdirTemp("", "im2pay-pgcluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "pg")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := Destroy(ctx, dir); err != nil {
			t.Error(err)
		}
		os.RemoveAll(base)
	})
	return dir
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(b []byte) (int, error) {
	w.t.Log(string(b[:len(b)-1]))
	return len(b), nil
}

func start(t *testing.T, o Options) *Cluster {
	t.Helper()
	o.Log = logWriter{t}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	return c
}

func open(t *testing.T, url string) *sql.DB {
	t.Helper()
	conn, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func query(t *testing.T, conn *sql.DB, q string) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}

func TestStartConnectStop(t *testing.T) {
	t.Parallel()
	dir := testDir(t)
	c := start(t, Options{Dir: dir, Database: "app", Fast: true})
	conn := open(t, c.URL())
	if got := query(t, conn, `SELECT current_database() || ' ' || current_user`); got != "app im2pay" {
		t.Errorf("connected as %q, want database app as im2pay", got)
	}
	if got := query(t, conn, `SHOW max_connections`); got != "200" {
		t.Errorf("max_connections = %s", got)
	}
	if st, err := os.Stat(filepath.Join(dir, "password")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("password file: %v, mode %v", err, st.Mode())
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "port")); string(b) != strconv.Itoa(c.Port())+"\n" {
		t.Errorf("port file holds %q, port is %d", b, c.Port())
	}
	conn.Close()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if up, err := c.r.running(context.Background(), c.DataDir()); up || err != nil {
		t.Errorf("after Stop: running=%v err=%v", up, err)
	}
}

func TestStartTwiceReuses(t *testing.T) {
	t.Parallel()
	dir := testDir(t)
	first := start(t, Options{Dir: dir, Database: "app", Fast: true})
	second := start(t, Options{Dir: dir, Database: "other", Fast: true})
	if first.Port() != second.Port() || second.started {
		t.Fatalf("second Start: port %d (first %d), started=%v; want reuse", second.Port(), first.Port(), second.started)
	}
	// Stopping a reused cluster must leave it running for its owner.
	if err := second.Stop(); err != nil {
		t.Fatal(err)
	}
	if got := query(t, open(t, second.URL()), `SELECT current_database()`); got != "other" {
		t.Errorf("second database: %q", got)
	}
}

func TestDataSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := testDir(t)
	first := start(t, Options{Dir: dir, Database: "app", Fast: true})
	conn := open(t, first.URL())
	if _, err := conn.Exec(`CREATE TABLE kept (v text); INSERT INTO kept VALUES ('hello')`); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}
	// A leftover postmaster.pid naming a live non-postgres process (a PID
	// reused after a reboot) must not pass for a running server.
	fake := strconv.Itoa(os.Getpid()) + "\n" + first.DataDir() + "\n0\n1\n"
	if err := os.WriteFile(filepath.Join(first.DataDir(), "postmaster.pid"), []byte(fake), 0o600); err != nil {
		t.Fatal(err)
	}
	second := start(t, Options{Dir: dir, Database: "app", Fast: true})
	if second.Port() != first.Port() || !second.started {
		t.Errorf("restart: port %d (was %d), started=%v", second.Port(), first.Port(), second.started)
	}
	if got := query(t, open(t, second.URL()), `SELECT v FROM kept`); got != "hello" {
		t.Errorf("after restart: %q", got)
	}
}

func TestRecoversAfterKill(t *testing.T) {
	t.Parallel()
	dir := testDir(t)
	// Not Fast: the row must come back through WAL replay.
	first := start(t, Options{Dir: dir, Database: "app"})
	conn := open(t, first.URL())
	if _, err := conn.Exec(`CREATE TABLE kept (v text); INSERT INTO kept VALUES ('durable')`); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	pid, err := pidFileField(first.DataDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(pid)
	if err := syscall.Kill(n, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// SIGKILL cannot be refused: wait for the exit however long a busy
	// machine takes to reap it (go test's -timeout bounds a hang).
	<-first.exited
	if _, err := os.Stat(filepath.Join(first.DataDir(), "postmaster.pid")); err != nil {
		t.Fatalf("want the stale postmaster.pid a crash leaves: %v", err)
	}
	second := start(t, Options{Dir: dir, Database: "app"})
	if !second.started {
		t.Error("second Start reused a dead cluster")
	}
	if got := query(t, open(t, second.URL()), `SELECT v FROM kept`); got != "durable" {
		t.Errorf("after crash: %q", got)
	}
	// The dead server's Stop must not touch the new one.
	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}
	if up, _ := second.r.running(context.Background(), second.DataDir()); !up {
		t.Error("first.Stop stopped the second server")
	}
}

func TestStopImmediateThenStartAgain(t *testing.T) {
	t.Parallel()
	dir := testDir(t)
	first := start(t, Options{Dir: dir, Database: "app"})
	conn := open(t, first.URL())
	if _, err := conn.Exec(`CREATE TABLE kept (v text); INSERT INTO kept VALUES ('durable')`); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if pid, err := first.PostmasterPID(); err != nil || pid <= 0 {
		t.Fatalf("PostmasterPID = %d, %v", pid, err)
	}
	if err := first.StopImmediate(); err != nil {
		t.Fatal(err)
	}
	if up, _ := first.r.running(context.Background(), first.DataDir()); up {
		t.Fatal("server still running after StopImmediate")
	}
	second := start(t, Options{Dir: dir, Database: "app", Port: first.Port()})
	if second.Port() != first.Port() {
		t.Errorf("restarted on port %d, want %d", second.Port(), first.Port())
	}
	if got := query(t, open(t, second.URL()), `SELECT v FROM kept`); got != "durable" {
		t.Errorf("after immediate stop: %q", got)
	}
	if _, err := os.Stat(first.Program("pgbench")); err != nil {
		t.Errorf("Program(pgbench): %v", err)
	}
}

func TestAClusterUnderAClosedDirectorySaysWhichAndWhatToDo(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root hands the cluster to the postgres user")
	}
	home, err := os.MkdirTemp("", "im2pay-closed-home-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	// A clone under a home directory of mode 0700, as /root is.
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(home, "im2pay", ".data", "pg")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := Start(ctx, Options{Dir: dir, Log: logWriter{t}})
	if err == nil {
		c.Stop()
		t.Fatal("started under a directory the postgres user cannot enter")
	}
	for _, want := range []string{"cannot enter " + home + " (mode 0700)", "chmod o+x " + home, "DATA_DIR=", "DATABASE_URL="} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
}
