package api_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"gridmap/geo"
)

// lookupAddress asks /api/v1/lookup?address= and fails on a status other than 200.
func lookupAddress(t *testing.T, f *fixture, q string) lookupResponse {
	t.Helper()
	var r lookupResponse
	if code := get(t, f, "/api/v1/lookup?address="+url.QueryEscape(q), &r); code != 200 {
		t.Fatalf("%s: status %d", q, code)
	}
	return r
}

// gridOf is the code of the demo grid that contains the building.
func gridOf(f *fixture, b geo.Building) string {
	for _, a := range f.ds.Areas {
		if a.Level == "grid" && polygonContains(a.Geometry, b.Point) {
			return a.Code
		}
	}
	return ""
}

// A house number that does not exist used to be answered with the nearest
// spelling's grid and leader (人民路13号 → 人民路14号, 人民路99号 → 人民路9号1栋).
func TestNonexistentHouseNumberAsksDidYouMean(t *testing.T) {
	f := setup(t)
	for _, q := range []string{"人民路13号", "人民路99号"} {
		t.Run(q, func(t *testing.T) {
			for _, b := range f.ds.Buildings {
				if strings.HasPrefix(b.Address, q) {
					t.Fatalf("the demo has %s: pick a number it does not have", b.Address)
				}
			}
			r := lookupAddress(t, f, q)
			if r.Match != "approximate" {
				t.Errorf("match %q, want approximate", r.Match)
			}
			if r.Grid != nil || len(r.Responsible) != 0 || len(r.Areas) != 0 {
				t.Errorf("grid %v, %d responsible, %d areas: want none for a guess", r.Grid, len(r.Responsible), len(r.Areas))
			}
			if len(r.Candidates) == 0 {
				t.Fatal("no candidates to ask about")
			}
			for _, c := range r.Candidates {
				if c.Score >= 1 || c.Score < 0.49*geo.AddressSimilarity {
					t.Errorf("candidate %s: score %v, want in [%v, 1)", c.Building.Address, c.Score, 0.49*geo.AddressSimilarity)
				}
			}
		})
	}
}

// A street alone used to answer the grid of its first building (人民路 →
// 人民路4号) although the street crosses several grids.
func TestStreetAloneListsItsGrids(t *testing.T) {
	f := setup(t)
	for _, q := range []string{"人民路", "阳光小区"} { // a street; a compound (its buildings' names)
		t.Run(q, func(t *testing.T) {
			want := map[string]int{}
			for _, b := range f.ds.Buildings {
				if geo.StreetOf(geo.NormalizeAddress(b.Address), q) || geo.StreetOf(b.Name, q) {
					want[gridOf(f, b)]++
				}
			}
			if len(want) < 2 {
				t.Fatalf("%s is in %d grids of the demo; the test wants a street crossing several", q, len(want))
			}
			r := lookupAddress(t, f, q)
			if r.Match != "street" || r.Grid != nil || len(r.Responsible) != 0 {
				t.Errorf("match %q, grid %v, %d responsible; want street, no grid, nobody", r.Match, r.Grid, len(r.Responsible))
			}
			got := map[string]int{}
			var codes []string
			for _, g := range r.Grids {
				got[g.Code] = g.Buildings
				codes = append(codes, g.Code)
			}
			if len(got) != len(want) {
				t.Errorf("grids %v, want %v", got, want)
			}
			for code, n := range want {
				if got[code] != n {
					t.Errorf("grid %s: %d buildings, want %d", code, got[code], n)
				}
			}
			if !slices.IsSorted(codes) {
				t.Errorf("grids %v, want them by code", codes)
			}
		})
	}
}

// Building and compound names were not searched at all: 丽景苑3栋 was "not
// found" by the search while the suggestions (another matcher) offered it.
func TestBuildingNamesAreFound(t *testing.T) {
	f := setup(t)
	byName := map[string][]geo.Building{}
	for _, b := range f.ds.Buildings {
		if b.Name != "" {
			byName[b.Name] = append(byName[b.Name], b)
		}
	}
	t.Run("a name one building has", func(t *testing.T) {
		const name = "阳光小区二期1栋"
		if len(byName[name]) != 1 {
			t.Fatalf("%d buildings named %s in the demo, want 1", len(byName[name]), name)
		}
		b := byName[name][0]
		r := lookupAddress(t, f, name)
		if r.Match != "exact" || len(r.Candidates) == 0 || r.Candidates[0].Building.Code != b.Code {
			t.Fatalf("match %q, candidates %+v; want exact %s", r.Match, r.Candidates, b.Code)
		}
		if want := gridOf(f, b); r.Grid == nil || r.Grid.Code != want {
			t.Errorf("grid %v, want %s", r.Grid, want)
		}
	})
	t.Run("a name several buildings share", func(t *testing.T) {
		const name = "丽景苑3栋"
		if len(byName[name]) < 2 {
			t.Fatalf("%d buildings named %s in the demo, want several", len(byName[name]), name)
		}
		r := lookupAddress(t, f, name)
		if r.Match != "approximate" || r.Grid != nil {
			t.Errorf("match %q, grid %v: want approximate without a grid (which of them is meant?)", r.Match, r.Grid)
		}
		var got, want []string
		for _, c := range r.Candidates {
			if c.Score == 1 {
				got = append(got, c.Building.Code)
			}
		}
		for _, b := range byName[name] {
			want = append(want, b.Code)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("candidates named %s: %v, want %v", name, got, want)
		}
	})
}
