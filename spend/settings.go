package spend

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"im2pay/wallet"
)

// Settings are a person's own thresholds: purchases above ConfirmAbove
// ask for a confirmation, and the account center warns below LowBalance.
type Settings struct {
	ConfirmAbove wallet.Money `db:"confirm_above"`
	LowBalance   wallet.Money `db:"low_balance"`
}

// DefaultSettings apply until a person saves their own.
var DefaultSettings = Settings{ConfirmAbove: 10000, LowBalance: 1000}

// SettingsOf loads a person's thresholds (the defaults when none are saved).
func (s *Service) SettingsOf(ctx context.Context, userID int64) (Settings, error) {
	st := DefaultSettings
	err := s.store.DB().GetContext(ctx, &st, `SELECT confirm_above, low_balance FROM user_settings WHERE user_id = $1`, userID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("settings of user %d: %w", userID, err)
	}
	return st, nil
}

// storeSettings stores a user's settings.
func (s *Service) storeSettings(ctx context.Context, userID int64, st Settings) error {
	const q = `INSERT INTO user_settings (user_id, confirm_above, low_balance) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET confirm_above = EXCLUDED.confirm_above, low_balance = EXCLUDED.low_balance`
	if _, err := s.store.DB().ExecContext(ctx, q, userID, st.ConfirmAbove, st.LowBalance); err != nil {
		return fmt.Errorf("save settings of user %d: %w", userID, err)
	}
	return nil
}

// SaveSettings parses and stores a person's thresholds.
func (s *Service) SaveSettings(ctx context.Context, userID int64, confirmAbove, lowBalance string) error {
	c, err1 := wallet.ParseMoney(confirmAbove)
	l, err2 := wallet.ParseMoney(lowBalance)
	if err1 != nil || err2 != nil {
		return errors.Join(fieldProblem(err1, "confirm_above"), fieldProblem(err2, "low_balance"))
	}
	return s.storeSettings(ctx, userID, Settings{ConfirmAbove: c, LowBalance: l})
}

// fieldProblem moves a money problem onto the form field it belongs to.
func fieldProblem(err error, field string) error {
	var p *wallet.Problem
	if errors.As(err, &p) {
		return wallet.NewProblem(field, p.Code, p.Args...)
	}
	return err
}
