package staff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/db"
	"im2pay/problem"
)

// Guess limits are the users' (package account): failures over a sliding
// window per name and per client address, counted before the check so
// guesses sent together cannot overshoot. TOTP codes count in the same
// window as passwords: a stolen password buys no more code guesses.
const (
	ThrottleWindow  = account.ThrottleWindow
	MaxFailsPerName = account.MaxFailsPerAccount
	MaxFailsPerIP   = account.MaxFailsPerClient
)

// NormalizeName is how a typed staff name is looked up: names are lower
// case (the staff table's CHECK), so case typed differently still finds it.
func NormalizeName(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Login checks a staff name and password under the guess limits. An
// unknown name, a disabled member and a wrong password get the same answer
// after the same work (a dummy argon2 verify for a name without a hash).
// The member returned still needs its first-login change and its TOTP.
func (s *Service) Login(ctx context.Context, name, password, clientIP string) (Member, error) {
	name = NormalizeName(name)
	if len(name) > 64 {
		// Cut at a character's start: half a character is not UTF-8,
		// which PostgreSQL refuses (a 500 instead of a refusal).
		n := 64
		for n > 0 && !utf8.RuneStart(name[n]) {
			n--
		}
		name = name[:n]
	}
	m, err := s.ByName(ctx, name)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Member{}, fmt.Errorf("staff login: %w", err)
	}
	usable := err == nil && !m.DisabledAt.Valid
	ok, err := s.checkGuess(ctx, name, clientIP, "ops.login.throttled", func() (bool, error) {
		if !usable {
			s.hasher.DummyVerify(password)
			return false, nil
		}
		return s.hasher.Verify(m.PasswordHash, password)
	})
	if err != nil {
		return Member{}, err
	}
	if !ok {
		return Member{}, problem.New("", "ops.login.invalid")
	}
	return m, nil
}

// checkGuess runs verify under the limits: counted as a failure first,
// refused with throttledCode while over a limit, forgiven when right.
func (s *Service) checkGuess(ctx context.Context, name, clientIP, throttledCode string, verify func() (bool, error)) (bool, error) {
	id, wait, err := s.admitGuess(ctx, name, clientKey(clientIP), s.now())
	if err != nil {
		return false, fmt.Errorf("staff guess by %q: %w", name, err)
	}
	if wait > 0 {
		return false, problem.New("", throttledCode, minutesCeil(wait))
	}
	var ok bool
	if slotErr := s.withHashSlot(ctx, func() { ok, err = verify() }); slotErr != nil {
		return false, slotErr
	}
	if err != nil || !ok {
		return false, err
	}
	if _, err := s.store.DB().ExecContext(ctx, `DELETE FROM staff_login_failures WHERE id = $1`, id); err != nil {
		return false, fmt.Errorf("forgive staff guess %d: %w", id, err)
	}
	return true, nil
}

// admitGuess records a failure for name and client unless either is over
// its limit, under advisory locks that make count and insert one step (as
// account's admitGuess does). Over a limit nothing is written, so the
// window can reopen, and the wait comes back.
func (s *Service) admitGuess(ctx context.Context, name, client string, at time.Time) (int64, time.Duration, error) {
	var id int64
	var wait time.Duration
	err := s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		id, wait = 0, 0
		if err := db.AdvisoryLock(ctx, tx, db.LockClassStaffName, name); err != nil {
			return err
		}
		if err := db.AdvisoryLock(ctx, tx, db.LockClassStaffClient, client); err != nil {
			return err
		}
		var c struct {
			ByName     int          `db:"by_name"`
			OldestName sql.NullTime `db:"oldest_name"`
			ByIP       int          `db:"by_ip"`
			OldestIP   sql.NullTime `db:"oldest_ip"`
		}
		const count = `
			SELECT count(*) FILTER (WHERE lower(name) = lower($1)) AS by_name,
			       min(created_at) FILTER (WHERE lower(name) = lower($1)) AS oldest_name,
			       count(*) FILTER (WHERE client_ip = $2) AS by_ip,
			       min(created_at) FILTER (WHERE client_ip = $2) AS oldest_ip
			  FROM staff_login_failures
			 WHERE created_at > $3 AND (lower(name) = lower($1) OR client_ip = $2)`
		if err := tx.GetContext(ctx, &c, count, name, client, at.Add(-ThrottleWindow)); err != nil {
			return fmt.Errorf("count staff guesses: %w", err)
		}
		reopens := func(t sql.NullTime) time.Duration { return t.Time.Add(ThrottleWindow).Sub(at) }
		if c.ByName >= MaxFailsPerName && c.OldestName.Valid {
			wait = max(wait, reopens(c.OldestName))
		}
		if c.ByIP >= MaxFailsPerIP && c.OldestIP.Valid {
			wait = max(wait, reopens(c.OldestIP))
		}
		if wait > 0 {
			return nil
		}
		const ins = `INSERT INTO staff_login_failures (name, client_ip, created_at) VALUES ($1, $2, $3) RETURNING id`
		return tx.GetContext(ctx, &id, ins, name, client, at)
	})
	return id, wait, err
}

// DeleteLoginFailuresBefore removes failures too old to count.
func (s *Service) DeleteLoginFailuresBefore(ctx context.Context, t time.Time) error {
	if _, err := s.store.DB().ExecContext(ctx, `DELETE FROM staff_login_failures WHERE created_at < $1`, t); err != nil {
		return fmt.Errorf("delete old staff login failures: %w", err)
	}
	return nil
}

// clientKey is account's rule: an IPv4 address alone, an IPv6 address with
// its /64, so one machine cannot step through its addresses to reset a
// limit; anything else counts as itself (truncated to the column).
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		if len(ip) > 64 {
			ip = ip[:64]
		}
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.String()
}

// minutesCeil rounds a wait up to whole minutes for people.
func minutesCeil(d time.Duration) int {
	d = d.Truncate(time.Second)
	return max(int((d+time.Minute-1)/time.Minute), 1)
}
