package e2e

import (
	"context"
	"testing"
	"time"
)

// TestHistoryJourneysOnAReplica walks the history journey against a site
// whose history, CSV export and summary read a streaming standby of its
// database (DATABASE_REPLICA_URL), then shows which pages read which
// server: with the standby's replay paused, a new grant is in the account
// center (the primary) and not yet in the history or the summary (the
// standby), until replay resumes.
func TestHistoryJourneysOnAReplica(t *testing.T) {
	s := newReplicaSite(t)
	browserCtx := startBrowser(t)
	variants := []variant{
		{dev: desktop, lang: zhCN, accept: "zh-CN,zh;q=0.9"},
		{dev: phone, lang: en, accept: "en-US,en;q=0.9"},
	}
	for _, v := range variants {
		t.Run(v.dev.name+"/"+v.lang.tag, func(t *testing.T) {
			t.Run("signup", func(t *testing.T) { signupJourney(t, s, newPage(t, s, browserCtx, v), v) })
			t.Run("replica-lag", func(t *testing.T) { replicaLagJourney(t, s, newPage(t, s, browserCtx, v), v) })
		})
	}
}

// replicaLagJourney: the account center shows a grant at once; the history
// and the summary show it once the standby has replayed it.
func replicaLagJourney(t *testing.T, s *site, p *page, v variant) {
	name := uniqueName(t, v, "r")
	p.visit("/register")
	useLanguage(p, v)
	p.fill(byID("username"), name)
	p.fill(byID("password"), password)
	p.follow(byTestID("register-submit"), "/account")
	uid := s.userID(t, name)
	s.grant(t, uid, 10000, name+":first", "welcome_grant")
	s.replayed(t)
	p.visit("/history")
	if n := p.count(byTestID("record")); n != 1 {
		p.fail("history shows %d records after one grant, want 1", n)
	}

	pauseReplay(t, s)
	s.grant(t, uid, 5000, name+":second", "test")
	p.visit("/account")
	if fen := p.attr(byID("balance"), "data-fen"); fen != "15000" {
		p.fail("account center balance data-fen = %q, want 15000 from the primary", fen)
	}
	p.snap("account-ahead-of-replica")
	p.visit("/history")
	if n := p.count(byTestID("record")); n != 1 {
		p.fail("history shows %d records while the standby is paused, want the 1 it has", n)
	}
	p.visit("/history/summary")
	p.wantText(byTestID("total-in"), "¥100.00")
	p.snap("summary-behind")

	resumeReplay(t, s)
	s.replayed(t)
	p.visit("/history")
	if n := p.count(byTestID("record")); n != 2 {
		p.fail("history shows %d records once the standby caught up, want 2", n)
	}
	p.visit("/history/summary")
	p.wantText(byTestID("total-in"), "¥150.00")
	p.snap("summary-caught-up")
}

// pauseReplay stops the standby replaying the primary's WAL, and returns
// once it has stopped; the test's end resumes it in any case.
func pauseReplay(t *testing.T, s *site) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := s.replica.ExecContext(ctx, `SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resumeReplay(t, s) })
	for {
		var state string
		if err := s.replica.GetContext(ctx, &state, `SELECT pg_get_wal_replay_pause_state()`); err != nil {
			t.Fatalf("replay never paused: %v", err)
		}
		if state == "paused" {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal("replay never paused")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func resumeReplay(t *testing.T, s *site) {
	t.Helper()
	if _, err := s.replica.ExecContext(context.Background(), `SELECT pg_wal_replay_resume()`); err != nil {
		t.Fatal(err)
	}
}
