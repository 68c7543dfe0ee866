// Command im2pay is IM2.0 Pay: `serve` (the web server), `migrate`, `seed`.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // TIME_ZONE works on machines without a zoneinfo database
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "im2pay:", err)
		os.Exit(1)
	}
}

const usage = `usage: im2pay <command>

commands:
  serve     migrate, then serve the web site (the default)
  migrate   apply database migrations and exit
  seed      create the demo account and exit
  sandbox   run the sandbox payment gateway alone (SANDBOX_ADDR, default 127.0.0.1:8090)
  maintenance on|off [all|alipay|wechat|card|paypal] [--message TEXT] [--until YYYY-MM-DDTHH:MM]
            close or reopen payment methods, without a restart
  env       list the environment variables and their defaults
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if cmd == "env" {
		for _, s := range settings {
			fmt.Fprintf(stdout, "%-26s %-16q %s\n", s.name, s.def, s.help)
		}
		return nil
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	switch cmd {
	case "serve":
		return serve(ctx, cfg, stdout)
	case "migrate":
		return withDatabase(ctx, cfg, stdout, func(a *app) error { return nil })
	case "seed":
		return withDatabase(ctx, cfg, stdout, func(a *app) error { return seedDemo(ctx, a, stdout) })
	case "sandbox":
		return runSandbox(ctx, cfg, stdout)
	case "maintenance":
		return withDatabase(ctx, cfg, stdout, func(a *app) error { return maintenance(ctx, a, args[1:], stdout) })
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}
