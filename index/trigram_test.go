package index

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/demo"
	"gridmap/geo"
)

// TestTrigramsMatchPgTrgm compares trigramsOf with PostgreSQL's show_trgm on
// the demo's addresses and on strings made to probe word splitting, case and
// multi-byte hashing.
func TestTrigramsMatchPgTrgm(t *testing.T) {
	db, _ := dbtest.New(t, "index_trgm")
	ds, err := demo.Generate(demo.Options{Grids: 200, Buildings: 4000})
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{
		"a", "ab", "abc", "12-3号", "1-2-3", "路", "幸福路12号", "永安弄38号5栋", "b座1201室", "äulestrasse5",
		"landstrasse12a", "ÿö", "x", "号", "12", "a-b", "123456789012345678901234567890",
	}
	for _, b := range ds.Buildings {
		texts = append(texts, geo.NormalizeAddress(b.Address), geo.NormalizeAddress("浙江省杭州市"+b.Address))
	}
	shown, err := data.NewSnapshotSource(db).Trigrams(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, s := range texts {
		got, ok := trigramsOf(s)
		if !ok {
			t.Errorf("%q: trigramsOf refuses it; the test strings are all safe", s)
			continue
		}
		var want []trigram
		for _, x := range shown[s] {
			v, ok := parseShownTrigram(x)
			if !ok {
				t.Fatalf("%q: show_trgm gave %q", s, x)
			}
			want = append(want, v)
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%q: trigrams %v, show_trgm %v", s, hexes(got), hexes(want))
		}
		checked++
	}
	if checked < 4000 {
		t.Errorf("checked %d strings, want the demo's addresses too", checked)
	}
}

func hexes(ts []trigram) []string {
	var out []string
	for _, t := range ts {
		out = append(out, fmt.Sprintf("0x%06x", uint32(t)))
	}
	return out
}

func TestTrigramSafety(t *testing.T) {
	for _, tc := range []struct {
		s    string
		safe bool
	}{
		{"幸福路12号", true},
		{"äulestrasse5", true},
		{"ŝtrato1", false},      // Latin Extended: left to PostgreSQL
		{"가나다1", false},         // Hangul
		{"𠀀路1号", false},         // CJK extension B (4-byte)
		{"e\u0301cole1", false}, // combining accent
	} {
		t.Run(tc.s, func(t *testing.T) {
			if _, ok := trigramsOf(tc.s); ok != tc.safe {
				t.Errorf("trigramsOf(%q) safe = %v, want %v", tc.s, ok, tc.safe)
			}
		})
	}
}
