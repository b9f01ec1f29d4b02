package web

import (
	"io/fs"
	"strings"
	"testing"
)

// TestProductionBundleExposesTestHooks reads the embedded bundle, the one
// `make build` ships: the window hooks of the browser tests are only in the
// test bundle (dist-test/, build.mjs).
func TestProductionBundleExposesTestHooks(t *testing.T) {
	hooks := []string{"__gridmap", "__editor", "__editorRequest", "__borderHandle", "__TEST_HOOKS__"}
	n := 0
	err := fs.WalkDir(dist, "dist/assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		n++
		b, err := fs.ReadFile(dist, p)
		for _, h := range hooks {
			if strings.Contains(string(b), h) {
				t.Errorf("%s contains %s", p, h)
			}
		}
		return err
	})
	if err != nil || n == 0 {
		t.Fatalf("no bundle embedded (%d scripts, %v): run make build", n, err)
	}
}
