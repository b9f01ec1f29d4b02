package data_test

import (
	"context"
	"strings"
	"testing"

	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/demo"
	"gridmap/geo"
)

// TestFindAreasText: the area search of the editor's tree and the
// statistics picker (GET /api/v1/areas?q=&under=): a name that contains the
// text or a code that starts with it, the name or code itself first, then
// those starting with it, then the rest, each in level and code order; the
// text's LIKE characters are literal; under keeps a subtree.
func TestFindAreasText(t *testing.T) {
	db, _ := dbtest.New(t, "data_area_search")
	dbtest.LoadDemo(t, db, demo.Options{})
	as := data.NewAreaService(db)
	ctx := context.Background()
	find := func(f geo.AreaFilter) []geo.Area {
		t.Helper()
		got, err := as.FindAreas(ctx, f)
		if err != nil {
			t.Fatalf("FindAreas(%+v): %v", f, err)
		}
		return got
	}
	codes := func(as []geo.Area) string {
		out := make([]string, len(as))
		for i, a := range as {
			out[i] = a.Code
		}
		return strings.Join(out, ",")
	}
	heping := find(geo.AreaFilter{Text: "和平社区"})
	if len(heping) < 2 || heping[0].Code != "330199001002" {
		t.Fatalf("和平社区: %s; want the community first, then its grids", codes(heping))
	}
	grids := find(geo.AreaFilter{ParentID: heping[0].ID})
	if len(heping) != 1+len(grids) {
		t.Errorf("和平社区: %d areas, want the community and its %d grids", len(heping), len(grids))
	}
	for i, a := range heping[1:] {
		if !strings.HasPrefix(a.Name, "和平社区") || a.Level != "grid" || (i > 0 && a.Code < heping[i].Code) {
			t.Errorf("和平社区, result %d: %s %s (level %s): want its grids in code order", i+1, a.Code, a.Name, a.Level)
		}
	}
	if got := codes(find(geo.AreaFilter{Text: "  和平社区 "})); got != codes(heping) {
		t.Errorf("the text with spaces around: %s, want %s", got, codes(heping))
	}
	if got := find(geo.AreaFilter{Text: "330199001002"}); len(got) != len(heping) || got[0].Code != "330199001002" {
		t.Errorf("by code prefix: %s, want the community then its grids", codes(got))
	}
	fours := find(geo.AreaFilter{Text: "第04"})
	if len(fours) < 2 {
		t.Fatalf("第04: %s, want a grid of each community that has four", codes(fours))
	}
	for _, a := range fours {
		if !strings.Contains(a.Name, "第04") {
			t.Errorf("第04 found %s %s", a.Code, a.Name)
		}
	}
	if got := codes(find(geo.AreaFilter{Text: "第04", Under: heping[0].ID})); got != "330199001002004" {
		t.Errorf("第04 under 和平社区: %s, want its grid 330199001002004", got)
	}
	for _, q := range []string{"0010", "%", "_", `\`, "3301990010_2"} {
		if got := find(geo.AreaFilter{Text: q}); len(got) != 0 {
			t.Errorf("%q: %s, want none (codes match from their start; LIKE's characters are literal)", q, codes(got))
		}
	}
}
