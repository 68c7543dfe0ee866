// Package dbtest gives each test a fresh, migrated PostgreSQL database.
//
// Migrating costs far more than copying, so the migrations run once into a
// template database named after their content hash, and every test database
// is a CREATE DATABASE ... TEMPLATE copy of it.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"im2pay/db"
	"im2pay/db/pgcluster"
)

// templateLockID is the advisory lock key (taken in the postgres database)
// under which one process builds the template while the others wait.
const templateLockID = 7_202_611_240_002

var (
	base    *url.URL           // server URL; its path is replaced per database
	cluster *pgcluster.Cluster // nil when TEST_DATABASE_URL is used
	admin   *sqlx.DB           // the postgres database, for CREATE/DROP DATABASE
	// strategy ends CREATE DATABASE. PostgreSQL 15's default (WAL_LOG)
	// took 0.7-2.5 s per copy of a small template; FILE_COPY ~150 ms.
	strategy string

	tplOnce sync.Once
	tplName string
	tplErr  error
)

// Main is called from a package's TestMain. With TEST_DATABASE_URL set the
// tests use that server (the URL's role must be a superuser or have
// CREATEDB); otherwise a throwaway cluster runs from the first test that
// needs it to the end of the tests. It exits with the tests' code.
func Main(m *testing.M) {
	mainCalled = true
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, "dbtest:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

var (
	mainCalled bool
	startOnce  sync.Once
	startErr   error
	clusterDir string // the throwaway cluster's directory, "" when none runs
)

// server starts the tests' server on first use rather than in Main, so a
// test binary whose tests never touch the database starts none. That
// matters for fuzzing: each fuzz worker is a copy of the test binary, and
// a cluster started by a worker that the fuzzing engine then kills outlives
// it, holding the engine's pipes (inherited file descriptors): the engine
// then waits for ever for them to close.
func server() error {
	if !mainCalled {
		return errors.New("call dbtest.Main(m) from TestMain")
	}
	startOnce.Do(func() { startErr = start() })
	return startErr
}

func start() error {
	if raw := os.Getenv("TEST_DATABASE_URL"); raw != "" {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return errors.New("TEST_DATABASE_URL must be a postgres:// URL")
		}
		base = u
	} else {
		dir, err := startCluster()
		clusterDir = dir // "" when nothing was left running
		if err != nil {
			return err
		}
	}
	var err error
	admin, err = sqlx.Connect("postgres", ServerURL("postgres"))
	if err != nil {
		return fmt.Errorf("connect to test server: %w", err)
	}
	var version int
	if err := admin.Get(&version, `SELECT current_setting('server_version_num')::int`); err != nil {
		return fmt.Errorf("server version: %w", err)
	}
	if version >= 150000 {
		strategy = " STRATEGY = FILE_COPY"
	}
	return nil
}

// stop closes what server started.
func stop() error {
	if admin != nil {
		admin.Close()
	}
	if clusterDir == "" {
		return nil
	}
	return stopCluster(clusterDir)
}

// Cluster is the throwaway cluster the tests run on, started if need be,
// for tests that stop or inspect it; nil when TEST_DATABASE_URL is used.
func Cluster() *pgcluster.Cluster {
	if err := server(); err != nil {
		panic("dbtest: " + err.Error())
	}
	return cluster
}

// ServerURL is the URL of database dbname on the test server.
func ServerURL(dbname string) string {
	if base == nil {
		if err := server(); err != nil {
			panic("dbtest: " + err.Error())
		}
	}
	u := *base
	u.Path, u.RawPath = "/"+dbname, ""
	// No connect_timeout: a test must not fail because a busy machine
	// forked a backend slowly. A server that never answers still ends the
	// run, at go test's -timeout.
	q := u.Query()
	q.Del("connect_timeout")
	u.RawQuery = q.Encode()
	// The same connection parameters as the app (db.OpenBounded), so tests
	// send parameters the way production does.
	return db.WithAppSettings(u.String())
}

// New returns a pool on a fresh, migrated database, closed and dropped when
// the test ends.
func New(t testing.TB) *sqlx.DB {
	t.Helper()
	u := NewURL(t)
	conn, err := sqlx.Open("postgres", u)
	if err != nil {
		t.Fatalf("dbtest: open: %v", err)
	}
	// Registered after NewURL's cleanup, so it runs first: DROP DATABASE
	// then finds no sessions of ours.
	t.Cleanup(func() { conn.Close() })
	return conn
}

// NewURL is New for tests that need a URL, for example to start the server
// as a subprocess.
func NewURL(t testing.TB) string {
	t.Helper()
	if err := server(); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tplOnce.Do(func() { tplName, tplErr = buildTemplate(ctx) })
	if tplErr != nil {
		t.Fatalf("dbtest: template: %v", tplErr)
	}
	name := "test_" + randomHex(8)
	q := "CREATE DATABASE " + pq.QuoteIdentifier(name) + " TEMPLATE " + pq.QuoteIdentifier(tplName) + strategy
	if _, err := admin.ExecContext(ctx, q); err != nil {
		t.Fatalf("dbtest: %s: %v", q, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// FORCE: a test may leave sessions open (a subprocess server, say).
		q := "DROP DATABASE IF EXISTS " + pq.QuoteIdentifier(name) + " WITH (FORCE)"
		if _, err := admin.ExecContext(ctx, q); err != nil {
			t.Errorf("dbtest: %s: %v", q, err)
		}
	})
	return ServerURL(name)
}

// buildTemplate creates and migrates the template unless it exists.
func buildTemplate(ctx context.Context) (string, error) {
	name, err := templateName()
	if err != nil {
		return "", err
	}
	// Advisory locks belong to a session, so hold one connection throughout.
	conn, err := admin.Connx(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, templateLockID); err != nil {
		return "", fmt.Errorf("lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, templateLockID)
	var exists bool
	err = conn.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name)
	if err != nil || exists {
		return name, err
	}
	// Built under another name and renamed when complete, so a process
	// killed mid-migration never leaves a half-made template to be copied.
	build := pq.QuoteIdentifier(name + "_build")
	for _, q := range []string{
		"DROP DATABASE IF EXISTS " + build + " WITH (FORCE)",
		"CREATE DATABASE " + build + strategy,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return "", fmt.Errorf("%s: %w", q, err)
		}
	}
	if err := migrate(ctx, name+"_build"); err != nil {
		return "", err
	}
	// CREATE DATABASE ... TEMPLATE needs the template free of sessions:
	// migrate closed its pool, and RENAME waits out lingering backends.
	q := "ALTER DATABASE " + build + " RENAME TO " + pq.QuoteIdentifier(name)
	if _, err := conn.ExecContext(ctx, q); err != nil {
		return "", fmt.Errorf("%s: %w", q, err)
	}
	return name, nil
}

func migrate(ctx context.Context, dbname string) error {
	conn, err := sqlx.Open("postgres", ServerURL(dbname))
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := db.Migrate(ctx, conn); err != nil {
		return fmt.Errorf("migrate %s: %w", dbname, err)
	}
	return nil
}

// templateName hashes every file in db.Migrations (names and contents), so
// editing or adding a migration yields a new template.
func templateName() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(db.Migrations, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(db.Migrations, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash migrations: %w", err)
	}
	return "im2pay_tpl_" + hex.EncodeToString(h.Sum(nil))[:12], nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
