package db

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
)

// Migrations holds the numbered, forward-only schema files (NNNN_name.sql).
//
//go:embed migrations/*.sql
var Migrations embed.FS

// migrationLockID is the pg_advisory_lock key that serialises migrators, so
// two instances starting together do not both apply the same file.
const migrationLockID = 7_202_611_240_001

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(Migrations, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var out []migration
	for _, path := range names {
		base := strings.TrimPrefix(path, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil || version <= 0 {
			return nil, fmt.Errorf("migration %q: name must start with a positive number and an underscore", base)
		}
		body, err := Migrations.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", base, err)
		}
		out = append(out, migration{version: version, name: base, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := range out {
		if out[i].version != i+1 {
			return nil, fmt.Errorf("migration %q: expected version %d (no gaps, no duplicates)", out[i].name, i+1)
		}
	}
	return out, nil
}

// Migrate applies every migration the database has not seen, each in its own
// transaction, under an advisory lock. It refuses a database whose schema is
// newer than this binary knows: serving it could corrupt data.
func Migrate(ctx context.Context, conn *sqlx.DB) error {
	all, err := loadMigrations()
	if err != nil {
		return err
	}
	// The advisory lock is per session, so hold one connection throughout.
	c, err := conn.Connx(ctx)
	if err != nil {
		return fmt.Errorf("migrate: connect: %w", err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLockID); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer c.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLockID)

	const createTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`
	if _, err := c.ExecContext(ctx, createTable); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	var current int
	if err := c.GetContext(ctx, &current, `SELECT coalesce(max(version), 0) FROM schema_migrations`); err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	if current > len(all) {
		return fmt.Errorf("migrate: database schema is at version %d but this binary knows only %d: refusing to serve it", current, len(all))
	}
	for _, m := range all[current:] {
		if err := applyMigration(ctx, c, m); err != nil {
			return err
		}
	}
	return nil
}

func applyMigration(ctx context.Context, c *sqlx.Conn, m migration) error {
	tx, err := c.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate %s: begin: %w", m.name, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migrate %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
		return fmt.Errorf("migrate %s: record: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate %s: commit: %w", m.name, err)
	}
	return nil
}
