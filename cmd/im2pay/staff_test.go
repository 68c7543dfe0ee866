package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"im2pay/db/dbtest"
)

func TestAnOperatorAddsAndDisablesStaffAndTheAuditLogSaysCLI(t *testing.T) {
	env := envOf(map[string]string{"DATABASE_URL": dbtest.NewURL(t), "DATA_DIR": t.TempDir()})
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, []string{"staff", "add", "Alice", "--role", "finance"}, env, &out); err != nil {
		t.Fatal(err)
	}
	pw := regexp.MustCompile(`(?m)^([A-Za-z0-9]{20})$`).FindStringSubmatch(out.String())
	if pw == nil || !strings.Contains(out.String(), "alice (finance)") {
		t.Fatalf("staff add printed:\n%s", out.String())
	}
	for _, bad := range [][]string{
		{"staff", "add", "bob", "--role", "root"},
		{"staff", "add", "alice", "--role", "viewer"},
		{"staff", "disable", "nobody"},
		{"staff", "remove", "alice"},
	} {
		if err := run(ctx, bad, env, &out); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
	out.Reset()
	if err := run(ctx, []string{"staff", "disable", "alice"}, env, &out); err != nil {
		t.Fatal(err)
	}
	err := withDatabase(ctx, mustConfig(t, env), &out, func(a *app) error {
		if _, err := a.staff.Login(ctx, "alice", pw[1], "192.0.2.1"); err == nil {
			t.Error("a disabled member logged in with the right password")
		}
		var actions []string
		q := `SELECT action FROM audit_log WHERE staff_name = 'cli' AND staff_id IS NULL AND object_id = 'alice' ORDER BY id`
		if err := a.conn.SelectContext(ctx, &actions, q); err != nil {
			return err
		}
		if strings.Join(actions, ",") != "staff.add,staff.disable" {
			t.Errorf("audit lines by cli = %q, want staff.add then staff.disable", actions)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
