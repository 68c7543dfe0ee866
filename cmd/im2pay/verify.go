package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"im2pay/seal"
)

// verifyLedger recomputes the ledger's hash chain and every cached
// balance from the entries, prints each day's head (the hash an operator
// publishes outside the system) and every discrepancy, and fails when
// there is one, so a cron job or a person sees it in the exit status.
//
//	im2pay verify [--since YYYY-MM-DD [--head HEX]]
func verifyLedger(ctx context.Context, a *app, args []string, stdout io.Writer) error {
	const usage = "usage: im2pay verify [--since YYYY-MM-DD [--head HEX]]"
	var o seal.VerifyOptions
	for len(args) > 0 {
		if len(args) < 2 {
			return errors.New(usage)
		}
		switch args[0] {
		case "--since":
			if _, err := time.ParseInLocation(time.DateOnly, args[1], a.loc); err != nil {
				return fmt.Errorf("verify: --since %q is not a day (YYYY-MM-DD)\n%s", args[1], usage)
			}
			o.Since = args[1]
		case "--head":
			o.Head = args[1]
		default:
			return fmt.Errorf("verify: unknown option %q\n%s", args[0], usage)
		}
		args = args[2:]
	}
	if o.Head != "" && o.Since == "" {
		return fmt.Errorf("verify: --head needs --since, the day it was published for\n%s", usage)
	}
	o.Location = a.loc
	r, err := seal.Verify(ctx, a.conn, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "day (%s)   seal      through transaction  head\n", a.loc)
	for _, d := range r.Days {
		if d.Day >= o.Since {
			fmt.Fprintf(stdout, "%s  %-8d  %-19d  %x\n", d.Day, d.N, d.LastTransactionID, d.Hash)
		}
	}
	fmt.Fprintf(stdout, "%d seals over %d transactions recomputed; %d transactions not sealed yet\n",
		r.Seals, r.Transactions, r.Unsealed)
	for _, p := range r.Problems {
		fmt.Fprintf(stdout, "DISCREPANCY %s: %s\n", p.Kind, p.Text)
	}
	if !r.OK() {
		return fmt.Errorf("verify: %d discrepancies in the ledger", len(r.Problems))
	}
	fmt.Fprintln(stdout, "ledger verified: the chain and every cached balance agree with the entries")
	return nil
}
