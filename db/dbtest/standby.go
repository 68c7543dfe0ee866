package dbtest

import (
	"context"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
	"im2pay/db/pgcluster"
)

var (
	standbyOnce sync.Once
	standby     *pgcluster.Cluster
	standbyErr  error
)

// StandbyURL is the database that primaryURL (from NewURL) names, on a
// streaming standby of the tests' cluster: a second private cluster, copied
// with pg_basebackup on first use and replaying the first one's WAL until
// the tests end. Every test database, made before or after, is there too,
// read-only and as far as the standby has replayed (see WaitReplayed).
// With TEST_DATABASE_URL there is no cluster to copy, and the test skips.
func StandbyURL(t testing.TB, primaryURL string) string {
	t.Helper()
	if err := server(); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	if cluster == nil {
		t.Skip("dbtest: TEST_DATABASE_URL names a server of its own; no standby to start")
	}
	standbyOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		standby, standbyErr = pgcluster.StartStandby(ctx, cluster,
			pgcluster.Options{Dir: filepath.Join(clusterDir, "standby"), Fast: true})
	})
	if standbyErr != nil {
		t.Fatalf("dbtest: standby: %v", standbyErr)
	}
	p, err := url.Parse(primaryURL)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	// The database may be younger than the standby: connecting before the
	// standby replayed its creation would find no such database.
	sadmin, err := sqlx.Open("postgres", standby.AdminURL("postgres"))
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	defer sadmin.Close()
	WaitReplayed(t, admin, sadmin)
	u, _ := url.Parse(standby.URL())
	u.Path, u.RawPath = p.Path, ""
	q := u.Query()
	q.Del("connect_timeout") // as ServerURL: a slow fork must not fail a test
	u.RawQuery = q.Encode()
	return db.WithAppSettings(u.String())
}

// WaitReplayed returns once the standby has replayed every write the
// primary made so far, judged by WAL location rather than by time.
//
// The target is the primary's insert location, not pg_current_wal_lsn()
// (what it wrote out): the test cluster commits asynchronously, so a
// commit just made may not be written yet, and a standby that reached the
// write location could still lack it. The standby receives it once the
// WAL writer writes it, a fraction of a second later.
func WaitReplayed(t testing.TB, primary, standby *sqlx.DB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var target string
	if err := primary.GetContext(ctx, &target, `SELECT pg_current_wal_insert_lsn()::text`); err != nil {
		t.Fatalf("dbtest: primary's WAL location: %v", err)
	}
	for {
		var done bool
		err := standby.GetContext(ctx, &done, `SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)`, target)
		if err != nil {
			t.Fatalf("dbtest: standby never replayed up to %s: %v", target, err)
		}
		if done {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("dbtest: standby never replayed up to %s: %v", target, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// stopStandby stops the standby, if one was started, before its primary.
func stopStandby() error {
	if standby == nil {
		return nil
	}
	err := standby.Stop()
	if err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		pgcluster.Destroy(ctx, filepath.Join(clusterDir, "standby"))
	}
	return err
}
