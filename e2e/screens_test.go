package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// The README shows docs/screens/*.png (make screens): each one it names
// must be committed, or the README shows broken images.
func TestTheREADMEsScreensExist(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	shots := regexp.MustCompile(`docs/screens/[A-Za-z0-9_-]+\.png`).FindAllString(string(readme), -1)
	if len(shots) < 16 {
		t.Fatalf("the README shows %d screens, want the 16 of make screens (4 pages × 2 languages × 2 sizes)", len(shots))
	}
	for _, s := range shots {
		if _, err := os.Stat(filepath.Join("..", s)); err != nil {
			t.Errorf("the README shows %s: %v (run make screens and commit docs/screens)", s, err)
		}
	}
}
