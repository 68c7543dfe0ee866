package recharge

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
)

// versionRow is a recharge_rule_versions row before its rules are decoded.
type versionRow struct {
	ID        int64         `db:"id"`
	Rules     []byte        `db:"rules"`
	ValidFrom time.Time     `db:"valid_from"`
	CreatedBy sql.NullInt64 `db:"created_by"`
	CreatedAt time.Time     `db:"created_at"`
}

const versionColumns = `id, rules, valid_from, created_by, created_at`

func (r versionRow) decode() (RuleVersion, error) {
	v := RuleVersion{ID: r.ID, ValidFrom: r.ValidFrom, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt}
	if err := json.Unmarshal(r.Rules, &v.Rules); err != nil {
		return v, fmt.Errorf("rule version %d: decode: %w", r.ID, err)
	}
	return v, nil
}

// versionInForce is the version in force at t, with the valid_from of the
// next scheduled one (null when none is).
func (s *Service) versionInForce(ctx context.Context, t time.Time) (RuleVersion, sql.NullTime, error) {
	v, next, err := versionInForceQ(ctx, s.store.DB(), t)
	v.Rules.Lifetime = s.rules.Lifetime
	return v, next, err
}

func versionInForceQ(ctx context.Context, q sqlx.QueryerContext, t time.Time) (RuleVersion, sql.NullTime, error) {
	const query = `SELECT ` + versionColumns + `,
		       (SELECT min(valid_from) FROM recharge_rule_versions WHERE valid_from > $1) AS next_from
		  FROM recharge_rule_versions WHERE valid_from <= $1 ORDER BY valid_from DESC, id DESC LIMIT 1`
	var row struct {
		versionRow
		Next sql.NullTime `db:"next_from"`
	}
	if err := sqlx.GetContext(ctx, q, &row, query, t); err != nil {
		// The seed version is in force since 2000: none means no schema.
		return RuleVersion{}, row.Next, fmt.Errorf("rule version in force at %s: %w", t.Format(time.RFC3339), err)
	}
	v, err := row.decode()
	return v, row.Next, err
}

// versionByID loads a version with the time it stopped being in force: the
// valid_from of the next version in (valid_from, id) order, null while it
// is the last.
func (s *Service) versionByID(ctx context.Context, id int64) (RuleVersion, sql.NullTime, error) {
	const query = `SELECT ` + versionColumns + `,
		       (SELECT min(n.valid_from) FROM recharge_rule_versions n
		         WHERE (n.valid_from, n.id) > (v.valid_from, v.id)) AS superseded_at
		  FROM recharge_rule_versions v WHERE id = $1`
	var row struct {
		versionRow
		Superseded sql.NullTime `db:"superseded_at"`
	}
	err := s.store.DB().GetContext(ctx, &row, query, id)
	if err != nil {
		return RuleVersion{}, row.Superseded, db.NotFound(err, "rule version %d", id)
	}
	v, err := row.decode()
	v.Rules.Lifetime = s.rules.Lifetime
	return v, row.Superseded, err
}

// insertVersion adds a version; r is stored as JSON without Lifetime.
func insertVersion(ctx context.Context, tx *sqlx.Tx, r Rules, validFrom time.Time, staffID int64, now time.Time) (RuleVersion, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return RuleVersion{}, fmt.Errorf("encode rules: %w", err)
	}
	const insert = `INSERT INTO recharge_rule_versions (rules, valid_from, created_by, created_at)
		VALUES ($1, $2, NULLIF($3, 0), $4) RETURNING ` + versionColumns
	var row versionRow
	if err := tx.GetContext(ctx, &row, insert, string(raw), validFrom, staffID, now); err != nil {
		return RuleVersion{}, fmt.Errorf("publish rules from %s by staff %d: %w", validFrom.Format(time.RFC3339), staffID, err)
	}
	return row.decode()
}

// listVersions lists versions newest first (by valid_from, then id).
func listVersions(ctx context.Context, q sqlx.QueryerContext, limit int) ([]RuleVersion, error) {
	var rows []versionRow
	const query = `SELECT ` + versionColumns + ` FROM recharge_rule_versions ORDER BY valid_from DESC, id DESC LIMIT $1`
	if err := sqlx.SelectContext(ctx, q, &rows, query, limit); err != nil {
		return nil, fmt.Errorf("list rule versions: %w", err)
	}
	out := make([]RuleVersion, 0, len(rows))
	for _, r := range rows {
		v, err := r.decode()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// orderByRequestKey finds the order a person already created with a key.
func (s *Service) orderByRequestKey(ctx context.Context, userID int64, key string) (Order, bool, error) {
	var o Order
	const query = `SELECT ` + orderColumns + ` FROM recharge_orders WHERE user_id = $1 AND request_key = $2`
	err := s.store.DB().GetContext(ctx, &o, query, userID, key)
	if err == sql.ErrNoRows {
		return o, false, nil
	}
	if err != nil {
		return o, false, fmt.Errorf("order of user %d by request key: %w", userID, err)
	}
	return o, true, nil
}
