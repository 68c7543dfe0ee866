package dbtest_test

import (
	"fmt"
	"testing"

	"github.com/jmoiron/sqlx"

	"im2pay/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func get[T any](t *testing.T, conn *sqlx.DB, q string, args ...any) T {
	t.Helper()
	var v T
	if err := conn.Get(&v, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

func TestNewDatabasesAreDistinctAndIsolated(t *testing.T) {
	a, b := dbtest.New(t), dbtest.New(t)
	nameA := get[string](t, a, `SELECT current_database()`)
	nameB := get[string](t, b, `SELECT current_database()`)
	if nameA == nameB {
		t.Fatalf("both databases are %s", nameA)
	}
	for _, conn := range []*sqlx.DB{a, b} {
		if n := get[int](t, conn, `SELECT count(*) FROM schema_migrations`); n == 0 {
			t.Error("database not migrated")
		}
	}
	if _, err := a.Exec(`CREATE TABLE probe (v int); INSERT INTO probe VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	if got := get[*string](t, b, `SELECT to_regclass('probe')::text`); got != nil {
		t.Errorf("table made in %s is visible in %s", nameA, nameB)
	}
}

func TestDatabaseDroppedAfterCleanup(t *testing.T) {
	var name string
	t.Run("inner", func(t *testing.T) {
		name = get[string](t, dbtest.New(t), `SELECT current_database()`)
	})
	admin := sqlx.MustConnect("postgres", dbtest.ServerURL("postgres"))
	defer admin.Close()
	if n := get[int](t, admin, `SELECT count(*) FROM pg_database WHERE datname = $1`, name); n != 0 {
		t.Errorf("%s still exists after its test ended", name)
	}
}

func TestNewURLLeftOpenIsStillDropped(t *testing.T) {
	var name string
	t.Run("inner", func(t *testing.T) {
		// A session the test forgets to close, as a subprocess server's
		// would be: DROP ... WITH (FORCE) must not trip over it.
		conn := sqlx.MustConnect("postgres", dbtest.NewURL(t))
		name = get[string](t, conn, `SELECT current_database()`)
	})
	admin := sqlx.MustConnect("postgres", dbtest.ServerURL("postgres"))
	defer admin.Close()
	if n := get[int](t, admin, `SELECT count(*) FROM pg_database WHERE datname = $1`, name); n != 0 {
		t.Errorf("%s still exists after its test ended", name)
	}
}

func TestParallelNew(t *testing.T) {
	for i := range 8 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			conn := dbtest.New(t)
			if _, err := conn.Exec(`CREATE TABLE probe (v int)`); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCluster(t *testing.T) {
	c := dbtest.Cluster()
	if c == nil {
		t.Skip("TEST_DATABASE_URL in use")
	}
	if c.Port() == 0 || c.URL() == "" {
		t.Errorf("cluster without port or URL: %d %q", c.Port(), c.URL())
	}
}
