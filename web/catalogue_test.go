package web

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gridmap/geo"
)

// TestCatalogue: both languages have the same keys with the same
// placeholders, and every literal key the code and templates use exists.
func TestCatalogue(t *testing.T) {
	cat, err := LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	zh, en := cat["zh-CN"], cat["en"]
	for k, v := range zh {
		w, ok := en[k]
		if !ok {
			t.Errorf("en lacks %q", k)
			continue
		}
		if got, want := placeholders(w), placeholders(v); got != want {
			t.Errorf("%q: en has placeholders %s, zh-CN %s", k, got, want)
		}
	}
	for k := range en {
		if _, ok := zh[k]; !ok {
			t.Errorf("zh-CN lacks %q", k)
		}
	}
	// Literal keys: t("key") and tr(h, "tag", {…}, "key") in JS, data-i18n*="key"
	// in HTML, {{t "key"}} in templates.
	uses := regexp.MustCompile(`\bt\(\s*"([a-zA-Z0-9_.]+)"|data-i18n[a-z-]*="([a-zA-Z0-9_.]+)"|\{\{\s*t\s+"([a-zA-Z0-9_.]+)"|\(t "([a-zA-Z0-9_.]+)"|\btr\(h, "\w+", .*?, "([a-z]\w*\.[a-zA-Z0-9_.]+)"(?:, [{\w]|\))|"data-i18n[a-z-]*": "([a-zA-Z0-9_.]+)"`)
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// Built bundles are skipped: the minifier may name any function t
		// (t("label", …) in the report chunk was a minified h, not a lookup).
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "dist" || d.Name() == "dist-test") {
			return filepath.SkipDir
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".js") || strings.HasSuffix(path, ".html")) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range uses.FindAllStringSubmatch(string(b), -1) {
			key := strings.Join(m[1:], "")
			if strings.HasSuffix(key, ".") {
				continue // a prefix completed at run time ("admin.role." + role)
			}
			if _, ok := zh[key]; !ok {
				t.Errorf("%s uses %q, which the catalogue lacks", path, key)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The dynamic keys: a role's name and duty, an operation, an issue kind, a code change.
	// Every count group, a group added later included, has its name (count.<key>).
	for _, g := range geo.CountGroups {
		if _, ok := zh["count."+g.Key]; !ok {
			t.Errorf("catalogue lacks count.%s", g.Key)
		}
	}
	for _, prefix := range []string{"role.", "duty."} {
		for _, r := range []string{"grid_leader", "grid_worker", "info_officer", "police", "building_leader", "party_member", "volunteer"} {
			if _, ok := zh[prefix+r]; !ok {
				t.Errorf("catalogue lacks %s%s", prefix, r)
			}
		}
	}
	for _, k := range []string{"AttributionControl.ToggleAttribution", "NavigationControl.ZoomIn", "NavigationControl.ZoomOut"} {
		if _, ok := zh["maplibre."+k]; !ok {
			t.Errorf("catalogue lacks maplibre.%s", k)
		}
	}
	for _, k := range []string{"role.admin", "role.editor", "role.viewer"} {
		if _, ok := zh["admin."+k]; !ok {
			t.Errorf("catalogue lacks admin.%s", k)
		}
	}
	for _, k := range []string{"create", "reshape", "move_border", "split", "merge", "retire", "revert"} {
		if _, ok := zh["admin.op."+k]; !ok {
			t.Errorf("catalogue lacks admin.op.%s", k)
		}
	}
	// The API's error codes (geo/errors.go, api/errors.go): the page shows
	// error.<code>, never the server's English message.
	for _, k := range []string{geo.EInvalid, geo.ENotFound, geo.EConflict, geo.EForbidden, geo.EUnauthenticated, geo.ETooLarge,
		geo.ETooMany, geo.EValidation, geo.EUnavailable, geo.ETimeout, geo.EInternal, "method_not_allowed", "generic"} {
		if _, ok := zh["error."+k]; !ok {
			t.Errorf("catalogue lacks error.%s", k)
		}
	}
	for _, k := range []string{"invalid_geometry", "outside_parent", "overlap", "gap", "unassigned_buildings"} {
		if _, ok := zh["admin.issue."+k]; !ok {
			t.Errorf("catalogue lacks admin.issue.%s", k)
		}
	}
}

var placeholderRE = regexp.MustCompile(`\{\w+\}`)

func placeholders(s string) string {
	p := placeholderRE.FindAllString(s, -1)
	sort.Strings(p)
	return strings.Join(p, ",")
}
