// Package sandboxtest starts the whole sandbox gateway inside a test and
// builds the merchant-side providers pointed at it, exactly as `make run`
// does with real ports.
package sandboxtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"im2pay/payment"
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

// TimeFactor scales every provider delay in tests: a late notification
// (45 minutes) arrives after about 2.7 seconds.
const TimeFactor = 0.001

// Gateway is a running sandbox and the providers that talk to it.
type Gateway struct {
	// URL is the origin of the providers' APIs (and of the control
	// endpoint); WebURL is the second origin, where the cashier, H5 and
	// approve pages are served, as the real providers serve them on other
	// hosts than their APIs (see sim.Pages).
	URL       string
	WebURL    string
	Providers map[payment.Method]payment.Provider
	Notifier  *sim.Notifier
	// Dir holds the provisioned keys and ids of both sides, for tests that
	// sign messages themselves (forgeries, replays).
	Dir string
	// Config is the merchant side's configuration of each provider, as the
	// app reads it from PAYMENT_CONFIG, for tests that run the app itself.
	Config Config
	// Alipay is the Alipay simulation itself, for tests that play its
	// refund faults and merchant-portal refunds.
	Alipay *alipaysandbox.Sandbox
	// WeChat, Card (UnionPay) and PayPal are the other simulations, for
	// the same: their refund outcomes, lost answers and portal refunds, and
	// (WeChat) its clock and the differences planted in its bill.
	WeChat *wechatsandbox.Sandbox
	Card   *unionpaysandbox.Sandbox
	PayPal *paypalsandbox.Sandbox
}

// Config is PAYMENT_CONFIG: each provider's merchant configuration, under
// the names cmd/im2pay reads.
type Config struct {
	Alipay alipay.Config   `json:"alipay"`
	WeChat wechat.Config   `json:"wechat"`
	Card   unionpay.Config `json:"card"`
	PayPal paypal.Config   `json:"paypal"`
}

// Options changes how the sandbox runs.
type Options struct {
	TimeFactor float64      // scales every provider delay; 0: TimeFactor
	Log        *slog.Logger // the notifier's log of deliveries; nil: none
}

// Start runs the sandbox for the app at appURL (PayPal's webhook goes to
// appURL/pay/notify/paypal) and stops it when the test ends.
func Start(t testing.TB, appURL string) *Gateway { return StartWith(t, appURL, Options{}) }

// StartWith is Start with options.
func StartWith(t testing.TB, appURL string, o Options) *Gateway {
	t.Helper()
	if o.TimeFactor == 0 {
		o.TimeFactor = TimeFactor
	}
	dir := t.TempDir()
	n := sim.NewNotifier(&http.Client{Timeout: 10 * time.Second}, o.TimeFactor, o.Log)
	srv := httptest.NewUnstartedServer(nil)
	// Another port of the same loopback address: another origin of the
	// same site, as excashier.alipay.com is to openapi.alipay.com.
	webSrv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	web := "http://" + webSrv.Listener.Addr().String()
	client := &http.Client{Timeout: 10 * time.Second}
	g := &Gateway{URL: base, WebURL: web, Providers: map[payment.Method]payment.Provider{}, Notifier: n, Dir: dir}

	var err error
	c := &g.Config
	c.Alipay, err = alipaysandbox.Provision(dir, base)
	must(t, err)
	c.WeChat, err = wechatsandbox.Provision(dir, base)
	must(t, err)
	c.Card, err = unionpaysandbox.Provision(dir, base)
	must(t, err)
	c.PayPal, err = paypalsandbox.Provision(dir, base, appURL+"/pay/notify/paypal")
	must(t, err)
	// As `im2pay sandbox` writes it: the page origin is each section's
	// only web origin.
	c.Alipay.WebOrigins, c.WeChat.WebOrigins, c.Card.WebOrigins, c.PayPal.WebOrigins =
		[]string{web}, []string{web}, []string{web}, []string{web}

	ali, err := alipaysandbox.New(dir, n, nil)
	must(t, err)
	wx, err := wechatsandbox.New(dir, n, nil)
	must(t, err)
	card, err := unionpaysandbox.New(dir, n, nil)
	must(t, err)
	pp, err := paypalsandbox.New(dir, n, nil)
	must(t, err)
	ali.WebOrigin, wx.BaseURL, card.WebOrigin, pp.WebOrigin = web, web, web, web
	g.Alipay = ali
	g.WeChat, g.Card, g.PayPal = wx, card, pp
	srv.Config.Handler, webSrv.Config.Handler = sandbox.Handlers(ali, wx, card, pp)
	srv.Start()
	webSrv.Start()
	t.Cleanup(func() { n.Close(); srv.Close(); webSrv.Close() })

	a, err := alipay.New(c.Alipay, client)
	must(t, err)
	w, err := wechat.New(c.WeChat, client)
	must(t, err)
	cp, err := unionpay.New(c.Card, client)
	must(t, err)
	p, err := paypal.New(c.PayPal, client)
	must(t, err)
	g.Providers[payment.Alipay], g.Providers[payment.WeChat] = a, w
	g.Providers[payment.Card], g.Providers[payment.PayPal] = cp, p
	return g
}

// Simulate settles an order at the sandbox as if the person chose outcome
// on the cashier page, and returns where the person would be sent.
func (g *Gateway) Simulate(ctx context.Context, outTradeNo string, outcome sim.Outcome) (string, error) {
	form := url.Values{"outcome": {string(outcome)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL+"/_sim/orders/"+outTradeNo+"/pay", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusNotFound {
		return "", fmt.Errorf("simulate %s: %w", outTradeNo, ErrUnknownOrder)
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("simulate %s %s: %d %s", outTradeNo, outcome, res.StatusCode, body)
	}
	var out struct {
		Redirect string `json:"redirect"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return "", err
	}
	return out.Redirect, nil
}

// ErrUnknownOrder is Simulate's answer for an order the provider has not
// heard of (yet).
var ErrUnknownOrder = errors.New("sandboxtest: the provider knows no such order")

// ScanURL is the sandbox page a phone would open for a WeChat code_url.
func (g *Gateway) ScanURL(codeURL string) string { return wechatsandbox.ScanURL(g.WebURL, codeURL) }

// FormOrigins are the origins the app's CSP form-action allows for this
// configuration, computed as the app computes them: each section's API
// origin and web origins.
func (g *Gateway) FormOrigins() []string {
	return g.Config.FormOrigins()
}

// FormOrigins is every section's form-action origins, without duplicates.
func (c Config) FormOrigins() []string {
	var out []string
	for _, f := range []func() ([]string, error){c.Alipay.FormOrigins, c.WeChat.FormOrigins, c.Card.FormOrigins, c.PayPal.FormOrigins} {
		list, err := f()
		if err != nil {
			panic(err) // the sandbox's own configuration is well-formed
		}
		for _, o := range list {
			if !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	return out
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
