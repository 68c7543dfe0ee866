package statement_test

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/ledger"
	"im2pay/statement"
	"im2pay/wallet"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestHistoryExportAndSummaryReadTheReplicaAndMoneyThePrimary runs the
// services over a real primary and a streaming standby of it. While the
// standby's replay is paused, a grant shows in the balance (the primary) and
// not yet in the history, the statement or the summary (the standby): which
// proves which pool each reads, with no race, since the standby cannot move.
func TestHistoryExportAndSummaryReadTheReplicaAndMoneyThePrimary(t *testing.T) {
	ctx := context.Background()
	url := dbtest.NewURL(t)
	primary := openPool(t, url)
	replica := openPool(t, dbtest.StandbyURL(t, url))
	store := db.NewWithReplica(primary, replica)
	led := ledger.New(store)
	accounts := account.NewService(store, account.Options{
		Hasher: account.PasswordHasher{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32}, Ledger: led})
	w := wallet.NewService(store, wallet.Options{Accounts: accounts, Ledger: led})
	st := statement.New(store, time.UTC, time.Now)
	u, err := accounts.EnsureUser(ctx, "replica_reader", "replica-pass-2026")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Grant(ctx, u.ID, 100_00, "first", "grant.test"); err != nil {
		t.Fatal(err)
	}
	dbtest.WaitReplayed(t, primary, replica)
	if err := store.ReplicaReady(ctx); err != nil {
		t.Fatalf("a caught-up replica is not ready: %v", err)
	}
	wantLines(t, st, u.WalletID, 1, 100_00)

	pauseReplay(t, replica)
	if _, err := w.Grant(ctx, u.ID, 50_00, "second", "grant.test"); err != nil {
		t.Fatal(err)
	}
	if got, err := led.Balance(ctx, u.WalletID); err != nil || got != 150_00 {
		t.Fatalf("balance (from the primary) = %d, %v; want 150_00", got, err)
	}
	wantLines(t, st, u.WalletID, 1, 100_00)

	if _, err := replica.ExecContext(ctx, `SELECT pg_wal_replay_resume()`); err != nil {
		t.Fatal(err)
	}
	dbtest.WaitReplayed(t, primary, replica)
	wantLines(t, st, u.WalletID, 2, 150_00)
}

// wantLines checks what the history, the statement and the summary of one
// user's wallet say: n lines in each, in total in the summary.
func wantLines(t *testing.T, st *statement.Service, walletID int64, n int, in wallet.Money) {
	t.Helper()
	ctx := context.Background()
	page, err := st.History(ctx, walletID, statement.HistoryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	for _, err := range st.Statement(ctx, walletID, statement.HistoryFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		lines++
	}
	sum, err := st.MonthlySummary(ctx, walletID, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != n || lines != n || sum.In != in {
		t.Fatalf("history %d lines, statement %d lines, summary %d in; want %d, %d and %d", len(page.Records), lines, sum.In, n, n, in)
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
