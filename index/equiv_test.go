package index_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/demo"
	"gridmap/geo"
	"gridmap/index"
)

// probeKind says where a probe point comes from.
type probeKind int

const (
	probeRandom       probeKind = iota // uniform over the data's bounds and a margin around them
	probeVertex                        // a vertex of a lowest-level area
	probeSharedVertex                  // a vertex of two or more lowest-level areas
	probeMidpoint                      // the midpoint of an edge, computed in float64
	probeAlongEdge                     // a point interpolated along an edge
	probeNearVertex                    // a vertex moved by one unit in the last place
	probeKinds
)

var probeNames = [probeKinds]string{"random", "vertex", "shared vertex", "edge midpoint", "along an edge", "next to a vertex"}

type probe struct {
	p    orb.Point
	kind probeKind
}

// probes returns n points over the areas of the deepest level of hierarchy
// in snap: a third at random over the bounds and a margin, the rest on and
// next to the areas' vertices and edges.
func probes(t *testing.T, snap *geo.Snapshot, hierarchy string, n int, seed uint64) []probe {
	t.Helper()
	depth := map[string]int{}
	deepest := -1
	for _, l := range snap.Levels {
		if l.Hierarchy == hierarchy {
			depth[l.Key] = l.Depth
			deepest = max(deepest, l.Depth)
		}
	}
	type edge struct{ a, b orb.Point }
	var edges []edge
	owners := map[orb.Point]map[int64]bool{}
	var bound orb.Bound
	first := true
	for _, a := range snap.Areas {
		d, ok := depth[a.Level]
		if !ok || a.Geometry == nil || a.RetiredAt != nil {
			continue
		}
		if first {
			bound, first = a.Geometry.Bound(), false
		} else {
			bound = bound.Union(a.Geometry.Bound())
		}
		if d != deepest {
			continue
		}
		for _, poly := range a.Geometry {
			for _, r := range poly {
				for i := 0; i+1 < len(r); i++ {
					edges = append(edges, edge{r[i], r[i+1]})
					if owners[r[i]] == nil {
						owners[r[i]] = map[int64]bool{}
					}
					owners[r[i]][a.ID] = true
				}
			}
		}
	}
	if len(edges) == 0 {
		t.Fatalf("no areas of hierarchy %s", hierarchy)
	}
	var shared, single []orb.Point
	for p, o := range owners {
		if len(o) > 1 {
			shared = append(shared, p)
		} else {
			single = append(single, p)
		}
	}
	if len(shared) == 0 {
		t.Fatalf("no vertex is shared by two areas of hierarchy %s: the test would not exercise borders", hierarchy)
	}
	// Map iteration order is random: sort for a reproducible sequence.
	sortPoints(shared)
	sortPoints(single)
	rng := rand.New(rand.NewPCG(seed, seed))
	w, h := bound.Max[0]-bound.Min[0], bound.Max[1]-bound.Min[1]
	out := make([]probe, 0, n)
	for len(out) < n {
		k := probeRandom
		if rng.IntN(3) != 0 {
			k = probeKind(1 + rng.IntN(int(probeKinds)-1))
		}
		var p orb.Point
		switch k {
		case probeRandom:
			p = orb.Point{bound.Min[0] - 0.02*w + rng.Float64()*1.04*w, bound.Min[1] - 0.02*h + rng.Float64()*1.04*h}
		case probeVertex:
			p = single[rng.IntN(len(single))]
		case probeSharedVertex:
			p = shared[rng.IntN(len(shared))]
		case probeMidpoint:
			e := edges[rng.IntN(len(edges))]
			p = orb.Point{(e.a[0] + e.b[0]) / 2, (e.a[1] + e.b[1]) / 2}
		case probeAlongEdge:
			e := edges[rng.IntN(len(edges))]
			f := rng.Float64()
			p = orb.Point{e.a[0] + f*(e.b[0]-e.a[0]), e.a[1] + f*(e.b[1]-e.a[1])}
		case probeNearVertex:
			v := shared[rng.IntN(len(shared))]
			p = orb.Point{nextToward(v[0], rng.IntN(3)-1), nextToward(v[1], rng.IntN(3)-1)}
		}
		out = append(out, probe{p, k})
	}
	return out
}

// nextToward moves x by one unit in the last place: up for dir > 0, down
// for dir < 0, not at all for 0.
func nextToward(x float64, dir int) float64 {
	switch {
	case dir > 0:
		return math.Nextafter(x, math.Inf(1))
	case dir < 0:
		return math.Nextafter(x, math.Inf(-1))
	}
	return x
}

func sortPoints(ps []orb.Point) {
	slices.SortFunc(ps, func(a, b orb.Point) int {
		if c := cmp.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return cmp.Compare(a[1], b[1])
	})
}

func TestMatchesPostGIS(t *testing.T) {
	for _, tc := range []struct {
		name, db, hierarchy string
		load                func(*testing.T, *data.DB)
	}{
		{"demo", "index_demo", "admin", loadDemo(demo.Options{})},
		{"demo of 2,000 grids", "index_demo2000", "admin", loadDemo(demo.Options{Grids: 2000, Buildings: 4000})},
		{"Liechtenstein Gemeinden", "index_li", "li", importLiechtenstein},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := dbtest.New(t, tc.db)
			tc.load(t, db)
			varyDuties(t, db)
			ctx := context.Background()
			snap, err := data.NewSnapshotSource(db).Snapshot(ctx, nil, today())
			if err != nil {
				t.Fatal(err)
			}
			svc := startIndex(t, db, nil, index.Config{})
			ps := probes(t, snap, tc.hierarchy, 100_000, 1)
			pts := make([]orb.Point, len(ps))
			for i, p := range ps {
				pts[i] = p.p
			}
			ls := data.NewLookupService(db)

			t.Run("today", func(t *testing.T) {
				want := lookupPostGIS(t, ls, pts, nil, tc.hierarchy)
				got, err := svc.LookupPoints(ctx, pts, nil, tc.hierarchy)
				if err != nil {
					t.Fatal(err)
				}
				compareAnswers(t, ps, got, want, true)
				// The encoded answers, twice: the second time from the cache.
				for pass := range 2 {
					for i := range 20_000 {
						got, err := svc.LookupPointJSON(ctx, geo.LookupQuery{Point: pts[i], Hierarchy: tc.hierarchy})
						if err != nil {
							t.Fatal(err)
						}
						if wj := encodeJSON(t, &want[i]); !bytes.Equal(got, wj) {
							t.Fatalf("pass %d, point %d %.17g: LookupPointJSON\n %s\nwant\n %s", pass, i, pts[i], got, wj)
						}
					}
				}
			})
			t.Run("tomorrow's duties after midnight", func(t *testing.T) {
				// The index with a clock past midnight against PostGIS asked
				// for the end of tomorrow (no geometry changes after today).
				tomorrow := time.Now().Add(24 * time.Hour)
				svc := startIndex(t, db, nil, index.Config{Now: func() time.Time { return tomorrow }})
				y, m, d := tomorrow.In(chinaTime).Date()
				end := time.Date(y, m, d+1, 0, 0, 0, 0, chinaTime).Add(-time.Microsecond)
				sample := pts[:20_000]
				want := lookupPostGIS(t, ls, sample, &end, tc.hierarchy)
				got, err := svc.LookupPoints(ctx, sample, nil, tc.hierarchy)
				if err != nil {
					t.Fatal(err)
				}
				compareAnswers(t, ps[:len(sample)], got, want, false)
			})
			t.Run("another hierarchy", func(t *testing.T) {
				other := "admin"
				if tc.hierarchy == "admin" {
					other = "li"
				}
				sample := pts[:2000]
				want := lookupPostGIS(t, ls, sample, nil, other)
				got, err := svc.LookupPoints(ctx, sample, nil, other)
				if err != nil {
					t.Fatal(err)
				}
				compareAnswers(t, ps[:len(sample)], got, want, false)
			})
		})
	}
}

// encodeJSON is what the API writes for r: encoding/json without HTML
// escaping, here without the newline.
func encodeJSON(t *testing.T, r *geo.LookupResult) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// compareAnswers compares every answer as JSON, byte for byte, and checks
// that shared vertices come out ambiguous. With counts it also requires every
// kind of answer (inside, on a border, outside) to occur.
func compareAnswers(t *testing.T, ps []probe, got, want []geo.LookupResult, counts bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d answers from the index, %d from PostGIS", len(got), len(want))
	}
	var byKind [probeKinds]struct{ n, ambiguous, outside int }
	bad := 0
	for i := range got {
		gj, _ := json.Marshal(got[i])
		wj, _ := json.Marshal(want[i])
		if !bytes.Equal(gj, wj) {
			bad++
			if bad <= 5 {
				t.Errorf("point %d %.17g (%s):\n index: %s\n   want: %s", i, ps[i].p, probeNames[ps[i].kind], gj, wj)
			}
			continue
		}
		k := &byKind[ps[i].kind]
		k.n++
		if want[i].Ambiguous {
			k.ambiguous++
		}
		if want[i].Grid == nil {
			k.outside++
		}
		if ps[i].kind == probeSharedVertex && want[i].Grid != nil && !want[i].Ambiguous {
			t.Errorf("point %d %.17g is a vertex of two areas, yet the answer is not ambiguous: %s", i, ps[i].p, wj)
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d answers differ", bad, len(got))
	}
	for k, c := range byKind {
		t.Logf("%-16s %6d points, %6d ambiguous, %6d outside every area", probeNames[k], c.n, c.ambiguous, c.outside)
	}
	if counts {
		if c := byKind[probeSharedVertex]; c.ambiguous == 0 || c.ambiguous+c.outside < c.n {
			t.Errorf("shared vertices: %d of %d ambiguous (the rest outside: %d); want all ambiguous", c.ambiguous, c.n, c.outside)
		}
		if c := byKind[probeRandom]; c.outside == 0 || c.outside == c.n {
			t.Errorf("random points: %d of %d outside; want some inside and some outside", c.outside, c.n)
		}
		if c := byKind[probeMidpoint]; c.ambiguous == 0 {
			t.Errorf("no edge midpoint came out ambiguous: the test does not exercise shared edges")
		}
	}
}
