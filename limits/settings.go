package limits

// Problem codes of the settings, each a key in views/i18n/catalog_protect.go:
//
//	code                   field         args
//	protect.cap_format     <cap>         -
//	protect.pin_format     pin           -
//	protect.pin_mismatch   pin_again     -
//	protect.pin_wrong      pin           tries left (int, %d)
//	protect.pin_locked     pin           until, Beijing HH:MM (string, %s)

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/problem"
	"im2pay/wallet"
)

// Status is a person's protection as the settings page shows it.
type Status struct {
	Caps   map[Cap]Setting
	Minors bool
	// Spent today and this month since protection began; TopUp* likewise
	// for top-ups.
	SpentDay, SpentMonth, TopUpDay, TopUpMonth wallet.Money
	MinorsTopUpEach, MinorsTopUpMonth          wallet.Money
	// RealName says whether a real-name check is wired (none is).
	RealName bool
}

// StatusOf reads userID's protection at the app's now.
func (s *Service) StatusOf(ctx context.Context, userID int64) (Status, error) {
	st := Status{Caps: map[Cap]Setting{}, MinorsTopUpEach: s.cfg.MinorsTopUpEach,
		MinorsTopUpMonth: s.cfg.MinorsTopUpMonth, RealName: s.cfg.RealName != nil}
	q := s.store.DB()
	err := q.GetContext(ctx, &st.Minors, `SELECT minors FROM protection WHERE user_id = $1`, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("protection of user %d: %w", userID, err)
	}
	now := s.cfg.Now()
	if st.Caps, err = s.capsOf(ctx, q, userID, now); err != nil {
		return st, err
	}
	day, month, next := s.day(now)
	var used struct {
		Day   int64 `db:"day"`
		Month int64 `db:"month"`
	}
	const sq = `SELECT coalesce(sum(amount) FILTER (WHERE day = $2), 0) AS day, coalesce(sum(amount), 0) AS month
		FROM spend_usage WHERE user_id = $1 AND day >= $3 AND day < $4`
	if err := q.GetContext(ctx, &used, sq, userID, day, month, next); err != nil {
		return st, fmt.Errorf("spending of user %d: %w", userID, err)
	}
	st.SpentDay, st.SpentMonth = wallet.Money(used.Day), wallet.Money(used.Month)
	st.TopUpDay, st.TopUpMonth, err = s.toppedUp(ctx, q, userID, now)
	return st, err
}

// Minors reports whether userID is in minors' mode.
func (s *Service) Minors(ctx context.Context, userID int64) (bool, error) {
	var on bool
	err := s.store.DB().GetContext(ctx, &on, `SELECT minors FROM protection WHERE user_id = $1`, userID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("minors' mode of user %d: %w", userID, err)
	}
	return on, nil
}

// lockProtection creates userID's protection row when there is none and
// locks it for tx: every change to the caps or to minors' mode is
// decided under the same lock as the spends.
func lockProtection(ctx context.Context, tx *sqlx.Tx, userID int64) (protectionRow, error) {
	var p protectionRow
	if _, err := tx.ExecContext(ctx, `INSERT INTO protection (user_id) VALUES ($1) ON CONFLICT DO NOTHING`, userID); err != nil {
		return p, fmt.Errorf("protection of user %d: %w", userID, err)
	}
	const q = `SELECT minors, pin_hash, pin_failures, pin_locked_until FROM protection WHERE user_id = $1 FOR UPDATE`
	if err := tx.GetContext(ctx, &p, q, userID); err != nil {
		return p, fmt.Errorf("lock the protection of user %d: %w", userID, err)
	}
	return p, nil
}

type protectionRow struct {
	Minors      bool         `db:"minors"`
	PINHash     string       `db:"pin_hash"`
	Failures    int          `db:"pin_failures"`
	LockedUntil sql.NullTime `db:"pin_locked_until"`
}

// SetCaps saves the caps typed on the settings page (empty: no cap). A
// lower cap is in force at once; a higher one, or removing one, waits
// RaiseDelay (a raise already waiting keeps its time). Problems are
// joined, one per field named after its cap.
func (s *Service) SetCaps(ctx context.Context, userID int64, typed map[Cap]string) error {
	want := map[Cap]wallet.Money{}
	var problems []error
	for _, c := range Caps {
		v := strings.TrimSpace(typed[c])
		if v == "" {
			want[c] = 0
			continue
		}
		m, err := wallet.ParseMoney(v)
		if err != nil || m <= 0 {
			problems = append(problems, problem.New(string(c), "protect.cap_format"))
			continue
		}
		want[c] = m
	}
	if len(problems) > 0 {
		return errors.Join(problems...)
	}
	return s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := lockProtection(ctx, tx, userID); err != nil {
			return err
		}
		now := s.cfg.Now()
		caps, err := s.capsOf(ctx, tx, userID, now)
		if err != nil {
			return err
		}
		for _, c := range Caps {
			if err := s.setCap(ctx, tx, userID, c, caps[c], want[c], now); err != nil {
				return err
			}
		}
		return nil
	})
}

// setCap moves one cap from cur to want at now.
func (s *Service) setCap(ctx context.Context, tx *sqlx.Tx, userID int64, c Cap, cur Setting, want wallet.Money, now time.Time) error {
	amount, next, at := cur.Amount, sql.NullInt64{}, sql.NullTime{}
	switch {
	case want == cur.Amount:
		// Unchanged: a waiting raise is withdrawn.
	case lower(want, cur.Amount):
		amount = want
	case cur.Pending && cur.Next == want:
		next, at = sql.NullInt64{Int64: int64(want), Valid: true}, sql.NullTime{Time: cur.NextAt, Valid: true}
	default:
		next, at = sql.NullInt64{Int64: int64(want), Valid: true}, sql.NullTime{Time: now.Add(RaiseDelay), Valid: true}
	}
	const q = `INSERT INTO protection_caps (user_id, cap, amount, next_amount, next_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (user_id, cap) DO UPDATE SET amount = EXCLUDED.amount, next_amount = EXCLUDED.next_amount, next_at = EXCLUDED.next_at`
	if _, err := tx.ExecContext(ctx, q, userID, c, int64(amount), next, at); err != nil {
		return fmt.Errorf("set cap %s of user %d: %w", c, userID, err)
	}
	return nil
}

// lower reports whether want protects more than cur (0 is no cap).
func lower(want, cur wallet.Money) bool {
	return want != 0 && (cur == 0 || want < cur)
}

// validPIN is six digits.
func validPIN(pin string) bool {
	if len(pin) != 6 {
		return false
	}
	for i := 0; i < len(pin); i++ {
		if pin[i] < '0' || pin[i] > '9' {
			return false
		}
	}
	return true
}

// MinorsOn turns minors' mode on with a new guardian PIN (typed twice),
// which turning it off will ask for. Turning it on needs no old PIN: it
// only protects more.
func (s *Service) MinorsOn(ctx context.Context, userID int64, pin, again string) error {
	if !validPIN(pin) {
		return problem.New("pin", "protect.pin_format")
	}
	if pin != again {
		return problem.New("pin_again", "protect.pin_mismatch")
	}
	hash, err := s.cfg.Hasher.Hash(pin)
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := lockProtection(ctx, tx, userID); err != nil {
			return err
		}
		const q = `UPDATE protection SET minors = true, pin_hash = $2, pin_failures = 0, pin_locked_until = NULL,
			updated_at = $3 WHERE user_id = $1`
		if _, err := tx.ExecContext(ctx, q, userID, hash, s.cfg.Now()); err != nil {
			return fmt.Errorf("minors' mode on for user %d: %w", userID, err)
		}
		return nil
	})
}

// MinorsOff turns minors' mode off when pin is the guardian PIN. Wrong
// PINs are counted under the protection row's lock, so parallel guesses
// count too; after MaxPINFailures in a row no PIN is tried for PINLockout
// (the right one included).
func (s *Service) MinorsOff(ctx context.Context, userID int64, pin string) error {
	var refusal error
	err := s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		refusal = nil
		p, err := lockProtection(ctx, tx, userID)
		if err != nil || !p.Minors {
			return err
		}
		now := s.cfg.Now()
		if p.LockedUntil.Valid && now.Before(p.LockedUntil.Time) {
			refusal = problem.New("pin", "protect.pin_locked", p.LockedUntil.Time.In(s.cfg.Location).Format("15:04"))
			return nil
		}
		ok := false
		if validPIN(pin) {
			if ok, err = s.cfg.Hasher.Verify(p.PINHash, pin); err != nil {
				return fmt.Errorf("guardian PIN of user %d: %w", userID, err)
			}
		} else {
			// Spend the time a real check would, so a malformed PIN
			// tells nothing apart from a wrong one.
			s.cfg.Hasher.DummyVerify(pin)
		}
		if ok {
			const on = `UPDATE protection SET minors = false, pin_failures = 0, pin_locked_until = NULL, updated_at = $2 WHERE user_id = $1`
			if _, err := tx.ExecContext(ctx, on, userID, now); err != nil {
				return fmt.Errorf("minors' mode off for user %d: %w", userID, err)
			}
			return nil
		}
		failures, until := p.Failures+1, sql.NullTime{}
		if failures >= MaxPINFailures {
			failures, until = 0, sql.NullTime{Time: now.Add(PINLockout), Valid: true}
			refusal = problem.New("pin", "protect.pin_locked", until.Time.In(s.cfg.Location).Format("15:04"))
		} else {
			refusal = problem.New("pin", "protect.pin_wrong", MaxPINFailures-failures)
		}
		const wrong = `UPDATE protection SET pin_failures = $2, pin_locked_until = $3 WHERE user_id = $1`
		if _, err := tx.ExecContext(ctx, wrong, userID, failures, until); err != nil {
			return fmt.Errorf("count a wrong PIN of user %d: %w", userID, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return refusal
}
