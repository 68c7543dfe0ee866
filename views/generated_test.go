package views

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestTemplOutputIsCurrent regenerates every component from its .templ source
// in a scratch copy of views/ and compares the result with the committed
// _templ.go next to the source, so a .templ edited without `make generate`
// fails here as well as in `make check-generated`.
func TestTemplOutputIsCurrent(t *testing.T) {
	views, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(views)
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod in %s: %v", root, err)
	}

	// Copy the .templ sources, keeping their paths: the generated code
	// names each source relative to the -path directory.
	scratch := t.TempDir()
	var sources []string // paths relative to views/
	generated := map[string]bool{}
	err = filepath.WalkDir(views, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(views, path)
		if err != nil {
			return err
		}
		switch {
		case strings.HasSuffix(rel, "_templ.go"):
			generated[rel] = true
		case strings.HasSuffix(rel, ".templ"):
			sources = append(sources, rel)
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			dst := filepath.Join(scratch, rel)
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			return os.WriteFile(dst, src, 0o644)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(sources)

	if len(sources) > 0 {
		// From the module root, so that `go tool` finds templ in go.mod.
		cmd := exec.Command("go", "tool", "templ", "generate", "-path", scratch)
		cmd.Dir = root
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go tool templ generate: %v\n%s", err, msg)
		}
	}

	for _, rel := range sources {
		out := strings.TrimSuffix(rel, ".templ") + "_templ.go"
		delete(generated, out)
		want, err := os.ReadFile(filepath.Join(scratch, out))
		if err != nil {
			t.Errorf("templ generated no %s from views/%s: %v", out, rel, err)
			continue
		}
		got, err := os.ReadFile(out)
		switch {
		case os.IsNotExist(err):
			t.Errorf("views/%s is missing (its source is views/%s): run make generate and commit it", out, rel)
		case err != nil:
			t.Errorf("views/%s: %v", out, err)
		case !bytes.Equal(got, want):
			t.Errorf("views/%s is stale: it differs from what templ generates from views/%s: run make generate and commit it", out, rel)
		}
	}

	// templ never deletes output, so a source removed without its
	// generated file would otherwise linger.
	orphans := make([]string, 0, len(generated))
	for rel := range generated {
		orphans = append(orphans, rel)
	}
	sort.Strings(orphans)
	for _, rel := range orphans {
		t.Errorf("views/%s has no .templ source next to it: delete it", rel)
	}
	t.Logf("%d templ sources checked", len(sources))
}
