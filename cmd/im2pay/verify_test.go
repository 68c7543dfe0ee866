package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"im2pay/db/dbtest"
	"im2pay/seal"
)

func TestVerifyPrintsTheDayHeadsAndFailsOnATamperedLedger(t *testing.T) {
	url := dbtest.NewURL(t)
	env := envOf(map[string]string{"DATABASE_URL": url, "DATA_DIR": t.TempDir()})
	ctx := context.Background()
	var out bytes.Buffer
	err := withDatabase(ctx, mustConfig(t, env), &out, func(a *app) error {
		u, err := a.accounts.EnsureUser(ctx, "sealed", "sealed-pass-2026")
		if err != nil {
			return err
		}
		if _, err := a.wallet.Grant(ctx, u.ID, 12_34, "grant:sealed", "welcome_grant"); err != nil {
			return err
		}
		// The server's sealer, stepped: one step sees nobody writing, the
		// next seals.
		s := seal.NewSealer(a.conn, seal.Options{})
		for range 2 {
			if _, err := s.Tick(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"verify"}, env, &out); err != nil {
		t.Fatalf("verify: %v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[2], "1 seals over 1 transactions") || !strings.Contains(lines[3], "ledger verified") {
		t.Fatalf("verify printed:\n%s", out.String())
	}
	head := strings.Fields(lines[1])
	day, hash := head[0], head[3]
	if err := run(ctx, []string{"verify", "--since", day, "--head", hash}, env, &out); err != nil {
		t.Fatalf("verify against its own head: %v\n%s", err, out.String())
	}
	wrong := strings.Repeat("0", 64)
	if err := run(ctx, []string{"verify", "--since", day, "--head", wrong}, env, &out); err == nil {
		t.Fatal("a wrong published head passed")
	}
	for _, args := range [][]string{{"verify", "--head", hash}, {"verify", "--since", "yesterday"}, {"verify", "--since"}} {
		if err := run(ctx, args, env, &out); err == nil {
			t.Errorf("%v was accepted", args)
		}
	}
	// A superuser changes the grant, balance included: the exit status
	// says so, and the output says what.
	err = withDatabase(ctx, mustConfig(t, env), &out, func(a *app) error {
		_, err := a.conn.ExecContext(ctx, `
			BEGIN;
			SET LOCAL session_replication_role = replica;
			UPDATE ledger_entries SET amount = amount * 2, balance_after = balance_after * 2;
			UPDATE accounts SET balance = balance * 2 WHERE kind = 'wallet';
			COMMIT`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"verify"}, env, &out); err == nil || !strings.Contains(out.String(), "DISCREPANCY changed: seal 1") {
		t.Fatalf("verify of a tampered ledger: %v\n%s", err, out.String())
	}
}
