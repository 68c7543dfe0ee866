package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"im2pay/webhook"
)

// webhookEvery is how often the sender looks for due events.
const webhookEvery = 2 * time.Second

// sendWebhooks delivers balance-change events to WEBHOOK_URL until ctx ends.
// Every instance may run it: events are leased, one sender at a time.
func sendWebhooks(ctx context.Context, a *app, cfg config, log *slog.Logger) {
	s := &webhook.Sender{Store: a.store, URL: cfg.WebhookURL, Secret: []byte(cfg.WebhookSecret), Now: time.Now, Log: log}
	tick := time.NewTicker(webhookEvery)
	defer tick.Stop()
	for {
		n, err := s.Pass(ctx)
		if err != nil && ctx.Err() == nil {
			log.Warn("webhooks", "err", err)
		}
		if n > 0 {
			log.Info("webhooks delivered", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

const webhooksUsage = `usage: im2pay webhooks list [--pending] | resend EVENT_ID | off`

// webhooks lets an operator see deliveries and send one again.
//
//	im2pay webhooks list [--pending]   the newest 50 events and their delivery
//	im2pay webhooks resend EVENT_ID    deliver an event again (a given-up one too)
//	im2pay webhooks off                stop recording events (WEBHOOK_URL turns it on)
func webhooks(ctx context.Context, a *app, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(webhooksUsage)
	}
	switch {
	case args[0] == "list" && (len(args) == 1 || (len(args) == 2 && args[1] == "--pending")):
		events, err := a.store.WebhookEvents(ctx, len(args) == 2, 50)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "EVENT\tTYPE\tUSER\tAMOUNT\tBALANCE\tOCCURRED\tATTEMPTS\tSTATE\tLAST ERROR")
		for _, e := range events {
			state := "pending"
			switch {
			case e.DeliveredAt.Valid:
				state = "delivered " + e.DeliveredAt.Time.In(a.loc).Format(time.DateTime)
			case e.GivenUpAt.Valid:
				state = "given up " + e.GivenUpAt.Time.In(a.loc).Format(time.DateTime)
			case e.NextAttemptAt.Valid:
				state = "retry at " + e.NextAttemptAt.Time.In(a.loc).Format(time.DateTime)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%s\t%d\t%s\t%s\n", e.EventID, e.Type, e.Username, e.Amount, e.BalanceAfter,
				e.OccurredAt.In(a.loc).Format(time.DateTime), e.Attempts, state, e.LastError)
		}
		return w.Flush()
	case args[0] == "resend" && len(args) == 2:
		if err := a.store.ResendWebhookEvent(ctx, args[1]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s will be delivered again\n", args[1])
		return nil
	case args[0] == "off" && len(args) == 1:
		if err := a.store.SetWebhooksEnabled(ctx, false); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "balance changes are no longer recorded for webhooks; starting with WEBHOOK_URL turns them on")
		return nil
	}
	return errors.New(webhooksUsage)
}
