package recharge

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Maintenance is a switch closing one method, or all of them ("all").
type Maintenance struct {
	Method    string       `db:"method"`
	Message   string       `db:"message"`
	Until     sql.NullTime `db:"until"`
	UpdatedAt time.Time    `db:"updated_at"`
}

// Maintenances lists the switches that are on. It is read on every recharge
// page view and order, so a switch takes effect without a restart.
func (s *Service) Maintenances(ctx context.Context) ([]Maintenance, error) {
	var out []Maintenance
	if err := s.store.DB().SelectContext(ctx, &out, `SELECT method, message, until, updated_at FROM maintenance ORDER BY method`); err != nil {
		return nil, fmt.Errorf("maintenance: %w", err)
	}
	return out, nil
}

// setMaintenance turns a switch on (or updates its message).
func (s *Service) setMaintenance(ctx context.Context, m Maintenance) error {
	const q = `INSERT INTO maintenance (method, message, until) VALUES ($1, $2, $3)
		ON CONFLICT (method) DO UPDATE SET message = EXCLUDED.message, until = EXCLUDED.until, updated_at = now()`
	if _, err := s.store.DB().ExecContext(ctx, q, m.Method, m.Message, m.Until); err != nil {
		return fmt.Errorf("set maintenance %q: %w", m.Method, err)
	}
	return nil
}

// clearMaintenance turns a switch off.
func (s *Service) clearMaintenance(ctx context.Context, method string) error {
	if _, err := s.store.DB().ExecContext(ctx, `DELETE FROM maintenance WHERE method = $1`, method); err != nil {
		return fmt.Errorf("clear maintenance %q: %w", method, err)
	}
	return nil
}
