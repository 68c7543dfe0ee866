package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Filter picks audit lines: each non-empty field must match exactly.
// Before is the keyset cursor: only lines with a smaller id (older), 0
// for the newest.
type Filter struct {
	StaffName  string
	Action     string
	ObjectKind string
	ObjectID   string
	Before     int64
	Limit      int // 1..200; 0: 50
}

// Line is one stored audit line.
type Line struct {
	ID         int64           `db:"id"`
	At         time.Time       `db:"at"`
	StaffName  string          `db:"staff_name"`
	ClientIP   string          `db:"client_ip"`
	Action     string          `db:"action"`
	ObjectKind string          `db:"object_kind"`
	ObjectID   string          `db:"object_id"`
	Before     json.RawMessage `db:"before"`
	After      json.RawMessage `db:"after"`
	Detail     string          `db:"detail"`
}

// List reads the newest lines matching f, newest first, by keyset (id):
// a page costs the same however deep it is, and lines appended meanwhile
// never shift it.
func List(ctx context.Context, q sqlx.QueryerContext, f Filter) ([]Line, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	const list = `
		SELECT id, at, staff_name, client_ip, action, object_kind, object_id,
		       COALESCE(before, 'null'::jsonb) AS before, COALESCE(after, 'null'::jsonb) AS after, detail
		  FROM audit_log
		 WHERE ($1 = '' OR staff_name = $1)
		   AND ($2 = '' OR action = $2)
		   AND ($3 = '' OR object_kind = $3)
		   AND ($4 = '' OR object_id = $4)
		   AND ($5 = 0 OR id < $5)
		 ORDER BY id DESC
		 LIMIT $6`
	var out []Line
	if err := sqlx.SelectContext(ctx, q, &out, list, f.StaffName, f.Action, f.ObjectKind, f.ObjectID, f.Before, f.Limit); err != nil {
		return nil, fmt.Errorf("list audit lines: %w", err)
	}
	return out, nil
}
