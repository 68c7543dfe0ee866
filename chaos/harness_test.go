package chaos

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"

	"im2pay/db/pgcluster"
)

var full = flag.Bool("chaos.full", false, "run the full chaos suite (make chaos) instead of the short one")

// fullRun reports whether the full form was asked for, by flag or CHAOS=full.
func fullRun() bool { return *full || os.Getenv("CHAOS") == "full" }

// pick is the short or the full value of a knob.
func pick[T any](short, long T) T {
	if fullRun() {
		return long
	}
	return short
}

// binary is the im2pay executable TestMain builds once for every test.
var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "im2pay-chaos-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "im2pay")
	build := exec.Command("go", "build", "-o", binary, "./cmd/im2pay")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "chaos: build im2pay: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// serviceToken is the IM backend's bearer token the app is started with.
const serviceToken = "chaos-suite-service-token-0123456789abcdef"

// env is one test's world: a private cluster, the sandbox gateway, the app
// process, and a direct connection for the checks.
type env struct {
	t       *testing.T
	dir     string
	cluster *pgcluster.Cluster
	pgPort  int
	check   *sqlx.DB // the checker's own connection (application_name chaos-check)
	gw      *gateway
	appAddr string // where clients reach the app
	baseURL string // the app's public origin: where the sandbox notifies
	dbURL   string // what the app connects to (the cluster, or a proxy)
	app     *exec.Cmd
	appEnv  []string
	starts  int
	opts    options
}

// options tune an env before the app starts.
type options struct {
	// notifyVia puts something (a proxy) between the sandbox and the app:
	// it returns the origin to notify, given the app's own address.
	notifyVia func(appAddr string) string
	// dbVia does the same between the app and PostgreSQL.
	dbVia func(pgAddr string) string
	// requestTimeout is the app's REQUEST_TIMEOUT ("" keeps the default).
	requestTimeout string
	// clientDeadline is how long clients wait for an answer (0: 20 s).
	clientDeadline time.Duration
}

func newEnv(t *testing.T, o options) *env {
	t.Helper()
	dir, err := os.MkdirTemp("", "im2pay-chaos-")
	if err != nil {
		t.Fatal(err)
	}
	// The postgres user (when we are root) must pass through to the data.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, opts: o}
	t.Cleanup(e.close)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Not Fast: fsync and synchronous commit stay on, so a crash is real.
	e.cluster, err = pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(dir, "pg"), Database: "chaos"})
	if err != nil {
		t.Fatal(err)
	}
	e.pgPort = e.cluster.Port()
	e.check, err = sqlx.Open("postgres", e.cluster.URL()+"&application_name=chaos-check")
	if err != nil {
		t.Fatal(err)
	}
	e.check.SetMaxOpenConns(4)

	e.appAddr = freeAddr(t)
	e.baseURL = "http://" + e.appAddr
	if o.notifyVia != nil {
		e.baseURL = o.notifyVia(e.appAddr)
	}
	e.dbURL = e.cluster.URL()
	if o.dbVia != nil {
		e.dbURL = withHost(e.dbURL, o.dbVia(net.JoinHostPort("127.0.0.1", strconv.Itoa(e.pgPort))))
	}
	e.gw = startGateway(t, filepath.Join(dir, "sandbox"), e.baseURL)
	reqTimeout := o.requestTimeout
	if reqTimeout == "" {
		reqTimeout = "60s"
	}
	e.appEnv = []string{
		"PATH=" + os.Getenv("PATH"),
		"DATABASE_URL=" + e.dbURL,
		"LISTEN_ADDR=" + e.appAddr,
		"BASE_URL=" + e.baseURL,
		"DATA_DIR=" + filepath.Join(dir, "app"),
		"PAYMENT_CONFIG=" + e.gw.configPath,
		"SERVICE_TOKEN=" + serviceToken,
		"SIGNUP_GRANT=" + wallet(grantFen),
		"DB_MAX_CONNS=" + strconv.Itoa(poolSize),
		"RECONCILE_INTERVAL=1s",
		"RECONCILE_AFTER=3s",
		"REQUEST_TIMEOUT=" + reqTimeout,
		"TIME_ZONE=UTC",
	}
	e.startApp()
	return e
}

// poolSize is the app's DB_MAX_CONNS.
const poolSize = 8

// grantFen is SIGNUP_GRANT: every user starts with it.
const grantFen = 500_00

func wallet(fen int64) string { return fmt.Sprintf("%d.%02d", fen/100, fen%100) }

// startApp starts `im2pay serve` and waits until /healthz answers 200.
func (e *env) startApp() {
	e.t.Helper()
	logf, err := os.OpenFile(filepath.Join(e.dir, "app.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		e.t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(binary, "serve")
	cmd.Env = e.appEnv
	cmd.Stdout, cmd.Stderr = logf, logf
	// If the test process dies, the app must not outlive it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.app = cmd
	e.starts++
	if err := e.waitHealthy(60 * time.Second); err != nil {
		e.t.Fatalf("app did not become healthy (start %d): %v\n%s", e.starts, err, e.logTail())
	}
}

// killApp is the crash: SIGKILL, no shutdown, then reap.
func (e *env) killApp() {
	if e.app == nil {
		return
	}
	_ = e.app.Process.Signal(syscall.SIGKILL)
	_ = e.app.Wait()
	e.app = nil
}

// appAlive reports whether the app process we started is still running.
func (e *env) appAlive() bool {
	return e.app != nil && e.app.ProcessState == nil && e.app.Process.Signal(syscall.Signal(0)) == nil
}

func (e *env) waitHealthy(limit time.Duration) error {
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		res, err := c.Get("http://" + e.appAddr + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("healthz %d", res.StatusCode)
		}
		last = err
		if e.app != nil && e.app.ProcessState != nil {
			return fmt.Errorf("app exited: %v", e.app.ProcessState)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return last
}

// restartPG brings the cluster back after StopImmediate, on the same port.
func (e *env) restartPG() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(e.dir, "pg"), Port: e.pgPort, Database: "chaos"})
	if err != nil {
		e.t.Fatalf("restart PostgreSQL: %v", err)
	}
	e.cluster = c
}

func (e *env) logTail() string {
	b, _ := os.ReadFile(filepath.Join(e.dir, "app.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func (e *env) close() {
	e.killApp()
	if e.check != nil {
		e.check.Close()
	}
	if e.cluster != nil {
		_ = e.cluster.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = pgcluster.Destroy(ctx, filepath.Join(e.dir, "pg"))
	if e.t.Failed() {
		e.t.Logf("app log tail:\n%s", e.logTail())
	}
	os.RemoveAll(e.dir)
}

// freeAddr is a loopback address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
