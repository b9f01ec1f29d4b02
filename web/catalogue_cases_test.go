package web

import (
	"testing"

	"gridmap/cases"
)

// TestCatalogueCaseKeys: every state and action a case's public timeline
// can show (/c/{code}, 我的反映, the report form's duplicates) has its text in
// both catalogues, the store's own events and the rating's five answers too.
func TestCatalogueCaseKeys(t *testing.T) {
	cat, err := LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{"case.state." + string(cases.StateReported): true}
	for _, r := range cases.Rules() {
		keys["case.action."+string(r.Action)] = true
		keys["case.state."+string(r.From)] = true
		if r.To != "" {
			keys["case.state."+string(r.To)] = true
		}
	}
	for _, a := range []cases.Action{cases.EventReport, cases.EventReroute, cases.EventBoundaryChange, cases.EventMergedIn,
		cases.ActionRelocate, cases.ActionRecategorize} {
		keys["case.action."+string(a)] = true
	}
	for _, n := range []string{"1", "2", "3", "4", "5"} {
		keys["case.rate."+n] = true
	}
	for k := range keys {
		for _, lang := range []string{"zh-CN", "en"} {
			if _, ok := cat[lang][k]; !ok {
				t.Errorf("%s catalogue lacks %s", lang, k)
			}
		}
	}
}
