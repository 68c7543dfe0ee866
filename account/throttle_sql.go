package account

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
)

// guess is one login or password guess about to be checked. Device is the
// hash of the browser's device cookie when that browser once logged in to
// the account (nil otherwise): its guesses count against the device alone.
type guess struct {
	Username string
	ClientIP string
	Device   []byte
	At       time.Time
}

// GuessLimits caps guesses per account, per client address and per trusted
// device over Window.
type GuessLimits struct {
	Account, Client, Device int
	Window                  time.Duration
}

// admission says whether a guess may be checked: ID names the failure it
// was recorded as (0 when refused), Wait how long until it could be.
type admission struct {
	ID   int64
	Wait time.Duration
}

// guessCountSQL counts the guesses that bind one attempt: the account's
// (device failures aside), the client address's, and the device's, each
// with its oldest inside the window, which is when the window reopens.
const guessCountSQL = `
	SELECT count(*) FILTER (WHERE lower(username) = lower($1) AND device_hash IS NULL) AS by_account,
	       min(created_at) FILTER (WHERE lower(username) = lower($1) AND device_hash IS NULL) AS oldest_account,
	       count(*) FILTER (WHERE client_ip = $2) AS by_client,
	       min(created_at) FILTER (WHERE client_ip = $2) AS oldest_client,
	       count(*) FILTER (WHERE device_hash = $3) AS by_device,
	       min(created_at) FILTER (WHERE device_hash = $3) AS oldest_device
	  FROM login_failures
	 WHERE created_at > $4
	   AND ((lower(username) = lower($1) AND device_hash IS NULL) OR client_ip = $2 OR device_hash = $3)`

type guessCount struct {
	ByAccount     int          `db:"by_account"`
	OldestAccount sql.NullTime `db:"oldest_account"`
	ByClient      int          `db:"by_client"`
	OldestClient  sql.NullTime `db:"oldest_client"`
	ByDevice      int          `db:"by_device"`
	OldestDevice  sql.NullTime `db:"oldest_device"`
}

// admitGuess counts g as a failure before its password is checked, under
// locks that make the count and the insert one step: a hundred guesses
// sent at once are counted one after the other, so none slips past the
// limit. A guess over a limit is not recorded (the window must be able to
// reopen) and comes back with the wait. A guess from a trusted device is
// held to the device's limit only; others to the account's and the
// address's. forgiveGuess takes the failure back when the password was right.
func (s *Service) admitGuess(ctx context.Context, g guess, l GuessLimits) (admission, error) {
	var a admission
	err := s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		a = admission{}
		if g.Device != nil {
			if err := db.AdvisoryLock(ctx, tx, db.LockClassDevice, fmt.Sprintf("%x", g.Device)); err != nil {
				return err
			}
		} else {
			if err := db.AdvisoryLock(ctx, tx, db.LockClassAccount, g.Username); err != nil {
				return err
			}
			if err := db.AdvisoryLock(ctx, tx, db.LockClassClient, g.ClientIP); err != nil {
				return err
			}
		}
		var c guessCount
		if err := tx.GetContext(ctx, &c, guessCountSQL, g.Username, g.ClientIP, g.Device, g.At.Add(-l.Window)); err != nil {
			return fmt.Errorf("count guesses: %w", err)
		}
		reopens := func(oldest sql.NullTime) time.Duration { return oldest.Time.Add(l.Window).Sub(g.At) }
		if g.Device != nil {
			if c.ByDevice >= l.Device && c.OldestDevice.Valid {
				a.Wait = reopens(c.OldestDevice)
			}
		} else {
			if c.ByAccount >= l.Account && c.OldestAccount.Valid {
				a.Wait = max(a.Wait, reopens(c.OldestAccount))
			}
			if c.ByClient >= l.Client && c.OldestClient.Valid {
				a.Wait = max(a.Wait, reopens(c.OldestClient))
			}
		}
		if a.Wait > 0 {
			return nil
		}
		const q = `INSERT INTO login_failures (username, client_ip, device_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id`
		if err := tx.GetContext(ctx, &a.ID, q, g.Username, g.ClientIP, g.Device, g.At); err != nil {
			return fmt.Errorf("record guess: %w", err)
		}
		return nil
	})
	return a, err
}

// forgiveGuess removes a guess admitGuess counted, once it proved right.
func (s *Service) forgiveGuess(ctx context.Context, id int64) error {
	if _, err := s.store.DB().ExecContext(ctx, `DELETE FROM login_failures WHERE id = $1`, id); err != nil {
		return fmt.Errorf("forgive guess %d: %w", id, err)
	}
	return nil
}

// admitSignup records a registration from clientIP inside tx (the one
// creating the account, so a refused name counts nothing), unless limit
// accounts were made from it within window: then nothing is written and
// the wait until one more may be made comes back.
func admitSignup(ctx context.Context, tx *sqlx.Tx, clientIP string, at time.Time, limit int, window time.Duration) (time.Duration, error) {
	if err := db.AdvisoryLock(ctx, tx, db.LockClassSignup, clientIP); err != nil {
		return 0, err
	}
	wait, err := signupWait(ctx, tx, clientIP, at, limit, window)
	if err != nil || wait > 0 {
		return wait, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO registrations (client_ip, created_at) VALUES ($1, $2)`, clientIP, at); err != nil {
		return 0, fmt.Errorf("record sign-up from %q: %w", clientIP, err)
	}
	return 0, nil
}

// signupWait is how long clientIP must wait before another sign-up (0: it
// may try now). Run on the pool, without the lock, it is a hint that
// spares the password hash of a sign-up admitSignup would refuse anyway.
func signupWait(ctx context.Context, q sqlx.QueryerContext, clientIP string, at time.Time, limit int, window time.Duration) (time.Duration, error) {
	var c struct {
		N      int          `db:"n"`
		Oldest sql.NullTime `db:"oldest"`
	}
	const count = `SELECT count(*) AS n, min(created_at) AS oldest FROM registrations WHERE client_ip = $1 AND created_at > $2`
	if err := sqlx.GetContext(ctx, q, &c, count, clientIP, at.Add(-window)); err != nil {
		return 0, fmt.Errorf("count sign-ups from %q: %w", clientIP, err)
	}
	if c.N >= limit && c.Oldest.Valid {
		return c.Oldest.Time.Add(window).Sub(at), nil
	}
	return 0, nil
}

// insertTrustedDevice remembers that the browser with device cookie hash
// logged in to userID, so it may keep logging in while the account is
// locked.
func (s *Service) insertTrustedDevice(ctx context.Context, hash []byte, userID int64, at time.Time) error {
	const q = `
		INSERT INTO login_devices (token_hash, user_id, created_at, last_used_at) VALUES ($1, $2, $3, $3)
		ON CONFLICT (token_hash, user_id) DO UPDATE SET last_used_at = EXCLUDED.last_used_at`
	if _, err := s.store.DB().ExecContext(ctx, q, hash, userID, at); err != nil {
		return fmt.Errorf("trust device for user %d: %w", userID, err)
	}
	return nil
}

// deviceTrusted reports whether the browser with device cookie hash once
// logged in to the account named username (any letter case).
func (s *Service) deviceTrusted(ctx context.Context, hash []byte, username string) (bool, error) {
	const q = `
		SELECT EXISTS (SELECT 1 FROM login_devices d JOIN users u ON u.id = d.user_id
		                WHERE d.token_hash = $1 AND lower(u.username) = lower($2))`
	var ok bool
	if err := s.store.DB().GetContext(ctx, &ok, q, hash, username); err != nil {
		return false, fmt.Errorf("device trusted by %q: %w", username, err)
	}
	return ok, nil
}

// DeleteLoginFailuresBefore prunes failures older than the window, and
// sign-ups older than theirs.
func (s *Service) DeleteLoginFailuresBefore(ctx context.Context, before time.Time) error {
	if _, err := s.store.DB().ExecContext(ctx, `DELETE FROM login_failures WHERE created_at < $1`, before); err != nil {
		return fmt.Errorf("prune login failures: %w", err)
	}
	if _, err := s.store.DB().ExecContext(ctx, `DELETE FROM registrations WHERE created_at < $1`, before); err != nil {
		return fmt.Errorf("prune sign-ups: %w", err)
	}
	return nil
}
