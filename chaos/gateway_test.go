package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"im2pay/payment/sandbox/sandboxtest"
	"im2pay/payment/sandbox/sim"
)

// timeFactor scales the providers' retry schedules: WeChat's first retry
// (15 s) comes after 0.15 s, Alipay's (4 min) after 2.4 s.
const timeFactor = 0.01

// gateway is the sandbox, in the test process so that it survives every
// crash of the app: the provider side keeps its state, and keeps retrying.
type gateway struct {
	*sandboxtest.Gateway
	configPath string // the app's PAYMENT_CONFIG

	mu    sync.Mutex
	acked map[string]bool // order number → a notification was acknowledged
	tries map[string]int  // order number → delivery attempts answered by the app
}

// startGateway starts the sandbox for the app at appOrigin and writes the
// app's PAYMENT_CONFIG into dir.
func startGateway(t *testing.T, dir, appOrigin string) *gateway {
	t.Helper()
	g := &gateway{acked: map[string]bool{}, tries: map[string]int{}}
	g.Gateway = sandboxtest.StartWith(t, appOrigin, sandboxtest.Options{TimeFactor: timeFactor,
		Log: slog.New(&deliveryLog{g: g})})
	raw, err := json.Marshal(g.Config)
	must(t, err)
	must(t, os.MkdirAll(dir, 0o700))
	g.configPath = filepath.Join(dir, "payment.json")
	must(t, os.WriteFile(g.configPath, raw, 0o600))
	return g
}

// simulate settles an order at the provider as the person would. found is
// false while the provider has not heard of the order yet.
func (g *gateway) simulate(ctx context.Context, no string, o sim.Outcome) (found bool, err error) {
	_, err = g.Simulate(ctx, no, o)
	if errors.Is(err, sandboxtest.ErrUnknownOrder) {
		return false, nil
	}
	return true, err
}

// ackedCount is how many of nos the app has acknowledged to the provider.
func (g *gateway) ackedCount(nos []string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, no := range nos {
		if g.acked[no] {
			n++
		}
	}
	return n
}

// redelivered is how many of nos the provider had to deliver more than once.
func (g *gateway) redelivered(nos []string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, no := range nos {
		if g.tries[no] > 1 {
			n++
		}
	}
	return n
}

// deliveryLog reads the notifier's log lines to learn, per order, how often
// the provider delivered and whether the app acknowledged: the provider's
// own view, which the app's database cannot give.
type deliveryLog struct{ g *gateway }

func (d *deliveryLog) Enabled(context.Context, slog.Level) bool { return true }

func (d *deliveryLog) Handle(_ context.Context, r slog.Record) error {
	var name string
	acked, delivered := false, false
	switch r.Message {
	case "sandbox: notification delivered":
		delivered = true
	case "sandbox: notification not delivered":
	default:
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "name":
			name = a.Value.String()
		case "acked":
			acked = a.Value.Bool()
		}
		return true
	})
	// "wechat notify NO" or "alipay notify NO STATUS".
	fields := strings.Fields(name)
	if len(fields) < 3 {
		return nil
	}
	no := fields[2]
	d.g.mu.Lock()
	defer d.g.mu.Unlock()
	d.g.tries[no]++
	if delivered && acked {
		d.g.acked[no] = true
	}
	return nil
}

func (d *deliveryLog) WithAttrs(as []slog.Attr) slog.Handler { return d }
func (d *deliveryLog) WithGroup(string) slog.Handler         { return d }

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
