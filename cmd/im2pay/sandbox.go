package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"im2pay/payment/sandbox"
	alipaysandbox "im2pay/payment/sandbox/alipay"
	paypalsandbox "im2pay/payment/sandbox/paypal"
	"im2pay/payment/sandbox/sim"
	unionpaysandbox "im2pay/payment/sandbox/unionpay"
	wechatsandbox "im2pay/payment/sandbox/wechat"
)

// provisionSandbox makes (first time) or reuses the sandbox's keys and the
// app's matching keys under DATA_DIR/sandbox, and writes the payment
// configuration that points the app at the sandbox: its APIs on
// SANDBOX_ADDR, and as every section's only web origin its pages on
// SANDBOX_WEB_ADDR, so that our CSP allows exactly the sandbox's two
// origins, as in production it allows the providers' API and page hosts.
func provisionSandbox(cfg config) (string, error) {
	dir := filepath.Join(cfg.DataDir, "sandbox")
	base := "http://" + cfg.SandboxAddr
	var pc paymentConfig
	var err error
	var errs []error
	ali, err := alipaysandbox.Provision(dir, base)
	errs = append(errs, err)
	wx, err := wechatsandbox.Provision(dir, base)
	errs = append(errs, err)
	card, err := unionpaysandbox.Provision(dir, base)
	errs = append(errs, err)
	pp, err := paypalsandbox.Provision(dir, base, cfg.BaseURL+"/pay/notify/paypal")
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return "", fmt.Errorf("provision sandbox: %w", err)
	}
	web := []string{"http://" + cfg.SandboxWebAddr}
	ali.WebOrigins, wx.WebOrigins, card.WebOrigins, pp.WebOrigins = web, web, web, web
	pc.Alipay, pc.WeChat, pc.Card, pc.PayPal = &ali, &wx, &card, &pp
	return dir, writePaymentConfig(cfg.PaymentConfig, pc)
}

// startSandbox serves the sandbox gateway until ctx ends.
func startSandbox(ctx context.Context, cfg config, dir string, log *slog.Logger, stdout io.Writer) error {
	n := sim.NewNotifier(&http.Client{Timeout: 10 * time.Second}, 1, log)
	ali, err := alipaysandbox.New(dir, n, log)
	if err != nil {
		return err
	}
	wx, err := wechatsandbox.New(dir, n, log)
	if err != nil {
		return err
	}
	card, err := unionpaysandbox.New(dir, n, log)
	if err != nil {
		return err
	}
	pp, err := paypalsandbox.New(dir, n, log)
	if err != nil {
		return err
	}
	webOrigin := "http://" + cfg.SandboxWebAddr
	ali.WebOrigin, wx.BaseURL, card.WebOrigin, pp.WebOrigin = webOrigin, webOrigin, webOrigin, webOrigin
	api, web := sandbox.Handlers(ali, wx, card, pp)
	apiLn, err := net.Listen("tcp", cfg.SandboxAddr)
	if err != nil {
		return fmt.Errorf("sandbox: listen on %s: %w", cfg.SandboxAddr, err)
	}
	webLn, err := net.Listen("tcp", cfg.SandboxWebAddr)
	if err != nil {
		apiLn.Close()
		return fmt.Errorf("sandbox: listen on %s (SANDBOX_WEB_ADDR): %w", cfg.SandboxWebAddr, err)
	}
	fmt.Fprintf(stdout, "sandbox payment gateway on http://%s, its cashier pages on http://%s (keys under %s)\n",
		apiLn.Addr(), webLn.Addr(), dir)
	servers := []*http.Server{
		{Handler: api, ReadHeaderTimeout: 5 * time.Second},
		{Handler: web, ReadHeaderTimeout: 5 * time.Second},
	}
	go func() {
		<-ctx.Done()
		n.Close()
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		for _, srv := range servers {
			_ = srv.Shutdown(shutdownCtx)
		}
	}()
	for i, ln := range []net.Listener{apiLn, webLn} {
		go func() {
			if err := servers[i].Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("sandbox stopped", "addr", ln.Addr().String(), "err", err)
			}
		}()
	}
	return nil
}

// runSandbox is `im2pay sandbox`: the gateway alone.
func runSandbox(ctx context.Context, cfg config, stdout io.Writer) error {
	if cfg.SandboxAddr == "" {
		cfg.SandboxAddr = "127.0.0.1:8090"
		if cfg.SandboxWebAddr == "" {
			cfg.SandboxWebAddr = "127.0.0.1:8091"
		}
	}
	dir, err := provisionSandbox(cfg)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stdout, nil))
	if err := startSandbox(ctx, cfg, dir, log, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "payment configuration for the app: %s\n", cfg.PaymentConfig)
	<-ctx.Done()
	return nil
}
