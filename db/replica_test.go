package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
	"im2pay/db/dbtest"
)

// TestHistoryExportAndSummaryReadTheReplicaAndMoneyThePrimary runs a store
// over a real primary and a streaming standby of it. While the standby's
// replay is paused, a grant shows in the balance (the primary) and not yet
// in the history, the statement or the summary (the standby): which proves
// which pool each reads, with no race, since the standby cannot move.
func TestHistoryExportAndSummaryReadTheReplicaAndMoneyThePrimary(t *testing.T) {
	url := dbtest.NewURL(t)
	primary := openPool(t, url)
	replica := openPool(t, dbtest.StandbyURL(t, url))
	store := db.NewWithReplica(primary, replica)
	f := fixtureOn(t, primary, store)
	u := f.user("replica_reader")
	if _, err := f.grant("first", u.WalletID, 100_00); err != nil {
		t.Fatal(err)
	}
	dbtest.WaitReplayed(t, primary, replica)
	if err := store.ReplicaReady(f.ctx); err != nil {
		t.Fatalf("a caught-up replica is not ready: %v", err)
	}
	wantLines(t, f, u.WalletID, 1, 100_00)

	pauseReplay(t, replica)
	if _, err := f.grant("second", u.WalletID, 50_00); err != nil {
		t.Fatal(err)
	}
	if got := f.balance(u.WalletID); got != 150_00 {
		t.Fatalf("balance (from the primary) = %d, want 150_00", got)
	}
	wantLines(t, f, u.WalletID, 1, 100_00)

	if _, err := replica.ExecContext(f.ctx, `SELECT pg_wal_replay_resume()`); err != nil {
		t.Fatal(err)
	}
	dbtest.WaitReplayed(t, primary, replica)
	wantLines(t, f, u.WalletID, 2, 150_00)
}

// wantLines checks what the history, the statement and the summary of one
// wallet say: n lines in each, in total in this month's summary.
func wantLines(t *testing.T, f *fixture, wallet int64, n int, in int64) {
	t.Helper()
	hist, err := f.store.History(f.ctx, db.HistoryQuery{AccountID: wallet, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	last, err := f.store.LastEntryID(f.ctx, wallet)
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := f.store.StatementPage(f.ctx, db.StatementQuery{AccountID: wallet, UpToID: last, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	totals, err := f.store.MonthlyTotals(f.ctx, wallet, "UTC", now.AddDate(0, -1, 0), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, m := range totals {
		sum += m.In
	}
	if len(hist) != n || len(stmt) != n || sum != in {
		t.Fatalf("history %d lines, statement %d lines, summary %d in; want %d, %d and %d", len(hist), len(stmt), sum, n, n, in)
	}
}

// pauseReplay stops the standby replaying the primary's WAL until the test
// resumes it (or ends), and returns once the pause has taken effect.
func pauseReplay(t *testing.T, standby *sqlx.DB) {
	t.Helper()
	ctx := context.Background()
	if _, err := standby.ExecContext(ctx, `SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { standby.ExecContext(ctx, `SELECT pg_wal_replay_resume()`) })
	wait, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		var state string
		if err := standby.GetContext(wait, &state, `SELECT pg_get_wal_replay_pause_state()`); err != nil {
			t.Fatalf("replay never paused: %v", err)
		}
		if state == "paused" {
			return
		}
		select {
		case <-wait.Done():
			t.Fatal("replay never paused")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func openPool(t *testing.T, url string) *sqlx.DB {
	t.Helper()
	conn, err := sqlx.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
