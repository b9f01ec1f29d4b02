package web

import (
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
