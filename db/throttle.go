package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// LoginFailureCount is how often logins failed since a moment, for one
// account and for one client address, and when the oldest of each happened
// (the window reopens when it ages out).
type LoginFailureCount struct {
	ByAccount     int          `db:"by_account"`
	OldestAccount sql.NullTime `db:"oldest_account"`
	ByClient      int          `db:"by_client"`
	OldestClient  sql.NullTime `db:"oldest_client"`
}

// RecordLoginFailure remembers a failed login.
func (s *Store) RecordLoginFailure(ctx context.Context, username, clientIP string, at time.Time) error {
	const q = `INSERT INTO login_failures (username, client_ip, created_at) VALUES ($1, $2, $3)`
	if _, err := s.db.ExecContext(ctx, q, username, clientIP, at); err != nil {
		return fmt.Errorf("record login failure: %w", err)
	}
	return nil
}

// LoginFailures counts failures since a moment. The account is matched
// case-insensitively, as usernames are.
func (s *Store) LoginFailures(ctx context.Context, username, clientIP string, since time.Time) (LoginFailureCount, error) {
	const q = `
		SELECT
		  (SELECT count(*) FROM login_failures WHERE lower(username) = lower($1) AND created_at > $3) AS by_account,
		  (SELECT min(created_at) FROM login_failures WHERE lower(username) = lower($1) AND created_at > $3) AS oldest_account,
		  (SELECT count(*) FROM login_failures WHERE client_ip = $2 AND created_at > $3) AS by_client,
		  (SELECT min(created_at) FROM login_failures WHERE client_ip = $2 AND created_at > $3) AS oldest_client`
	var c LoginFailureCount
	if err := s.db.GetContext(ctx, &c, q, username, clientIP, since); err != nil {
		return c, fmt.Errorf("count login failures: %w", err)
	}
	return c, nil
}

// DeleteLoginFailuresBefore prunes failures older than the window.
func (s *Store) DeleteLoginFailuresBefore(ctx context.Context, before time.Time) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM login_failures WHERE created_at < $1`, before); err != nil {
		return fmt.Errorf("prune login failures: %w", err)
	}
	return nil
}
