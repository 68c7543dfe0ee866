package static

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// repoRoot is the module root: tests run in the package directory, static/.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod in %s: %v", root, err)
	}
	return root
}

// requireNodeModules fails the test, rather than skipping it, when the npm
// packages are missing or are not the versions package-lock.json pins: a
// comparison against the wrong Tailwind or htmx would prove nothing.
func requireNodeModules(t *testing.T, root string) {
	t.Helper()
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	raw, err := os.ReadFile(filepath.Join(root, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &lock); err != nil {
		t.Fatalf("package-lock.json: %v", err)
	}
	for _, name := range []string{"tailwindcss", "htmx.org"} {
		want := lock.Packages["node_modules/"+name].Version
		if want == "" {
			t.Fatalf("package-lock.json pins no %s", name)
		}
		var pkg struct {
			Version string `json:"version"`
		}
		raw, err := os.ReadFile(filepath.Join(root, "node_modules", name, "package.json"))
		if err != nil {
			t.Fatalf("npm package %s is not installed (%v): run `make deps`", name, err)
		}
		if err := json.Unmarshal(raw, &pkg); err != nil {
			t.Fatalf("node_modules/%s/package.json: %v", name, err)
		}
		if pkg.Version != want {
			t.Fatalf("node_modules has %s %s but package-lock.json pins %s: run `make deps`", name, pkg.Version, want)
		}
	}
}

// TestAppCSSIsCurrent rebuilds the stylesheet exactly as `make css` does and
// compares it with the committed css/app.css.
func TestAppCSSIsCurrent(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	requireNodeModules(t, root)

	out := filepath.Join(t.TempDir(), "app.css")
	cmd := exec.Command(filepath.Join(root, "node_modules", ".bin", "tailwindcss"),
		"-c", "tailwind.config.js", "-i", "static/css/input.css", "-o", out, "--minify")
	// The content globs in tailwind.config.js are relative to the working
	// directory, so the CLI must run from the repository root.
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "BROWSERSLIST_IGNORE_OLD_DATA=1")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tailwindcss: %v\n%s", err, msg)
	}

	built, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(built) == 0 {
		t.Fatal("tailwindcss wrote an empty stylesheet")
	}
	committed, err := os.ReadFile(filepath.Join("css", "app.css"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(built, committed) {
		t.Errorf("static/css/app.css is stale (%d bytes committed, %d bytes built from views/ and static/css/input.css): run `make css` and commit it",
			len(committed), len(built))
	}
}

// TestHtmxIsCurrent checks that the vendored htmx is the one package-lock.json pins.
func TestHtmxIsCurrent(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	requireNodeModules(t, root)

	want, err := os.ReadFile(filepath.Join(root, "node_modules", "htmx.org", "dist", "htmx.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("js", "htmx.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("static/js/htmx.min.js differs from node_modules/htmx.org/dist/htmx.min.js: run `make vendor-js` and commit it")
	}
}

// TestSSEExtensionIsCurrent checks that the vendored SSE extension (the live
// balance) is the one package-lock.json pins.
func TestSSEExtensionIsCurrent(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	requireNodeModules(t, root)

	want, err := os.ReadFile(filepath.Join(root, "node_modules", "htmx-ext-sse", "dist", "sse.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("js", "sse.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("static/js/sse.min.js differs from node_modules/htmx-ext-sse/dist/sse.min.js: run `make vendor-js` and commit it")
	}
}

// TestAxeIsCurrent checks that the axe-core the accessibility audit embeds
// (e2e/testdata, never served) is the one package-lock.json pins.
func TestAxeIsCurrent(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	requireNodeModules(t, root)

	want, err := os.ReadFile(filepath.Join(root, "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "e2e", "testdata", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("e2e/testdata/axe.min.js differs from node_modules/axe-core/axe.min.js: run `make vendor-js` and commit it")
	}
}
