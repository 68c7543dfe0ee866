package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"im2pay/payment/alipay"
	"im2pay/payment/paypal"
	"im2pay/payment/sandbox"
	alipaysandbox "im2pay/payment/sandbox/alipay"
	paypalsandbox "im2pay/payment/sandbox/paypal"
	"im2pay/payment/sandbox/sim"
	unionpaysandbox "im2pay/payment/sandbox/unionpay"
	wechatsandbox "im2pay/payment/sandbox/wechat"
	"im2pay/payment/unionpay"
	"im2pay/payment/wechat"
)

// timeFactor scales the providers' retry schedules: WeChat's first retry
// (15 s) comes after 0.15 s, Alipay's (4 min) after 2.4 s.
const timeFactor = 0.01

// gateway is the sandbox, in the test process so that it survives every
// crash of the app: the provider side keeps its state, and keeps retrying.
type gateway struct {
	url        string
	configPath string
	notifier   *sim.Notifier
	silence    float64

	mu    sync.Mutex
	acked map[string]bool // order number → a notification was acknowledged
	tries map[string]int  // order number → delivery attempts answered by the app
}

// paymentConfig is the app's PAYMENT_CONFIG, as cmd/im2pay reads it.
type paymentConfig struct {
	Alipay *alipay.Config   `json:"alipay,omitempty"`
	WeChat *wechat.Config   `json:"wechat,omitempty"`
	Card   *unionpay.Config `json:"card,omitempty"`
	PayPal *paypal.Config   `json:"paypal,omitempty"`
}

func startGateway(t *testing.T, dir, appOrigin string, silence float64) *gateway {
	t.Helper()
	g := &gateway{silence: silence, acked: map[string]bool{}, tries: map[string]int{}}
	log := slog.New(&deliveryLog{g: g})
	g.notifier = sim.NewNotifier(&http.Client{Timeout: 10 * time.Second}, timeFactor, log)
	srv := httptest.NewUnstartedServer(nil)
	g.url = "http://" + srv.Listener.Addr().String()

	var pc paymentConfig
	ali, err := alipaysandbox.Provision(dir, g.url)
	must(t, err)
	wx, err := wechatsandbox.Provision(dir, g.url)
	must(t, err)
	card, err := unionpaysandbox.Provision(dir, g.url)
	must(t, err)
	pp, err := paypalsandbox.Provision(dir, g.url, appOrigin+"/pay/notify/paypal")
	must(t, err)
	pc.Alipay, pc.WeChat, pc.Card, pc.PayPal = &ali, &wx, &card, &pp
	raw, err := json.Marshal(pc)
	must(t, err)
	g.configPath = filepath.Join(dir, "payment.json")
	must(t, os.WriteFile(g.configPath, raw, 0o600))

	aliSim, err := alipaysandbox.New(dir, g.notifier, nil)
	must(t, err)
	wxSim, err := wechatsandbox.New(dir, g.notifier, nil)
	must(t, err)
	cardSim, err := unionpaysandbox.New(dir, g.notifier, nil)
	must(t, err)
	ppSim, err := paypalsandbox.New(dir, g.notifier, nil)
	must(t, err)
	srv.Config.Handler = sandbox.Handler(aliSim, wxSim, cardSim, ppSim)
	srv.Start()
	t.Cleanup(func() { g.notifier.Close(); srv.Close() })
	return g
}

// simulate settles an order at the provider as the person would. found is
// false while the provider has not heard of the order yet.
func (g *gateway) simulate(ctx context.Context, no string, o sim.Outcome) (found bool, err error) {
	form := url.Values{"outcome": {string(o)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url+"/_sim/orders/"+no+"/pay", strings.NewReader(form.Encode()))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	switch res.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return true, fmt.Errorf("simulate %s %s: %d %s", no, o, res.StatusCode, body)
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
