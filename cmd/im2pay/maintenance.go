package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"im2pay/recharge"
)

// maintenance switches a method (or all) on or off without a restart: the
// switch lives in the database, which every server reads per request.
//
//	im2pay maintenance on|off [all|alipay|wechat|card|paypal] [--message TEXT] [--message-en TEXT] [--until 2026-11-24T18:00]
func maintenance(ctx context.Context, a *app, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "on" && args[0] != "off") {
		return errors.New("usage: im2pay maintenance on|off [all|alipay|wechat|card|paypal] [--message TEXT] [--message-en TEXT] [--until YYYY-MM-DDTHH:MM]")
	}
	on, method := args[0] == "on", "all"
	var message, messageEN string
	var until time.Time
	for i := 1; i < len(args); i++ {
		switch arg := args[i]; {
		case arg == "--message" && i+1 < len(args):
			message, i = args[i+1], i+1
		case arg == "--message-en" && i+1 < len(args):
			messageEN, i = args[i+1], i+1
		case arg == "--until" && i+1 < len(args):
			t, err := time.ParseInLocation("2006-01-02T15:04", args[i+1], a.loc)
			if err != nil {
				return fmt.Errorf("--until: %w", err)
			}
			until, i = t, i+1
		case slices.Contains([]string{"all", "alipay", "wechat", "card", "paypal"}, arg):
			method = arg
		default:
			return fmt.Errorf("maintenance: unexpected %q", arg)
		}
	}
	if !on && method == "all" {
		// "off all" lifts every switch, a single method's too: the
		// operator who says all means the site is open again.
		lifted, err := a.recharge.ClearAllMaintenance(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "maintenance off: all (%d switches lifted)\n", len(lifted))
		return nil
	}
	if !on {
		if err := a.recharge.ClearMaintenance(ctx, method); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "maintenance off: %s\n", method)
		return nil
	}
	if _, err := a.recharge.SwitchMaintenanceOn(ctx, method, recharge.Notice{ZH: message, EN: messageEN}, until); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "maintenance on: %s %q\n", method, message)
	return nil
}
