package recharge

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Maintenance is a switch closing one method, or all of them ("all").
type Maintenance struct {
	Method    string       `db:"method" json:"method"`
	Message   string       `db:"message" json:"message"`
	MessageEN string       `db:"message_en" json:"message_en"`
	Until     sql.NullTime `db:"until" json:"until"`
	UpdatedAt time.Time    `db:"updated_at" json:"updated_at"`
}

const maintenanceColumns = `method, message, message_en, until, updated_at`

// Maintenances lists the switches that are on. It is read on every recharge
// page view and order, so a switch takes effect without a restart.
func (s *Service) Maintenances(ctx context.Context) ([]Maintenance, error) {
	var out []Maintenance
	if err := s.store.DB().SelectContext(ctx, &out, `SELECT `+maintenanceColumns+` FROM maintenance ORDER BY method`); err != nil {
		return nil, fmt.Errorf("maintenance: %w", err)
	}
	return out, nil
}

// setMaintenance turns a switch on (or updates it) and returns it before
// and after, in one transaction holding the switch's row.
func (s *Service) setMaintenance(ctx context.Context, m Maintenance) (MaintenanceChange, error) {
	const before = `SELECT ` + maintenanceColumns + ` FROM maintenance WHERE method = $1 FOR UPDATE`
	const upsert = `INSERT INTO maintenance (method, message, message_en, until) VALUES ($1, $2, $3, $4)
		ON CONFLICT (method) DO UPDATE SET message = EXCLUDED.message, message_en = EXCLUDED.message_en,
		       until = EXCLUDED.until, updated_at = now()
		RETURNING ` + maintenanceColumns
	c := MaintenanceChange{Method: m.Method}
	err := s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		c.Before, c.After = nil, &Maintenance{}
		var old Maintenance
		switch err := tx.GetContext(ctx, &old, before, m.Method); {
		case err == nil:
			c.Before = &old
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		return tx.GetContext(ctx, c.After, upsert, m.Method, m.Message, m.MessageEN, m.Until)
	})
	if err != nil {
		return MaintenanceChange{}, fmt.Errorf("set maintenance %q: %w", m.Method, err)
	}
	return c, nil
}

// clearMaintenance turns a switch off and returns it as it was.
func (s *Service) clearMaintenance(ctx context.Context, method string) (MaintenanceChange, error) {
	var old []Maintenance
	q := `DELETE FROM maintenance WHERE method = $1 RETURNING ` + maintenanceColumns
	if err := s.store.DB().SelectContext(ctx, &old, q, method); err != nil {
		return MaintenanceChange{}, fmt.Errorf("clear maintenance %q: %w", method, err)
	}
	c := MaintenanceChange{Method: method}
	if len(old) == 1 {
		c.Before = &old[0]
	}
	return c, nil
}

// clearAllMaintenance turns every switch off in one statement.
func (s *Service) clearAllMaintenance(ctx context.Context) ([]MaintenanceChange, error) {
	var old []Maintenance
	if err := s.store.DB().SelectContext(ctx, &old, `DELETE FROM maintenance RETURNING `+maintenanceColumns); err != nil {
		return nil, fmt.Errorf("clear all maintenance: %w", err)
	}
	out := make([]MaintenanceChange, len(old))
	for i := range old {
		out[i] = MaintenanceChange{Method: old[i].Method, Before: &old[i]}
	}
	return out, nil
}
