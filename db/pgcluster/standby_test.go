package pgcluster

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

func TestAStandbyReplaysWhatThePrimaryWrites(t *testing.T) {
	t.Parallel()
	primary := start(t, Options{Dir: testDir(t), Database: "app", Fast: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	standby, err := StartStandby(ctx, primary, Options{Dir: testDir(t), Fast: true, Log: logWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := standby.Stop(); err != nil {
			t.Error(err)
		}
	})
	if standby.Port() == primary.Port() {
		t.Fatalf("the standby shares the primary's port %d", primary.Port())
	}
	pconn, sconn := open(t, primary.URL()), open(t, standby.URL())
	if got := query(t, sconn, `SELECT pg_is_in_recovery()::text || ' ' || current_database()`); got != "true app" {
		t.Fatalf("standby: in recovery, database = %q, want \"true app\"", got)
	}
	if _, err := pconn.Exec(`CREATE TABLE copied (v text); INSERT INTO copied VALUES ('after the copy')`); err != nil {
		t.Fatal(err)
	}
	waitReplayed(t, pconn, sconn)
	if got := query(t, sconn, `SELECT v FROM copied`); got != "after the copy" {
		t.Fatalf("standby reads %q", got)
	}
	if _, err := sconn.Exec(`INSERT INTO copied VALUES ('on the standby')`); err == nil {
		t.Fatal("the standby took a write")
	}
}

// waitReplayed waits, bounded by a deadline rather than a sleep, until the
// standby has replayed everything inserted into the primary's WAL so far.
func waitReplayed(t *testing.T, primary, standby *sql.DB) {
	t.Helper()
	target := query(t, primary, `SELECT pg_current_wal_insert_lsn()::text`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		var done bool
		if err := standby.QueryRowContext(ctx, `SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn`, target).Scan(&done); err != nil {
			t.Fatalf("standby never replayed up to %s: %v", target, err)
		}
		if done {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("standby never replayed up to %s: %v", target, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
