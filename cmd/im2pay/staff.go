package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"im2pay/audit"
	"im2pay/staff"
)

// staffCommand adds or disables a staff account of the operations
// console. Both are written to the audit log as staff "cli": whoever holds
// the server's shell is recorded as such.
//
//	im2pay staff add NAME --role viewer|operator|finance|admin
//	im2pay staff disable NAME
func staffCommand(ctx context.Context, a *app, args []string, stdout io.Writer) error {
	const usage = "usage: im2pay staff add NAME --role viewer|operator|finance|admin | im2pay staff disable NAME"
	switch {
	case len(args) == 4 && args[0] == "add" && args[2] == "--role":
		role := staff.Role(args[3])
		if !role.Valid() {
			return fmt.Errorf("staff add: unknown role %q\n%s", args[3], usage)
		}
		m, pw, err := a.staff.Add(ctx, staff.NormalizeName(args[1]), role)
		if err != nil {
			return err
		}
		if err := cliAudit(ctx, a, audit.Entry{Action: "staff.add", ObjectKind: "staff", ObjectID: m.Name,
			After: map[string]any{"role": m.Role}}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "staff %s (%s) added.\none-time password (shown once; changed at the first login at /ops/login):\n%s\n", m.Name, m.Role, pw)
		return nil
	case len(args) == 2 && args[0] == "disable":
		m, err := a.staff.Disable(ctx, staff.NormalizeName(args[1]))
		if err != nil {
			return err
		}
		if err := cliAudit(ctx, a, audit.Entry{Action: "staff.disable", ObjectKind: "staff", ObjectID: m.Name,
			After: map[string]any{"disabled_at": m.DisabledAt.Time}}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "staff %s disabled; their sessions have ended.\n", m.Name)
		return nil
	}
	return errors.New(usage)
}

func cliAudit(ctx context.Context, a *app, e audit.Entry) error {
	e.At, e.StaffName, e.ClientIP = a.staff.Now(), "cli", "local"
	return audit.Append(ctx, a.conn, e)
}

// sweepStaff deletes timed-out staff sessions and old failed staff logins
// every ten minutes, so the tables stay small; correctness never depends
// on it (each request checks both timeouts).
func sweepStaff(ctx context.Context, s *staff.Service, log *slog.Logger) {
	tick := time.NewTicker(10 * time.Minute)
	defer tick.Stop()
	for {
		if _, err := s.DeleteStaleSessions(ctx); err != nil && ctx.Err() == nil {
			log.Warn("sweep staff sessions", "err", err)
		}
		if err := s.DeleteLoginFailuresBefore(ctx, s.Now().Add(-2*staff.ThrottleWindow)); err != nil && ctx.Err() == nil {
			log.Warn("sweep staff login failures", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
