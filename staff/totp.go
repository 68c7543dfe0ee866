package staff

import (
	"context"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"im2pay/problem"
)

// TOTP parameters: RFC 6238's defaults, which every authenticator app
// reads; one step of drift either way forgives a phone's clock.
const (
	TOTPPeriod = 30
	totpSkew   = 1
)

var totpOpts = totp.ValidateOpts{Period: TOTPPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Enrollment is a fresh TOTP secret for m and the otpauth:// URL its QR
// code carries.
type Enrollment struct {
	Secret string
	URL    string
}

// NewEnrollment makes a TOTP secret (160 bits) for m; nothing is stored
// until ConfirmEnrollment proves an authenticator holds it.
func (s *Service) NewEnrollment(m Member) (Enrollment, error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: s.issuer, AccountName: m.Name, Period: TOTPPeriod,
		SecretSize: 20, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return Enrollment{}, fmt.Errorf("TOTP secret for staff %d: %w", m.ID, err)
	}
	return Enrollment{Secret: k.Secret(), URL: k.URL()}, nil
}

// ConfirmEnrollment stores secret as m's second factor when code matches
// it, under the guess limits; the code's step is spent.
func (s *Service) ConfirmEnrollment(ctx context.Context, m Member, secret, code, clientIP string) error {
	return s.checkCode(ctx, m, secret, code, clientIP, `
		UPDATE staff SET totp_secret = $3, totp_last_step = $2
		 WHERE id = $1 AND totp_secret IS NULL AND disabled_at IS NULL AND totp_last_step < $2`)
}

// VerifyTOTP checks m's code under the guess limits and spends its step:
// the UPDATE only moves totp_last_step forward, so a code seen once (by a
// shoulder, a proxy, a replaying attacker) is refused the second time,
// even when two requests race.
func (s *Service) VerifyTOTP(ctx context.Context, m Member, code, clientIP string) error {
	if m.TOTPSecret == "" {
		return fmt.Errorf("verify TOTP of staff %d: not enrolled", m.ID)
	}
	return s.checkCode(ctx, m, m.TOTPSecret, code, clientIP, `
		UPDATE staff SET totp_last_step = $2
		 WHERE id = $1 AND totp_secret = $3 AND disabled_at IS NULL AND totp_last_step < $2`)
}

// checkCode finds the step code belongs to (now, or one either side) and
// runs spend with ($1 id, $2 step, $3 secret); a spent or unknown code is
// the same refusal, and counts as a failed guess.
func (s *Service) checkCode(ctx context.Context, m Member, secret, code, clientIP, spend string) error {
	var step int64
	ok, err := s.checkGuess(ctx, m.Name, clientIP, factorCode, "ops.totp.throttled", func() (bool, error) {
		step = matchStep(secret, code, s.now())
		if step == 0 {
			return false, nil
		}
		res, err := s.store.DB().ExecContext(ctx, spend, m.ID, step, secret)
		if err != nil {
			return false, fmt.Errorf("spend TOTP step of staff %d: %w", m.ID, err)
		}
		n, err := res.RowsAffected()
		return n == 1, err
	})
	if err != nil {
		return err
	}
	if !ok {
		return problem.New("code", "ops.totp.invalid")
	}
	return nil
}

// matchStep is the time step (Unix time / period) whose code is code,
// within the skew around now, or 0. Every candidate is computed and
// compared in constant time, so the answer's timing says nothing.
func matchStep(secret, code string, now time.Time) int64 {
	var found int64
	for d := -totpSkew; d <= totpSkew; d++ {
		t := now.Add(time.Duration(d*TOTPPeriod) * time.Second)
		want, err := totp.GenerateCodeCustom(secret, t, totpOpts)
		if err != nil {
			return 0
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && found == 0 {
			found = t.Unix() / TOTPPeriod
		}
	}
	return found
}

// Code is the TOTP code of secret at t: for tests and for the CLI's
// troubleshooting, never shown by the console.
func Code(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totpOpts)
}

// EnrollmentFor is the enrollment of a secret NewEnrollment made earlier
// (a reload of the enrollment page shows the same code).
func (s *Service) EnrollmentFor(m Member, secret string) (Enrollment, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		return Enrollment{}, fmt.Errorf("TOTP secret of staff %d: %w", m.ID, err)
	}
	k, err := totp.Generate(totp.GenerateOpts{Issuer: s.issuer, AccountName: m.Name, Period: TOTPPeriod,
		Secret: raw, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return Enrollment{}, fmt.Errorf("TOTP secret for staff %d: %w", m.ID, err)
	}
	return Enrollment{Secret: k.Secret(), URL: k.URL()}, nil
}

// CheckPassword checks m's current password under the guess limits (a
// change of password asks for it).
func (s *Service) CheckPassword(ctx context.Context, m Member, password, clientIP string) error {
	ok, err := s.checkGuess(ctx, m.Name, clientIP, factorPassword, "ops.login.throttled", func() (bool, error) {
		return s.hasher.Verify(m.PasswordHash, password)
	})
	if err != nil {
		return err
	}
	if !ok {
		return problem.New("current_password", "password.current_wrong")
	}
	return nil
}
