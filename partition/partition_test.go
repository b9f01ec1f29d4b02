package partition

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"testing"
)

// lattice is a generated community: w×h blocks of side m metres with roads
// on every block border except a share of them (footpaths between blocks of
// one estate), households drawn per block.
func lattice(seed uint64, w, h int, side float64, hhLo, hhHi int, offRoad float64) Problem {
	rng := rand.New(rand.NewPCG(seed, 1))
	var p Problem
	id := func(x, y int) int { return y*w + x }
	for y := range h {
		for x := range w {
			hh := hhLo + rng.IntN(hhHi-hhLo+1)
			p.Atoms = append(p.Atoms, Atom{Households: hh, Buildings: 1 + hh/60, AreaM2: side * side, PerimeterM: 4 * side,
				X: float64(x) * side, Y: float64(y) * side, Current: -1})
		}
	}
	for y := range h {
		for x := range w {
			for _, d := range [][2]int{{1, 0}, {0, 1}} {
				nx, ny := x+d[0], y+d[1]
				if nx >= w || ny >= h {
					continue
				}
				road := side
				if rng.Float64() < offRoad {
					road = 0
					e := fmt.Sprintf("estate-%d-%d", x, y)
					p.Atoms[id(x, y)].Estate, p.Atoms[id(nx, ny)].Estate = e, e
				}
				p.Edges = append(p.Edges, Edge{A: id(x, y), B: id(nx, ny), LengthM: side, RoadM: road})
			}
		}
	}
	return p
}

// join appends q's atoms to p, joined by the edges between p's atom a and
// q's atom b (none: an island).
func join(p, q Problem, links [][2]int, side float64) Problem {
	off := len(p.Atoms)
	for _, a := range q.Atoms {
		a.X += 1e6
		p.Atoms = append(p.Atoms, a)
	}
	for _, e := range q.Edges {
		p.Edges = append(p.Edges, Edge{A: e.A + off, B: e.B + off, LengthM: e.LengthM, RoadM: e.RoadM})
	}
	for _, l := range links {
		p.Edges = append(p.Edges, Edge{A: l[0], B: l[1] + off, LengthM: side, RoadM: side})
	}
	return p
}

// checkPartition verifies the hard properties: every atom in exactly one
// grid, each grid contiguous, grid totals add up, and every grid out of
// range marked with a reason that lists it.
func checkPartition(t *testing.T, p Problem, r *Result) {
	t.Helper()
	if len(r.Assign) != len(p.Atoms) {
		t.Fatalf("assign has %d atoms, want %d", len(r.Assign), len(p.Atoms))
	}
	count := make([]int, len(r.Grids))
	for a, g := range r.Assign {
		if g < 0 || g >= len(r.Grids) {
			t.Fatalf("atom %d in grid %d of %d", a, g, len(r.Grids))
		}
		count[g]++
		if !slices.Contains(r.Grids[g].Atoms, a) {
			t.Fatalf("atom %d assigned to grid %d but not listed in it", a, g)
		}
	}
	s := newSolver(p)
	for gi, g := range r.Grids {
		if count[gi] != len(g.Atoms) || len(g.Atoms) == 0 {
			t.Fatalf("grid %d lists %d atoms, %d assigned", gi, len(g.Atoms), count[gi])
		}
		hh := 0
		for _, a := range g.Atoms {
			hh += p.Atoms[a].Households
		}
		if hh != g.Households {
			t.Fatalf("grid %d: households %d, atoms sum to %d", gi, g.Households, hh)
		}
		if !s.connected(g.Atoms, -1) && !slices.Contains(g.Reasons, ReasonEmptyIsland) && !slices.Contains(g.Reasons, ReasonIslandAttached) {
			t.Fatalf("grid %d (%d atoms) is not contiguous", gi, len(g.Atoms))
		}
		in := hh >= p.Min && hh <= p.Max
		if in != g.InRange {
			t.Fatalf("grid %d: in_range %v with %d households in %d–%d", gi, g.InRange, hh, p.Min, p.Max)
		}
		if !in {
			marked := false
			for _, rs := range r.Reasons {
				if slices.Contains(rs.Grids, gi) && slices.Contains(g.Reasons, rs.Kind) {
					marked = true
				}
			}
			if !marked {
				t.Fatalf("grid %d has %d households outside %d–%d and no reason marks it (reasons %+v)", gi, hh, p.Min, p.Max, r.Reasons)
			}
		}
	}
}

func solve(t *testing.T, p Problem) *Result {
	t.Helper()
	r, err := Solve(p)
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, p, r)
	return r
}

func TestPartitionGeneratedCommunities(t *testing.T) {
	type tc struct {
		name     string
		p        Problem
		feasible bool
		reason   string // a reason kind that must be given
		islands  int    // island_attached reasons, each with atoms of its own and a grid holding more than the island
	}
	var cases []tc
	for seed := uint64(1); seed <= 6; seed++ {
		w, h := 3+int(seed)%4, 4+int(seed*7)%5
		p := lattice(seed, w, h, 120, 40, 160, 0.2)
		p.Min, p.Max, p.Seed = 300, 500, seed
		cases = append(cases, tc{name: fmt.Sprintf("lattice %dx%d seed %d", w, h, seed), p: p, feasible: true})
	}
	// A choke point: two blocks of blocks joined by one edge.
	{
		a, b := lattice(11, 4, 4, 100, 50, 90, 0), lattice(12, 4, 4, 100, 50, 90, 0)
		p := join(a, b, [][2]int{{15, 0}}, 100)
		p.Min, p.Max, p.Seed = 300, 500, 3
		cases = append(cases, tc{name: "choke point", p: p, feasible: true})
	}
	// An island of 120 households: no grid of 300–500 holds it alone, so it
	// is a separate part of a grid, and every grid is in range.
	{
		a, b := lattice(13, 5, 5, 100, 50, 90, 0), lattice(14, 1, 2, 100, 60, 60, 0)
		p := join(a, b, nil, 100)
		p.Min, p.Max, p.Seed = 300, 500, 4
		cases = append(cases, tc{name: "island", p: p, feasible: true, reason: ReasonIslandAttached})
	}
	// Two small islands on top of each other, far from the rest: each is
	// linked to the rest, not to the other (issue 12: an island of 4
	// households linked to its neighbour island was stated twice).
	{
		a := lattice(13, 5, 5, 100, 50, 90, 0)
		p := join(join(a, lattice(14, 1, 2, 100, 60, 60, 0), nil, 100), lattice(18, 1, 1, 100, 40, 40, 0), nil, 100)
		p.Min, p.Max, p.Seed = 300, 500, 4
		cases = append(cases, tc{name: "two islands", p: p, feasible: true, reason: ReasonIslandAttached, islands: 2})
	}
	// The same island next to a block over the maximum only: nothing can
	// take it.
	{
		a, b := lattice(17, 1, 1, 100, 700, 700, 0), lattice(14, 1, 2, 100, 60, 60, 0)
		p := join(a, b, nil, 100)
		p.Min, p.Max, p.Seed = 300, 500, 4
		cases = append(cases, tc{name: "island beside only a block over the maximum", p: p, reason: ReasonIsolated})
	}
	// One building over the maximum.
	{
		p := lattice(15, 5, 5, 100, 50, 90, 0)
		p.Atoms[12].Households, p.Atoms[12].Note = 720, "building 00042"
		p.Min, p.Max, p.Seed = 300, 500, 5
		cases = append(cases, tc{name: "building over the maximum", p: p, reason: ReasonAtomOverMax})
	}
	// 550 households: one grid is over 500, two are under 300.
	{
		p := lattice(16, 5, 2, 100, 55, 55, 0)
		p.Min, p.Max, p.Seed = 300, 500, 6
		cases = append(cases, tc{name: "total admits no k", p: p, reason: ReasonNoK})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := solve(t, c.p)
			if c.feasible && !r.Feasible() {
				t.Fatalf("feasible community: %s; reasons %+v", r.Summary(), r.Reasons)
			}
			if c.reason != "" {
				found := false
				for _, rs := range r.Reasons {
					found = found || rs.Kind == c.reason
				}
				if !found {
					t.Fatalf("want a reason %s, got %+v", c.reason, r.Reasons)
				}
			}
			if c.islands > 0 {
				seen := map[int]bool{}
				n := 0
				for _, rs := range r.Reasons {
					if rs.Kind != ReasonIslandAttached {
						continue
					}
					n++
					for _, a := range rs.Atoms {
						if seen[a] {
							t.Errorf("atom %d is in two island reasons: %+v", a, r.Reasons)
						}
						seen[a] = true
					}
					for _, g := range rs.Grids {
						if len(r.Grids[g].Atoms) <= len(rs.Atoms) {
							t.Errorf("island %v is grid %d alone", rs.Atoms, g)
						}
					}
				}
				if n != c.islands {
					t.Errorf("%d island reasons, want %d: %+v", n, c.islands, r.Reasons)
				}
			}
			again := solve(t, c.p)
			if !reflect.DeepEqual(r, again) {
				t.Fatalf("two runs with seed %d differ", c.p.Seed)
			}
			t.Log(r.Summary())
		})
	}
}

func TestPartitionSeedsDiffer(t *testing.T) {
	p := lattice(21, 6, 6, 100, 40, 120, 0.2)
	p.Min, p.Max = 300, 500
	seen := map[string]bool{}
	for seed := uint64(1); seed <= 4; seed++ {
		p.Seed = seed
		r := solve(t, p)
		seen[fmt.Sprint(r.Assign)] = true
	}
	if len(seen) < 2 {
		t.Fatalf("four seeds gave one partition: the seed is not used")
	}
}

func TestPartitionMaintainKeepsValidGrids(t *testing.T) {
	p := lattice(31, 6, 6, 100, 40, 120, 0.1)
	p.Min, p.Max, p.Seed = 300, 500, 7
	fresh := solve(t, p)
	if !fresh.Feasible() {
		t.Fatalf("fresh: %s", fresh.Summary())
	}
	// The fresh grids become the current ones; then one block grows so its
	// grid goes over the maximum.
	for a, g := range fresh.Assign {
		p.Atoms[a].Current = g
	}
	big := fresh.Grids[0].Atoms[0]
	p.Atoms[big].Households += 250
	p.Mode = Maintain
	r := solve(t, p)
	if !r.Feasible() {
		t.Fatalf("maintain: %s %+v", r.Summary(), r.Reasons)
	}
	kept := 0
	for _, g := range r.Grids {
		if !g.Kept {
			continue
		}
		kept++
		old := fresh.Grids[g.From].Atoms
		if !slices.Equal(old, g.Atoms) {
			t.Fatalf("kept grid %d changed: %v → %v", g.From, old, g.Atoms)
		}
	}
	// Every valid grid not next to the failing one must be kept as it was.
	valid := len(fresh.Grids) - 1
	if kept == 0 || kept < valid-3 {
		t.Fatalf("kept %d of %d valid grids: %s %+v", kept, valid, r.Summary(), r.Reasons)
	}
	if r.Metrics.Reassigned <= 0 || r.Metrics.Reassigned >= totalHouseholds(p)/2 {
		t.Fatalf("households reassigned %d of %d", r.Metrics.Reassigned, totalHouseholds(p))
	}
	t.Log(r.Summary())
}

func totalHouseholds(p Problem) int {
	t := 0
	for _, a := range p.Atoms {
		t += a.Households
	}
	return t
}

func TestPartitionBadInput(t *testing.T) {
	p := lattice(1, 2, 2, 100, 10, 20, 0)
	for _, c := range []struct {
		name string
		mod  func(*Problem)
	}{
		{"min above max", func(p *Problem) { p.Min, p.Max = 500, 300 }},
		{"zero min", func(p *Problem) { p.Min, p.Max = 0, 300 }},
		{"bad mode", func(p *Problem) { p.Min, p.Max, p.Mode = 1, 2, "redo" }},
		{"edge out of range", func(p *Problem) { p.Min, p.Max = 1, 2; p.Edges = append(p.Edges, Edge{A: 0, B: 9}) }},
	} {
		q := p
		q.Edges = slices.Clone(p.Edges)
		c.mod(&q)
		if _, err := Solve(q); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

// TestPartitionScratchLeftClean: cut and spanningTree leave their
// atom-indexed scratch tables all -1, so a later cut of another set of atoms
// takes none of an earlier set's atoms for its own.
func TestPartitionScratchLeftClean(t *testing.T) {
	p := lattice(3, 6, 7, 120, 40, 160, 0.2)
	p.Min, p.Max, p.Seed = 300, 500, 3
	if err := p.check(); err != nil {
		t.Fatal(err)
	}
	s := newSolver(p)
	s.run()
	if s.slot == nil || s.pos == nil {
		t.Fatal("the search made no cut")
	}
	for name, buf := range map[string][]int{"slot": s.slot, "pos": s.pos} {
		for a, v := range buf {
			if v != -1 {
				t.Fatalf("%s[%d] = %d after the search, want -1", name, a, v)
			}
		}
	}
}

// TestPartitionNoCutMarksOnlyFailingGrids: pieces whose total admits 2
// grids but no contiguous division into 2 grids of 300–500; the reason
// marks the grid out of range, not the one in range. A chain (three atoms in
// a row of 260, 260, 100) is proven indivisible; a cycle (2×2 atoms of 260,
// 260, 260, 100: every pair of neighbours is over 500 or leaves 520) is not
// decided, and says so (issue 12: no_balanced_cut claimed a choke point).
func TestPartitionNoCutMarksOnlyFailingGrids(t *testing.T) {
	for _, tc := range []struct {
		name string
		w, h int
		hh   []int
		want string
	}{
		{"chain proven", 3, 1, []int{260, 260, 100}, ReasonNoDivision},
		{"small cycle proven exhaustively", 2, 2, []int{260, 260, 260, 100}, ReasonNoDivision},
		// 16 atoms (over exhaustiveAtoms) with cycles: no claim of proof.
		{"large cycle not proven", 4, 4, []int{260, 260, 0, 0, 260, 100}, ReasonNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := lattice(21, tc.w, tc.h, 100, 0, 0, 0)
			for i, h := range tc.hh {
				p.Atoms[i].Households = h
			}
			p.Min, p.Max, p.Seed = 300, 500, 1
			r := solve(t, p)
			var out, outAtoms []int
			for i, g := range r.Grids {
				if !g.InRange {
					out = append(out, i)
					outAtoms = append(outAtoms, g.Atoms...)
				}
			}
			if len(r.Grids) != 2 || len(out) != 1 {
				t.Fatalf("want 2 grids, 1 out of range; got %s", r.Summary())
			}
			found := false
			for _, rs := range r.Reasons {
				if rs.Kind == ReasonNotFound || rs.Kind == ReasonNoDivision {
					if rs.Kind != tc.want {
						t.Errorf("reason %s, want %s: %s", rs.Kind, tc.want, rs.Message)
					}
					found = true
					if !reflect.DeepEqual(rs.Grids, out) || !reflect.DeepEqual(rs.Atoms, outAtoms) {
						t.Errorf("the reason marks grids %v atoms %v, want only those out of range %v %v", rs.Grids, rs.Atoms, out, outAtoms)
					}
				}
			}
			if !found {
				t.Fatalf("want a reason %s, got %+v", tc.want, r.Reasons)
			}
			for i, g := range r.Grids {
				if g.InRange && slices.Contains(g.Reasons, tc.want) {
					t.Errorf("grid %d is in range but carries %s", i, tc.want)
				}
			}
		})
	}
}

// TestPartitionIndivisible: the proof agrees with brute force over every
// set of cut edges on random chains, trees and graphs with cycles (small
// enough to enumerate).
func TestPartitionIndivisible(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for trial := range 300 {
		n := 2 + rng.IntN(7)
		p := Problem{Options: Options{Min: 300, Max: 500}}
		for i := range n {
			p.Atoms = append(p.Atoms, Atom{Households: 50 + rng.IntN(400), AreaM2: 1, PerimeterM: 4, Current: -1})
			if i > 0 {
				p.Edges = append(p.Edges, Edge{A: rng.IntN(i), B: i, LengthM: 1, RoadM: 1})
			}
		}
		// Half the trials have cycles (decided by exhaustivelyIndivisible).
		for range rng.IntN(2) * (1 + rng.IntN(3)) {
			if a, b := rng.IntN(n), rng.IntN(n); a != b {
				p.Edges = append(p.Edges, Edge{A: a, B: b, LengthM: 1, RoadM: 1})
			}
		}
		s := newSolver(p)
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		feasible := false
		for mask := 0; mask < 1<<len(p.Edges) && !feasible; mask++ {
			// Cut edge i when bit i is set; the grids are the components
			// of the remaining edges (every division into contiguous grids
			// is one such set: the edges between its grids).
			uf := make([]int, n)
			for i := range uf {
				uf[i] = i
			}
			var find func(int) int
			find = func(x int) int {
				if uf[x] != x {
					uf[x] = find(uf[x])
				}
				return uf[x]
			}
			for i, e := range p.Edges {
				if mask&(1<<i) == 0 {
					uf[find(e.A)] = find(e.B)
				}
			}
			sum := map[int]int{}
			for i, a := range p.Atoms {
				sum[find(i)] += a.Households
			}
			feasible = true
			for _, h := range sum {
				feasible = feasible && h >= 300 && h <= 500
			}
		}
		if got := s.indivisible(all); got != !feasible {
			t.Fatalf("trial %d: indivisible %v, brute force finds a division: %v (%+v %+v)", trial, got, feasible, p.Atoms, p.Edges)
		}
	}
}

// TestPartitionCompactOnUniformLattice: 6×4 equal blocks of 100 households
// and a range of 300–500 admit 6 grids of 2×2 blocks (Polsby–Popper π/4);
// strips and L shapes of 4 blocks (0.50) are as balanced and as much on
// roads, so only the compactness term tells them apart. Issue 12: grids
// were less compact than k-means + Voronoi cells.
func TestPartitionCompactOnUniformLattice(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			p := lattice(seed, 6, 4, 100, 100, 100, 0)
			p.Min, p.Max, p.Seed = 300, 500, seed
			r := solve(t, p)
			if r.Metrics.Grids != 6 || r.Metrics.PPMean < 0.7 {
				t.Fatalf("want 6 grids of Polsby–Popper mean ≥ 0.7 (2×2 blocks: 0.785), got %s", r.Summary())
			}
		})
	}
}

// TestPartitionEmptyPiecesAttached: a piece without households is no grid
// of its own. Issue 12: empty exclaves of the Liechtenstein Gemeinden were
// grids of 0 households. An island (no shared border) joins the nearest
// grid as a separate part, with the reason stated; an empty piece that
// touches only a grid drawn first (here a block over the maximum) joins it.
func TestPartitionEmptyPiecesAttached(t *testing.T) {
	base := func() Problem { return lattice(41, 4, 3, 100, 90, 150, 0) }
	empty := lattice(42, 2, 1, 100, 0, 0, 0)
	t.Run("island", func(t *testing.T) {
		p := join(base(), empty, nil, 100)
		p.Min, p.Max, p.Seed = 300, 500, 1
		r := solve(t, p)
		if !r.Feasible() {
			t.Fatalf("want every grid in range, got %s %+v", r.Summary(), r.Reasons)
		}
		island := r.Assign[len(p.Atoms)-1]
		if r.Assign[len(p.Atoms)-2] != island || r.Grids[island].Households == 0 {
			t.Fatalf("the island is in grids %d and %d (%d households)", r.Assign[len(p.Atoms)-2], island, r.Grids[island].Households)
		}
		found := false
		for _, rs := range r.Reasons {
			found = found || (rs.Kind == ReasonEmptyIsland && slices.Equal(rs.Grids, []int{island}))
		}
		if !found || !slices.Contains(r.Grids[island].Reasons, ReasonEmptyIsland) {
			t.Fatalf("want reason %s naming grid %d, got %+v", ReasonEmptyIsland, island, r.Reasons)
		}
		// The grid whose Polsby–Popper the island lowers least (issue 12:
		// Planken's empty exclaves rang the nearest grid): of the grids
		// without it, none would lose less by taking it.
		ia, ip := 2*100.0*100, 6*100.0 // two 100 m squares side by side
		chosen := r.Grids[island]
		least := pp(chosen.AreaM2-ia, chosen.PerimeterM-ip) - pp(chosen.AreaM2, chosen.PerimeterM)
		for i, g := range r.Grids {
			if loss := pp(g.AreaM2, g.PerimeterM) - pp(g.AreaM2+ia, g.PerimeterM+ip); i != island && loss < least-1e-12 {
				t.Errorf("island in grid %d (Polsby–Popper loss %.4f), grid %d would lose %.4f", island, least, i, loss)
			}
		}
	})
	t.Run("island joins where it costs least, not the nearest grid", func(t *testing.T) {
		// A strip of four blocks (PP 0.50) far west, a 2×2 square (PP 0.79)
		// and, next to the square, an empty island of two blocks: the
		// square would fall to 0.38 with it, the strip only to 0.29 from 0.50.
		strip := lattice(44, 4, 1, 100, 100, 100, 0)
		square := lattice(45, 2, 2, 100, 100, 100, 0)
		p := join(join(strip, square, nil, 100), empty, nil, 100)
		// join moved the square and the island east: the square at x 5000–5100, the island at 5300–5400.
		for i, a := range square.Atoms {
			p.Atoms[4+i].X = 5000 + a.X
		}
		p.Atoms[8].X, p.Atoms[9].X = 5300, 5400
		p.Min, p.Max, p.Seed = 300, 500, 1
		r := solve(t, p)
		if r.Metrics.Grids != 2 || r.Assign[len(p.Atoms)-1] != r.Assign[0] || r.Assign[len(p.Atoms)-2] != r.Assign[0] {
			t.Fatalf("want the island in the strip's grid %d, got grids %v; %s", r.Assign[0], r.Assign, r.Summary())
		}
	})
	t.Run("exclave next to a block over the maximum", func(t *testing.T) {
		b := base()
		p := join(b, empty, [][2]int{{len(b.Atoms) - 1, 0}}, 100)
		p.Atoms[len(b.Atoms)-1].Households = 700
		// The block over the maximum is the empty piece's only neighbour
		// and the rest's link to it: cut the lattice's edges to it.
		p.Edges = slices.DeleteFunc(p.Edges, func(e Edge) bool {
			return (e.A == len(b.Atoms)-1 || e.B == len(b.Atoms)-1) && e.A < len(b.Atoms) && e.B < len(b.Atoms)
		})
		p.Min, p.Max, p.Seed = 300, 500, 1
		r := solve(t, p)
		over := r.Assign[len(b.Atoms)-1]
		for a := len(b.Atoms); a < len(p.Atoms); a++ {
			if r.Assign[a] != over {
				t.Fatalf("empty atom %d in grid %d, want the grid %d it touches; %s", a, r.Assign[a], over, r.Summary())
			}
		}
		for i, g := range r.Grids {
			if g.Households == 0 {
				t.Errorf("grid %d has no households", i)
			}
		}
	})
}

// TestPartitionReasonCatalogue: every reason kind in ReasonKinds arises from
// a problem built for it, carries the numbers of its message as Params, and
// both web catalogues translate it (admin.partition.reason.KIND) with
// exactly those placeholders.
func TestPartitionReasonCatalogue(t *testing.T) {
	cases := map[string]func() Problem{
		ReasonAtomOverMax: func() Problem {
			p := lattice(51, 3, 3, 100, 90, 150, 0)
			p.Atoms[4].Households = 700
			return p
		},
		ReasonNoK: func() Problem { // 550: one grid is over 500, two are under 300
			p := lattice(52, 2, 1, 100, 275, 275, 0)
			return p
		},
		ReasonIsolated: func() Problem {
			return join(lattice(53, 1, 1, 100, 700, 700, 0), lattice(54, 1, 1, 100, 80, 80, 0), nil, 100)
		},
		ReasonIslandAttached: func() Problem {
			return join(lattice(53, 3, 3, 100, 90, 150, 0), lattice(54, 1, 1, 100, 80, 80, 0), nil, 100)
		},
		ReasonKInfeasible: func() Problem {
			p := lattice(55, 3, 3, 100, 90, 150, 0)
			p.K = 9
			return p
		},
		ReasonNotFound: func() Problem {
			p := lattice(56, 4, 4, 100, 0, 0, 0)
			for i, h := range []int{260, 260, 0, 0, 260, 100} {
				p.Atoms[i].Households = h
			}
			return p
		},
		ReasonNoDivision: func() Problem {
			p := lattice(57, 3, 1, 100, 50, 50, 0)
			for i, h := range []int{260, 260, 100} {
				p.Atoms[i].Households = h
			}
			return p
		},
		ReasonEmptyIsland: func() Problem {
			return join(lattice(58, 3, 3, 100, 90, 150, 0), lattice(59, 1, 1, 100, 0, 0, 0), nil, 100)
		},
	}
	cats := map[string]map[string]string{}
	for _, lang := range []string{"en", "zh-CN"} {
		raw, err := os.ReadFile(filepath.Join("..", "web", "src", "i18n", lang+".json"))
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		cats[lang] = m
	}
	placeholder := regexp.MustCompile(`\{(\w+)\}`)
	for _, kind := range ReasonKinds {
		t.Run(kind, func(t *testing.T) {
			mk, ok := cases[kind]
			if !ok {
				t.Fatalf("no case for reason %s", kind)
			}
			p := mk()
			p.Min, p.Max, p.Seed = 300, 500, 1
			r := solve(t, p)
			got := reasonOf(r, kind)
			if got == nil {
				t.Fatalf("want reason %s, got %+v", kind, r.Reasons)
			}
			for lang, m := range cats {
				text, ok := m["admin.partition.reason."+kind]
				if !ok {
					t.Fatalf("%s.json has no admin.partition.reason.%s", lang, kind)
				}
				for _, ph := range placeholder.FindAllStringSubmatch(text, -1) {
					if _, ok := got.Params[ph[1]]; !ok {
						t.Errorf("%s.json's text for %s uses {%s}, the reason's params are %v", lang, kind, ph[1], got.Params)
					}
				}
			}
		})
	}
}

// TestPartitionCostFollowsSteps: the cost the improvement follows by
// deltas (to keep the best partition without summing every round) equals
// the whole cost summed afresh.
func TestPartitionCostFollowsSteps(t *testing.T) {
	p := lattice(61, 6, 5, 100, 40, 120, 0.2)
	p.Min, p.Max, p.Seed, p.Rounds = 300, 500, 3, 200
	s := newSolver(p)
	all := make([]int, s.n)
	for i := range all {
		all[i] = i
	}
	s.place(all, 5)
	s.cost = s.totalCost()
	for r := range 200 {
		s.temp = 0.5
		s.recom()
		if r%20 == 19 {
			s.localMoves()
		}
		if got, want := s.cost, s.totalCost(); math.Abs(got-want) > 1e-6 {
			t.Fatalf("round %d: followed cost %.9f, summed %.9f", r, got, want)
		}
	}
}

// TestPartitionNoKMessage: a total that admits no number of grids says why
// in plain words: fewer households than one grid's minimum, or one grid
// fewer than the least number within the maximum is over it while that
// number is under the minimum (never "0 grid(s) give …").
func TestPartitionNoKMessage(t *testing.T) {
	for _, c := range []struct {
		households int
		want       string
		avg        int
	}{
		{250, "the area's 250 households are fewer than the minimum of 300 for a single grid", 250},
		{550, "the area's 550 households admit no number of grids of 300–500 households: 1 grid(s) would hold 550 each on average, over the maximum 500; 2 grids hold 275 each, under the minimum 300", 275},
	} {
		p := lattice(52, 2, 1, 100, c.households/2, c.households/2, 0)
		p.Min, p.Max, p.Seed = 300, 500, 1
		r := solve(t, p)
		got := reasonOf(r, ReasonNoK)
		if got == nil {
			t.Fatalf("%d households: want reason %s, got %+v", c.households, ReasonNoK, r.Reasons)
		}
		if got.Message != c.want || got.Params["avg"] != c.avg {
			t.Errorf("%d households: message %q avg %d, want %q avg %d", c.households, got.Message, got.Params["avg"], c.want, c.avg)
		}
	}
}

// reasonOf is r's (last) reason of kind, or nil.
func reasonOf(r *Result, kind string) *Reason {
	var got *Reason
	for i := range r.Reasons {
		if r.Reasons[i].Kind == kind {
			got = &r.Reasons[i]
		}
	}
	return got
}

// TestPartitionNoMoveRaisesCompactness: issue 12 (Schellenberg and
// Triesenberg below the Polsby–Popper mean of k-means + Voronoi cells; the
// search's steps stopped in local optima of its cost, which weighs borders
// and balance too): after the polish, no atom moved to a neighbouring grid
// raises the grids' Polsby–Popper sum while both grids stay in range and
// contiguous, no estate is in more grids, both grids stay at or above the
// search's lowest Polsby–Popper and the border on roads at or above
// max(81%, the search's share − 5 points) (or the search's share, where
// less); and the polish lowered neither the mean nor the minimum nor the
// road share below those floors. The search's partition alone fails the
// first check (footpaths in estates: moves that give up a little road).
func TestPartitionNoMoveRaisesCompactness(t *testing.T) {
	for _, c := range []struct {
		name    string
		seed    uint64
		offRoad float64
	}{{"roads everywhere", 1, 0}, {"roads everywhere", 2, 0}, {"footpaths in estates", 3, 0.15}, {"footpaths in estates", 4, 0.15},
		{"footpaths in estates", 5, 0.15}, {"footpaths in estates", 6, 0.15}} {
		t.Run(fmt.Sprintf("%s %d", c.name, c.seed), func(t *testing.T) {
			p := lattice(c.seed, 10, 8, 100, 20, 120, c.offRoad)
			p.Min, p.Max, p.Seed = 300, 500, c.seed
			if err := p.check(); err != nil {
				t.Fatal(err)
			}
			s := newSolver(p)
			s.draw()
			before := s.result()
			s.polishCompactness()
			r := s.result()
			checkPartition(t, p, r)
			share0 := before.Metrics.RoadShare
			roadFloor := math.Min(math.Max(0.81, share0-0.05), share0)
			if r.Metrics.PPMean < before.Metrics.PPMean-1e-12 || r.Metrics.PPMin < before.Metrics.PPMin-1e-12 || r.Metrics.RoadShare < roadFloor-1e-9 || r.Metrics.InRange != before.Metrics.InRange {
				t.Fatalf("the polish took %s to %s (road floor %.3f)", before.Summary(), r.Summary(), roadFloor)
			}
			if moves := raisingMoves(p, r, before.Metrics.PPMin, roadFloor); len(moves) > 0 {
				t.Errorf("%s: %d moves still raise the Polsby–Popper sum, e.g. %s", r.Summary(), len(moves), moves[0])
			}
		})
	}
}

// raisingMoves lists the moves of one atom to a neighbouring grid that
// raise the grids' Polsby–Popper sum under polishCompactness's rules, with
// the floors given. It computes the moves from the result, as a reader
// would, not with the solver's polish (whose rules it restates).
func raisingMoves(p Problem, r *Result, ppFloor, roadFloor float64) []string {
	adj := make([][]Edge, len(p.Atoms))
	for _, e := range p.Edges {
		adj[e.A] = append(adj[e.A], e)
		adj[e.B] = append(adj[e.B], Edge{A: e.B, B: e.A, LengthM: e.LengthM, RoadM: e.RoadM})
	}
	var border, road float64
	for _, e := range p.Edges {
		if r.Assign[e.A] != r.Assign[e.B] {
			border += e.LengthM
			road += e.RoadM
		}
	}
	graph := newSolver(p) // its adjacency, for the contiguity check
	inRange := func(h int) bool { return h >= p.Min && h <= p.Max }
	estates := func(g int, est string) (n int) {
		for _, a := range r.Grids[g].Atoms {
			if est != "" && p.Atoms[a].Estate == est {
				n++
			}
		}
		return n
	}
	var out []string
	for a, at := range p.Atoms {
		g := r.Assign[a]
		G := r.Grids[g]
		for _, e := range adj[a] {
			h := r.Assign[e.B]
			if h == g {
				continue
			}
			H := r.Grids[h]
			if len(G.Atoms) < 2 || !inRange(G.Households) || !inRange(H.Households) ||
				!inRange(G.Households-at.Households) || !inRange(H.Households+at.Households) {
				continue
			}
			if at.Estate != "" && estates(g, at.Estate) > 1 && estates(h, at.Estate) == 0 {
				continue
			}
			var inG, inH, dBorder, dRoad float64
			for _, x := range adj[a] {
				switch r.Assign[x.B] {
				case g:
					inG += x.LengthM
					dBorder += x.LengthM
					dRoad += x.RoadM
				case h:
					inH += x.LengthM
					dBorder -= x.LengthM
					dRoad -= x.RoadM
				}
			}
			if road+dRoad < roadFloor*(border+dBorder)-1e-9 {
				continue
			}
			ppG := pp(G.AreaM2-at.AreaM2, G.PerimeterM-at.PerimeterM+2*inG)
			ppH := pp(H.AreaM2+at.AreaM2, H.PerimeterM+at.PerimeterM-2*inH)
			if ppG < ppFloor || ppH < ppFloor {
				continue
			}
			if !graph.connected(G.Atoms, a) {
				continue
			}
			if d := ppG + ppH - G.PolsbyPopper - H.PolsbyPopper; d > 1e-9 {
				out = append(out, fmt.Sprintf("atom %d from grid %d to grid %d: +%.4f (%.3f, %.3f → %.3f, %.3f)", a, g, h, d, G.PolsbyPopper, H.PolsbyPopper, ppG, ppH))
			}
		}
	}
	return out
}
