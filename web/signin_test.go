package web_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOneSignIn (issue 11): the sign-in steps live in lib/session.js only;
// the editor (admin.js), /work and any other page import them instead of
// posting /api/v1/login or reading the session's CSRF token themselves.
func TestOneSignIn(t *testing.T) {
	var offenders []string
	err := filepath.WalkDir("src", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".js") || filepath.ToSlash(path) == "src/lib/session.js" {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, own := range []string{`"/api/v1/login"`, "setCSRF("} {
			if strings.Contains(string(b), own) && !(own == "setCSRF(" && filepath.ToSlash(path) == "src/lib/api.js") {
				offenders = append(offenders, path+": "+own)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(offenders) > 0 {
		t.Errorf("sign-in steps outside lib/session.js: %v", offenders)
	}
}
