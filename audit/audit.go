// Package audit is the append-only log of what staff did in the operations
// console: who, when, from where, what, and the values before and after.
// The database refuses to change or delete a line (migration 0014).
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Entry is one action. Before and After are any JSON-encodable values
// (nil when there is none); they are stored as they were at the time.
type Entry struct {
	At         time.Time
	StaffID    int64 // 0 for an attempt by a name that is no staff member's
	StaffName  string
	ClientIP   string
	Action     string // e.g. "login", "order.requery", "adjustment.approve"
	ObjectKind string // e.g. "order", "user", "adjustment"
	ObjectID   string
	Before     any
	After      any
	Detail     string
}

// Append writes e through q: pass the transaction of the action it
// records, so the action and its line commit together or not at all.
func Append(ctx context.Context, q sqlx.ExecerContext, e Entry) error {
	before, err := encode(e.Before)
	if err != nil {
		return fmt.Errorf("audit %s: before: %w", e.Action, err)
	}
	after, err := encode(e.After)
	if err != nil {
		return fmt.Errorf("audit %s: after: %w", e.Action, err)
	}
	const insert = `
		INSERT INTO audit_log (at, staff_id, staff_name, client_ip, action, object_kind, object_id, before, after, detail)
		VALUES ($1, NULLIF($2, 0), $3, $4, $5, $6, $7, $8, $9, $10)`
	if _, err := q.ExecContext(ctx, insert, e.At, e.StaffID, e.StaffName, e.ClientIP, e.Action,
		e.ObjectKind, e.ObjectID, before, after, e.Detail); err != nil {
		return fmt.Errorf("audit %s %s %s: %w", e.Action, e.ObjectKind, e.ObjectID, err)
	}
	return nil
}

// encode is v as JSON for a jsonb column, or NULL for nil. It is sent as
// text: lib/pq sends a []byte in binary format, which jsonb reads as its
// own binary encoding and refuses ("unsupported jsonb version number").
func encode(v any) (*string, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	s := string(b)
	return &s, nil
}
