package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/db"
	"im2pay/db/pgcluster"
	"im2pay/ledger"
	"im2pay/spend"
	"im2pay/wallet"
)

// benchPassword is every bench user's password; its hash is computed once.
const benchPassword = "bench-pass-2026"

// bench is one run: the cluster, a pool for setup and in-process figures,
// the app child once started, and the references measured so far.
type bench struct {
	sz      sizes
	quick   bool
	dir     string
	tmpDir  string // removed at close (quick runs)
	out     io.Writer
	cluster *pgcluster.Cluster
	conn    *sqlx.DB
	store   *db.Store
	svc     *wallet.Service
	spend   *spend.Service
	run     string // a short id that keeps this run's keys and names apart
	hash    string // argon2id hash of benchPassword
	machine machine
	app     *app
	appBin  string // the built im2pay, for a second instance
	payCfg  string // its payment configuration

	pgbenchTPS float64    // reference of figures 1 and 3
	postingTPS float64    // figure 1, reference of figures 2 and 6
	memPeakKB  int64      // the app's peak resident memory over every phase
	sealWatch  *sealWatch // figure 8b's sampler, from the backlog's end to figure 7
	sealerOff  bool       // -sealer=off: the app runs with SEAL_PERIOD=0
	hist       histUsers  // figure 5's data set, made sure of before the app starts
}

func newBench(ctx context.Context, dir string, quick bool, sz sizes, out io.Writer) (*bench, error) {
	b := &bench{sz: sz, quick: quick, out: out, run: randomHex(3)}
	if dir == "" && quick {
		// 0755 (not MkdirTemp's 0700): the server runs as the postgres user.
		tmp, err := os.MkdirTemp("", "im2bench-")
		if err != nil {
			return nil, err
		}
		b.tmpDir = tmp
		dir = tmp
		if err := os.Chmod(tmp, 0o755); err != nil {
			return nil, err
		}
	} else if dir == "" {
		dir = filepath.Join(".data", "bench")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	b.dir = abs
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return nil, err
	}
	if err := b.open(ctx); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func (b *bench) open(ctx context.Context) error {
	var err error
	b.logf("cluster under %s (fsync on)", b.dir)
	b.cluster, err = pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(b.dir, "pg"), Database: "im2pay",
		Log: prefixWriter{b.out, "   "}})
	if err != nil {
		return err
	}
	if b.conn, err = db.Open(ctx, b.cluster.URL(), 40); err != nil {
		return err
	}
	if err := db.Migrate(ctx, b.conn); err != nil {
		return err
	}
	b.store = db.New(b.conn)
	led := ledger.New(b.store)
	b.svc = wallet.NewService(b.store, wallet.Options{Ledger: led})
	b.spend = spend.NewService(b.store, spend.Options{Ledger: led})
	if b.hash, err = account.DefaultPasswordHasher().Hash(benchPassword); err != nil {
		return err
	}
	b.machine = describeMachine(ctx, b)
	return nil
}

func (b *bench) close() {
	if b.app != nil {
		b.app.stop()
	}
	if b.conn != nil {
		b.conn.Close()
	}
	if b.cluster != nil {
		if err := b.cluster.Stop(); err != nil {
			b.logf("stop cluster: %v", err)
		}
	}
	if b.tmpDir != "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = pgcluster.Destroy(ctx, filepath.Join(b.tmpDir, "pg"))
		os.RemoveAll(b.tmpDir)
	}
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.out, format+"\n", args...)
}

// benchUser is a user made for one figure, with a known password.
type benchUser struct {
	ID       int64  `db:"id"`
	Username string `db:"username"`
	WalletID int64  `db:"wallet_id"`
}

// createUsers makes n users with wallets in two set-based queries; names
// are prefix + run id + number, so every run has its own.
func (b *bench) createUsers(ctx context.Context, prefix string, n int) ([]benchUser, error) {
	const q = `
		WITH u AS (
			INSERT INTO users (username, password_hash)
			SELECT $1 || g, $2 FROM generate_series(1, $3) g
			RETURNING id, username),
		a AS (
			INSERT INTO accounts (kind, user_id, balance) SELECT 'wallet', id, 0 FROM u
			RETURNING id, user_id)
		SELECT u.id, u.username, a.id AS wallet_id FROM u JOIN a ON a.user_id = u.id ORDER BY u.id`
	var users []benchUser
	if err := b.conn.SelectContext(ctx, &users, q, prefix+b.run+"_", b.hash, n); err != nil {
		return nil, fmt.Errorf("create %d users %s: %w", n, prefix, err)
	}
	return users, nil
}

// fund grants each user amount fen through the ledger (the real grant path).
func (b *bench) fund(ctx context.Context, users []benchUser, amount wallet.Money) error {
	for _, u := range users {
		key := fmt.Sprintf("bench-grant:%s:%d", b.run, u.ID)
		if _, err := b.svc.Grant(ctx, u.ID, amount, key, "welcome_grant"); err != nil {
			return fmt.Errorf("fund user %d: %w", u.ID, err)
		}
	}
	return nil
}

// machine is what BENCHMARKS.md records about where the figures came from.
type machine struct {
	Cores             int
	CPU, Go, Postgres string
}

func describeMachine(ctx context.Context, b *bench) machine {
	m := machine{Cores: runtime.NumCPU(), Go: runtime.Version(), CPU: "unknown"}
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	_ = b.conn.GetContext(ctx, &m.Postgres, `SELECT current_setting('server_version')`)
	return m
}

func randomHex(n int) string {
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	return hex.EncodeToString(buf)
}

// prefixWriter indents the cluster's progress lines under ours.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(buf []byte) (int, error) {
	_, err := io.WriteString(p.w, p.prefix+string(buf))
	return len(buf), err
}

// command runs name with args and returns its combined output.
func command(ctx context.Context, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out), nil
}
