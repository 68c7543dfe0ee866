// Command im2pay is IM2.0 Pay: `serve` (the web server), `migrate`, `seed`,
// `sandbox`, `maintenance`, `staff`, `verify`, `check` (the go-live checklist) and `env`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
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
  serve     migrate, then serve the web site
  migrate   apply database migrations and exit
  seed      create the demo account and exit
  sandbox   run the sandbox payment gateway alone (SANDBOX_ADDR, default 127.0.0.1:8090)
  maintenance on|off [all|alipay|wechat|card|paypal] [--message TEXT] [--message-en TEXT] [--until YYYY-MM-DDTHH:MM]
            close or reopen payment methods, without a restart
  webhooks list [--pending] | resend EVENT_ID | off
            see the balance-change deliveries to WEBHOOK_URL, send one again,
            or stop recording them
  staff add NAME --role viewer|operator|finance|admin | staff disable NAME
            add a staff account of the operations console (/ops; prints its
            one-time password) or disable one, ending its sessions
  verify [--since YYYY-MM-DD [--head HEX]]
            recompute the ledger's hash chain and every cached balance from
            the entries, print each day's head hash, check one published head;
            exits non-zero on any discrepancy
  check     the go-live checklist: everything a real provider would refuse in the
            payment configuration and the environment; exits non-zero if it finds any
  env       list the environment variables and their defaults

With APP_ENV=production every command refuses to start on play money (the
sandbox, the demo seed, the sandbox's keys, a private database, provider
URLs that are not public https) and names every problem at once.
`

func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "--help" || arg == "-help"
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	// No command, or a request for help anywhere a command reads its
	// arguments, prints the usage and starts nothing: an operator who types
	// "im2pay" or "im2pay sandbox -h" to learn must not start a server.
	if len(args) == 0 || isHelp(args[0]) || (len(args) > 1 && isHelp(args[1])) {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmd := args[0]
	if cmd == "env" {
		for _, s := range settings {
			fmt.Fprintf(stdout, "%-26s %-16q %s\n", s.name, s.def, s.help)
		}
		return nil
	}
	cfg, err := loadConfig(getenv)
	if cmd == "check" {
		return printChecklist(stdout, cfg, append(configFindings(err), goLive(cfg)...))
	}
	if cfg.Production {
		err = errors.Join(err, productionCommand(cmd), refusals(goLive(cfg)))
	}
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
	case "webhooks":
		return withDatabase(ctx, cfg, stdout, func(a *app) error { return webhooks(ctx, a, args[1:], stdout) })
	case "staff":
		return withDatabase(ctx, cfg, stdout, func(a *app) error { return staffCommand(ctx, a, args[1:], stdout) })
	case "verify":
		return withDatabase(ctx, cfg, stdout, func(a *app) error { return verifyLedger(ctx, a, args[1:], stdout) })
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

// productionCommand refuses the commands that only make play money.
func productionCommand(cmd string) error {
	switch cmd {
	case "seed":
		return errors.New("production refuses seed: it creates demo accounts with a published password and free credit")
	case "sandbox":
		return errors.New("production refuses sandbox: it runs the play-money gateway")
	}
	return nil
}

// configFindings turns loadConfig's report (a heading, then one line per
// variable) into checklist lines, so `im2pay check` still says everything
// else when a variable is bad.
func configFindings(err error) []finding {
	if err == nil {
		return nil
	}
	var out []finding
	lines := strings.Split(err.Error(), "\n")
	for _, l := range lines[min(1, len(lines)-1):] {
		out = append(out, finding{area: "environment", text: l + ".", refusesStart: true})
	}
	return out
}
