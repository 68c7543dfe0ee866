package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"im2pay/db/dbtest"
)

func TestTheReplicaURLOpensASecondPoolOnTheStandby(t *testing.T) {
	url := dbtest.NewURL(t)
	env := envOf(map[string]string{"DATABASE_URL": url, "DATABASE_REPLICA_URL": dbtest.StandbyURL(t, url),
		"DATA_DIR": t.TempDir()})
	ctx := context.Background()
	var out bytes.Buffer
	err := withDatabase(ctx, mustConfig(t, env), &out, func(a *app) error {
		if a.store.Replica() != a.replica || a.replica == nil {
			t.Fatal("the store does not read from the replica's pool")
		}
		var primary, standby bool
		if err := a.conn.GetContext(ctx, &primary, `SELECT pg_is_in_recovery()`); err != nil {
			return err
		}
		if err := a.replica.GetContext(ctx, &standby, `SELECT pg_is_in_recovery()`); err != nil {
			return err
		}
		if primary || !standby {
			t.Errorf("in recovery: DATABASE_URL %v, DATABASE_REPLICA_URL %v; want false, true", primary, standby)
		}
		return a.store.ReplicaReady(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAnUnreachableReplicaStopsTheStart(t *testing.T) {
	env := envOf(map[string]string{"DATABASE_URL": dbtest.NewURL(t),
		"DATABASE_REPLICA_URL": "postgres://nobody@127.0.0.1:9/none?sslmode=disable&connect_timeout=2", "DATA_DIR": t.TempDir()})
	var out bytes.Buffer
	err := withDatabase(context.Background(), mustConfig(t, env), &out, func(*app) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "replica") {
		t.Fatalf("start with an unreachable replica: %v, want an error naming the replica", err)
	}
}
