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
	// Gaps are allowed: branches number their migrations apart (one takes
	// 0008, another 0009) and merge in either order. Duplicates are not.
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("migrations %q and %q: same version %d", out[i-1].name, out[i].name, out[i].version)
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
	var applied []int
	if err := c.SelectContext(ctx, &applied, `SELECT version FROM schema_migrations ORDER BY version`); err != nil {
		return fmt.Errorf("migrate: read applied versions: %w", err)
	}
	todo, err := pending(all, applied)
	if err != nil {
		return err
	}
	for _, m := range todo {
		if err := applyMigration(ctx, c, m); err != nil {
			return err
		}
	}
	return nil
}

// SchemaCurrent says whether the database holds exactly the schema this
// binary knows: every migration applied, none unknown. Readiness asks it,
// so an instance is not sent traffic while another one's newer migration
// is in place, or before its own have run.
func SchemaCurrent(ctx context.Context, q sqlx.QueryerContext) error {
	all, err := loadMigrations()
	if err != nil {
		return err
	}
	var applied []int
	if err := sqlx.SelectContext(ctx, q, &applied, `SELECT version FROM schema_migrations ORDER BY version`); err != nil {
		return fmt.Errorf("read applied migrations: %w", err)
	}
	todo, err := pending(all, applied)
	if err != nil {
		return err
	}
	if len(todo) > 0 {
		return fmt.Errorf("migration %s is not applied yet", todo[0].name)
	}
	return nil
}

// pending lists the migrations not applied yet, in version order. A version
// applied but unknown to this binary means a newer schema: serving it could
// corrupt data. A known version missing below an applied one (a branch's
// migration merged after another's) is applied like any other.
func pending(all []migration, applied []int) ([]migration, error) {
	known := make(map[int]bool, len(all))
	for _, m := range all {
		known[m.version] = true
	}
	done := make(map[int]bool, len(applied))
	for _, v := range applied {
		if !known[v] {
			return nil, fmt.Errorf("migrate: database schema has version %d, which this binary does not know: refusing to serve it", v)
		}
		done[v] = true
	}
	var out []migration
	for _, m := range all {
		if !done[m.version] {
			out = append(out, m)
		}
	}
	return out, nil
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
