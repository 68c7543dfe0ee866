package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"im2pay/payment/alipay"
	alipaysandbox "im2pay/payment/sandbox/alipay"
)

// app is the real server, `im2pay serve`, run as a child process so that its
// memory is its own and can be read from /proc.
type app struct {
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	token   string // SERVICE_TOKEN
	alipay  alipay.Config
	keysDir string // the sandbox's keys: the bench plays Alipay with them
	exited  chan struct{}
}

// startApp builds the app, provisions Alipay sandbox keys (the bench signs
// notifications as Alipay would), and serves against the bench cluster.
func (b *bench) startApp(ctx context.Context) ([]result, error) {
	bin := filepath.Join(b.dir, "im2pay")
	b.logf("   go build -o %s ./cmd/im2pay", bin)
	if _, err := command(ctx, nil, "go", "build", "-o", bin, "im2pay/cmd/im2pay"); err != nil {
		return nil, err
	}
	a := &app{token: randomHex(32), keysDir: filepath.Join(b.dir, "sandbox"), exited: make(chan struct{})}
	var err error
	// Nothing listens at the gateway: the app only needs Alipay's keys to
	// verify notifications; the reconciler's queries (orders pending over
	// two minutes) would fail harmlessly, and the bench leaves none pending.
	if a.alipay, err = alipaysandbox.Provision(a.keysDir, "http://127.0.0.1:9"); err != nil {
		return nil, err
	}
	payCfg := filepath.Join(b.dir, "payment.json")
	raw, _ := json.Marshal(map[string]any{"alipay": a.alipay})
	if err := os.WriteFile(payCfg, raw, 0o600); err != nil {
		return nil, err
	}
	b.appBin, b.payCfg = bin, payCfg
	if err := b.launch(a, "app"); err != nil {
		return nil, err
	}
	b.app = a
	if err := a.waitHealthy(ctx); err != nil {
		return nil, fmt.Errorf("%w (log: %s)", err, filepath.Join(b.dir, "app.log"))
	}
	b.logf("   serving on %s, pid %d", a.base, a.cmd.Process.Pid)
	return nil, nil
}

// launch starts the built app as a, on a free port, writing its log to
// name.log and its own files under name/ (a second instance must not share
// the first one's DATA_DIR).
func (b *bench) launch(a *app, name string, env ...string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	a.base = "http://" + addr
	logf, err := os.Create(filepath.Join(b.dir, name+".log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	a.cmd = exec.Command(b.appBin, "serve")
	a.cmd.Env = append(os.Environ(), "LISTEN_ADDR="+addr, "DATABASE_URL="+b.cluster.URL(),
		"DATA_DIR="+filepath.Join(b.dir, name), "PAYMENT_CONFIG="+b.payCfg, "SERVICE_TOKEN="+a.token,
		"APP_ENV=development", "SEED_DEMO=false", "SANDBOX_ADDR=")
	if b.sealerOff {
		a.cmd.Env = append(a.cmd.Env, "SEAL_PERIOD=0")
	}
	a.cmd.Env = append(a.cmd.Env, env...)
	a.cmd.Stdout, a.cmd.Stderr = logf, logf
	if err := a.cmd.Start(); err != nil {
		return err
	}
	go func() { a.cmd.Wait(); close(a.exited) }()
	return nil
}

// startSecond starts a second instance of the app over the same database,
// as a load balancer would have beside the first.
func (b *bench) startSecond(ctx context.Context) (*app, error) {
	a, err := b.startInstance(ctx, "app2")
	if err != nil {
		return nil, fmt.Errorf("second instance: %w", err)
	}
	b.logf("   second instance serving on %s, pid %d", a.base, a.cmd.Process.Pid)
	return a, nil
}

// startInstance starts another instance of the built app, with the main
// one's token and keys and env added to its environment, and waits until
// it is healthy.
func (b *bench) startInstance(ctx context.Context, name string, env ...string) (*app, error) {
	a := &app{token: b.app.token, alipay: b.app.alipay, keysDir: b.app.keysDir, exited: make(chan struct{})}
	if err := b.launch(a, name, env...); err != nil {
		return nil, err
	}
	if err := a.waitHealthy(ctx); err != nil {
		a.stop()
		return nil, fmt.Errorf("%w (log: %s)", err, filepath.Join(b.dir, name+".log"))
	}
	return a, nil
}

func (a *app) waitHealthy(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-a.exited:
			return fmt.Errorf("the app exited during startup")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get(a.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("the app did not answer /healthz within 30s")
}

// stop asks the app to drain and waits for it.
func (a *app) stop() {
	select {
	case <-a.exited:
		return
	default:
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.exited:
	case <-time.After(15 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.exited
	}
}

// The app's peak resident memory is VmHWM in /proc/<pid>/status. Writing 5
// to clear_refs resets it to the current size, which gives one phase its
// own peak; memPeakKB keeps the largest of all, which the reset would lose.

// hwmKB reads the app's VmHWM and folds it into the run's peak.
func (b *bench) hwmKB() (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", b.app.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmHWM %q: %w", v, err)
			}
			b.memPeakKB = max(b.memPeakKB, kb)
			return kb, nil
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", b.app.cmd.Process.Pid)
}

// resetHWM starts a new phase: the peak so far is kept, then VmHWM is reset.
func (b *bench) resetHWM() error {
	if _, err := b.hwmKB(); err != nil {
		return err
	}
	path := fmt.Sprintf("/proc/%d/clear_refs", b.app.cmd.Process.Pid)
	if err := os.WriteFile(path, []byte("5"), 0); err != nil {
		return fmt.Errorf("reset peak memory: %w", err)
	}
	return nil
}

// figureMemory is figure 7: the largest VmHWM of every phase, read before
// the app is stopped.
func (b *bench) figureMemory(context.Context) ([]result, error) {
	if _, err := b.hwmKB(); err != nil {
		return nil, err
	}
	b.app.stop()
	mb := float64(b.memPeakKB) / 1024
	r := result{ID: "7", Name: "server peak resident memory", Value: fmt.Sprintf("%.1f MB", mb),
		Ref: "VmHWM over figures 3-6", Measured: fmt.Sprintf("%.1f MB", mb), Target: "≤ 150 MB", Met: mb <= 150}
	return []result{r}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// splitPassword takes the password out of a PostgreSQL URL, for pgbench.
func splitPassword(raw string) (string, string) {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw, ""
	}
	pw, _ := u.User.Password()
	return u.User.Username(), pw
}
