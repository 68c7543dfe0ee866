package db

import (
	"fmt"
	"testing"
)

// Branches number their migrations apart and merge in either order: a
// binary applies every version it knows and the database lacks, and
// refuses a database with a version it does not know.
func TestPendingMigrationsTolerateGapsAndLateMerges(t *testing.T) {
	all := []migration{{version: 1}, {version: 2}, {version: 7}, {version: 8}, {version: 9}}
	versions := func(ms []migration) []int {
		var out []int
		for _, m := range ms {
			out = append(out, m.version)
		}
		return out
	}
	for _, c := range []struct {
		name    string
		applied []int
		want    []int
	}{
		{"a fresh database gets every one in order", nil, []int{1, 2, 7, 8, 9}},
		{"a gap in the numbering is no migration", []int{1, 2, 7}, []int{8, 9}},
		{"a migration merged after a higher one is applied", []int{1, 2, 7, 9}, []int{8}},
		{"an up-to-date database gets none", []int{1, 2, 7, 8, 9}, nil},
	} {
		got, err := pending(all, c.applied)
		if err != nil || fmt.Sprint(versions(got)) != fmt.Sprint(c.want) {
			t.Errorf("%s: pending = %v, %v; want %v", c.name, versions(got), err, c.want)
		}
	}
	if _, err := pending(all, []int{1, 2, 10}); err == nil {
		t.Error("a database with version 10, unknown to the binary, was accepted")
	}
}
