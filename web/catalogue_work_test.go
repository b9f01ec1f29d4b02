package web

import (
	"strings"
	"testing"

	"gridmap/cases"
)

// TestCatalogueWorkKeys: every action a staff member can be offered on
// /work (the state machine's rows for any role but the reporter's and the
// system's alone) has its confirmation text, what the action will do, in
// both catalogues.
func TestCatalogueWorkKeys(t *testing.T) {
	cat, err := LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, r := range cases.Rules() {
		for _, role := range r.Roles {
			if role != cases.RoleReporter && role != cases.RoleSystem {
				keys["work.confirm."+string(r.Action)] = true
			}
		}
	}
	if len(keys) < 10 {
		t.Fatalf("only %d staff actions in the state machine: %v", len(keys), keys)
	}
	for k := range keys {
		for _, lang := range []string{"zh-CN", "en"} {
			if v, ok := cat[lang][k]; !ok || v == "" {
				t.Errorf("%s catalogue lacks %s", lang, k)
			}
		}
	}
}

// TestCatalogueDeskConfirmKeys: the desk's own confirmation sentences
// (desk.confirm.ACTION, which desk.js confirmKey prefers to /work's
// work.confirm.ACTION) are each for a staff action of the state machine, in
// both catalogues, and differ from /work's (a copy would be a second place
// for the same words).
func TestCatalogueDeskConfirmKeys(t *testing.T) {
	cat, err := LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	staff := map[string]bool{}
	for _, r := range cases.Rules() {
		for _, role := range r.Roles {
			if role != cases.RoleReporter && role != cases.RoleSystem {
				staff[string(r.Action)] = true
			}
		}
	}
	n := 0
	for _, lang := range []string{"zh-CN", "en"} {
		for k, v := range cat[lang] {
			action, ok := strings.CutPrefix(k, "desk.confirm.")
			if !ok {
				continue
			}
			n++
			if !staff[action] {
				t.Errorf("%s: %s is not a staff action of the state machine", lang, k)
			}
			if v == "" || v == cat[lang]["work.confirm."+action] {
				t.Errorf("%s: %s = %q, want its own wording (work.confirm.%s is %q)", lang, k, v, action, cat[lang]["work.confirm."+action])
			}
			other := map[string]string{"zh-CN": "en", "en": "zh-CN"}[lang]
			if cat[other][k] == "" {
				t.Errorf("%s catalogue lacks %s", other, k)
			}
		}
	}
	if n == 0 {
		t.Error("no desk.confirm.* keys: the desk would word every action as /work does")
	}
}
