// Package partition divides an area into grids (划网格): atoms (blocks cut by
// roads, split where one alone is over the maximum) are grouped into
// contiguous grids whose households lie in a range, with borders on roads,
// compact shapes, balance and estates kept whole as objectives.
//
// The algorithm (docs/partition.md): every connected piece of the atom
// adjacency graph gets the number of grids its households admit; a first
// partition comes from recursive bisection on random spanning trees (cut one
// tree edge so that both sides admit their share of the grids); then
// ReCom-style steps (merge two neighbouring grids, redraw them by a new
// spanning-tree cut) and local boundary moves (one atom to a neighbouring
// grid) lower the cost while every grid stays contiguous and, where it was,
// in range. Maintenance mode keeps every valid current grid and redraws only
// the failing ones. Everything is deterministic for a seed.
//
// The package is pure (it imports only geo): lengths and areas come in
// metres from the caller.
package partition

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"

	"gridmap/geo"
)

// Modes.
const (
	Fresh    = "fresh"    // draw every grid anew
	Maintain = "maintain" // keep every valid current grid, redraw the others
)

// Atom is an indivisible piece of the area: a block or part of one.
type Atom struct {
	Households int
	Buildings  int
	Estate     string  // estate (小区) key; "" for none
	AreaM2     float64 // area, m²
	PerimeterM float64 // boundary length, m
	X, Y       float64 // a point inside it, any planar unit (ordering only)
	// Current is the current grid (any id ≥ 0) in maintenance mode; -1 none.
	Current int
	// Note names what the atom holds for messages (e.g. its largest building).
	Note string
}

// Edge is a shared border between two atoms.
type Edge struct {
	A, B    int
	LengthM float64 // shared border length, m
	RoadM   float64 // of which along a road, m
}

// Options are the constraints and knobs.
type Options struct {
	Min, Max int    // households per grid, inclusive
	K        int    // number of grids; 0: what the households admit, nearest the middle of the range
	Mode     string // Fresh (default) or Maintain
	Seed     uint64
	// Rounds bounds the improvement (ReCom steps); 0: 40 per grid.
	Rounds int
}

// Problem is the atoms, their adjacency and the options.
type Problem struct {
	Atoms []Atom
	Edges []Edge
	Options
}

// Reason kinds.
const (
	ReasonAtomOverMax = "atom_over_max" // an atom (a building, an estate) alone is over the maximum
	ReasonNoK         = "total_admits_no_k"
	ReasonIsolated    = "isolated_piece" // a piece with no shared border to the rest admits no grid in range
	ReasonKInfeasible = "k_infeasible"   // the requested number of grids cannot all be in range
	// ReasonNotFound: the search found no contiguous division in range
	// within the spanning trees and rounds it tried (Params trees, rounds);
	// that none exists is not proven: the piece has a cycle of atoms and is
	// too large for the exhaustive check (exhaustiveAtoms).
	ReasonNotFound = "no_division_found"
	// ReasonNoDivision: proven: no way of dividing the piece into contiguous
	// grids (any number of them) leaves every grid in range (indivisible:
	// a dynamic programme over the cuts where the atoms form a tree, an
	// exhaustive search over connected subsets where the piece has a cycle
	// and at most exhaustiveAtoms atoms).
	ReasonNoDivision = "no_contiguous_division"
	// ReasonEmptyIsland is not a failure of the range: a piece without
	// households and without a shared border to the rest (an island) is a
	// separate part of the nearest grid, which is then not contiguous.
	ReasonEmptyIsland = "empty_island_attached"
	// ReasonIslandAttached is not a failure of the range either: an island
	// with households that admit no grid of its own is drawn as a separate
	// part of a grid, linked to the nearest atom of the rest (linkIslands).
	ReasonIslandAttached = "island_attached"
)

// ReasonKinds is the catalogue of reason kinds; the editor translates each
// (web/src/i18n: admin.partition.reason.KIND with the reason's Params).
var ReasonKinds = []string{ReasonAtomOverMax, ReasonNoK, ReasonIsolated, ReasonKInfeasible, ReasonNotFound, ReasonNoDivision, ReasonEmptyIsland, ReasonIslandAttached}

// exhaustiveAtoms is the largest piece with a cycle whose indivisibility is
// decided by trying every division (3^n subsets at worst: 4.8 million for 14).
const exhaustiveAtoms = 14

// linkM is the length (m) of the link that joins an island to the rest: it
// is no border (Measure never sees it) and costs nothing.
const linkM = 1e-9

// Reason says exactly why and where the range cannot be met.
type Reason struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Atoms   []int  `json:"atoms,omitempty"`
	Grids   []int  `json:"grids,omitempty"` // indexes into Result.Grids
	// Params are the numbers in Message, for a translated text: households,
	// atoms, grids (k), min, max, lo and hi (the grid counts admitted);
	// total_admits_no_k adds avg, the households per grid of lo grids.
	Params map[string]int `json:"params,omitempty"`
}

// Grid is one proposed grid.
type Grid struct {
	Atoms        []int   `json:"-"`
	Households   int     `json:"households"`
	Buildings    int     `json:"buildings"`
	AreaM2       float64 `json:"area_m2"`
	PerimeterM   float64 `json:"perimeter_m"`
	PolsbyPopper float64 `json:"polsby_popper"`
	InRange      bool    `json:"in_range"`
	// Kept: an unchanged current grid (maintenance mode).
	Kept bool `json:"kept"`
	// From is the current grid whose identity this grid takes (kept grids,
	// and redrawn grids that hold most of one current grid); -1 none.
	From int `json:"from"`
	// Reasons are the kinds of the reasons that mark this grid.
	Reasons []string `json:"reasons,omitempty"`
}

// Metrics summarise a partition; the type lives in geo, where proposals are.
type Metrics = geo.PartitionMetrics

// Result is a partition: every atom's grid, the grids, why any is out of range.
type Result struct {
	Assign  []int    `json:"-"`
	Grids   []Grid   `json:"grids"`
	Reasons []Reason `json:"reasons"`
	Metrics Metrics  `json:"metrics"`
}

// Feasible reports whether every grid is in range.
func (r *Result) Feasible() bool { return r.Metrics.InRange == r.Metrics.Grids }

// Solve partitions p. The error is for bad input only; an infeasible range
// gives the best partition with Reasons.
func Solve(p Problem) (*Result, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	s := newSolver(p)
	s.run()
	return s.result(), nil
}

func (p *Problem) check() error {
	if p.Min < 1 || p.Max < p.Min {
		return fmt.Errorf("households range must be 1 ≤ min ≤ max, got %d-%d", p.Min, p.Max)
	}
	if p.K < 0 {
		return fmt.Errorf("number of grids must be ≥ 0, got %d", p.K)
	}
	if p.Mode == "" {
		p.Mode = Fresh
	}
	if p.Mode != Fresh && p.Mode != Maintain {
		return fmt.Errorf("mode must be fresh or maintain, got %q", p.Mode)
	}
	if len(p.Atoms) == 0 {
		return fmt.Errorf("the area has no atoms")
	}
	for i, e := range p.Edges {
		if e.A < 0 || e.B < 0 || e.A >= len(p.Atoms) || e.B >= len(p.Atoms) || e.A == e.B {
			return fmt.Errorf("edge %d joins atoms %d and %d of %d", i, e.A, e.B, len(p.Atoms))
		}
	}
	for i, a := range p.Atoms {
		if a.Households < 0 {
			return fmt.Errorf("atom %d has %d households", i, a.Households)
		}
	}
	return nil
}

// nb is one adjacency: the other atom and the edge.
type nb struct {
	to   int
	len  float64
	road float64
}

type solver struct {
	p      Problem
	n      int
	adj    [][]nb
	rng    *rand.Rand
	mid    float64
	scale  float64 // characteristic length, m
	assign []int   // atom → grid index
	grids  []*gstate
	fixed  []bool // atom in a kept grid (maintenance): never moves
	reason []Reason
	estate map[string]int // estate key → id
	est    []int          // atom → estate id, -1 none
	// slot and pos are atom-indexed scratch tables of spanningTree and cut
	// (see scratch).
	slot, pos []int
	// islands are the pieces linkIslands joined to the rest.
	islands [][]int
	trees   int     // spanning trees drawn so far
	rounds  int     // improvement rounds run so far
	temp    float64 // annealing temperature of the ReCom acceptance
	cost    float64 // the partition's cost while improving (totalCost plus accepted deltas)
}

// gstate is a grid being built.
type gstate struct {
	atoms   map[int]bool
	h, b    int
	area    float64
	perim   float64
	kept    bool
	from    int
	reasons []string
	estates map[int]int // estate id → atoms of it in this grid
}

func newSolver(p Problem) *solver {
	n := len(p.Atoms)
	s := &solver{p: p, n: n, adj: make([][]nb, n), rng: rand.New(rand.NewPCG(p.Seed, 0x9e3779b97f4a7c15)),
		mid: float64(p.Min+p.Max) / 2, assign: make([]int, n), fixed: make([]bool, n), estate: map[string]int{}, est: make([]int, n)}
	// Merge parallel edges.
	type key struct{ a, b int }
	m := map[key]*nb{}
	var order []key
	for _, e := range p.Edges {
		a, b := min(e.A, e.B), max(e.A, e.B)
		k := key{a, b}
		if x := m[k]; x != nil {
			x.len += e.LengthM
			x.road += e.RoadM
			continue
		}
		m[k] = &nb{to: b, len: e.LengthM, road: math.Min(e.RoadM, e.LengthM)}
		order = append(order, k)
	}
	for _, k := range order {
		e := m[k]
		if e.len <= 0 {
			continue
		}
		e.road = math.Min(e.road, e.len)
		s.adj[k.a] = append(s.adj[k.a], nb{to: k.b, len: e.len, road: e.road})
		s.adj[k.b] = append(s.adj[k.b], nb{to: k.a, len: e.len, road: e.road})
	}
	var area float64
	for i, a := range p.Atoms {
		area += a.AreaM2
		s.assign[i] = -1
		s.est[i] = -1
		if a.Estate != "" {
			id, ok := s.estate[a.Estate]
			if !ok {
				id = len(s.estate)
				s.estate[a.Estate] = id
			}
			s.est[i] = id
		}
	}
	s.scale = math.Max(math.Sqrt(area), 1)
	return s
}

// run draws the partition, polishes its compactness and states the islands.
func (s *solver) run() {
	s.draw()
	s.polishCompactness()
	s.islandReasons()
}

// draw: fixed grids (maintenance), atoms over the maximum, then every
// connected piece of what is left, then improvement, then the empty pieces.
func (s *solver) draw() {
	s.linkIslands()
	free := make([]bool, s.n)
	for i := range free {
		free[i] = true
	}
	if s.p.Mode == Maintain {
		s.keepValid(free)
	}
	for i, a := range s.p.Atoms {
		if free[i] && a.Households > s.p.Max {
			g := s.newGrid([]int{i})
			s.grids[g].reasons = append(s.grids[g].reasons, ReasonAtomOverMax)
			what := a.Note
			if what == "" {
				what = fmt.Sprintf("atom %d", i)
			}
			s.reason = append(s.reason, Reason{Kind: ReasonAtomOverMax, Atoms: []int{i}, Grids: []int{g}, Params: map[string]int{"households": a.Households, "max": s.p.Max},
				Message: fmt.Sprintf("%s alone holds %d households, more than the maximum %d: it is a grid of its own", what, a.Households, s.p.Max)})
			free[i] = false
		}
	}
	var empty [][]int
	for {
		grids, reasons := len(s.grids), len(s.reason)
		comps, e := s.splitEmpty(s.components(free))
		empty = e
		ks := s.gridsPerPiece(comps)
		for ci, c := range comps {
			s.place(c, ks[ci])
		}
		s.improve()
		s.pruneResolved()
		if s.p.Mode != Maintain {
			break
		}
		// A redrawn piece that cannot be in range takes in its smallest
		// kept neighbour, and every piece is drawn again.
		g := s.keptNeighbourOfFailure(s.reason[reasons:])
		if g < 0 {
			break
		}
		for _, gs := range s.grids[grids:] {
			for a := range gs.atoms {
				s.assign[a] = -1
			}
		}
		s.grids, s.reason = s.grids[:grids], s.reason[:reasons]
		s.release(g, free)
	}
	for _, c := range empty {
		s.attachEmpty(c)
	}
}

// linkIslands joins every island (a piece of the atom graph with no shared
// border with the rest) whose households admit no number of grids of its
// own to the nearest atom outside it that is not over the maximum (by the
// atoms' points), by a link of length linkM: the search then draws the
// island as a separate part of a grid and balances that grid with it,
// instead of leaving a grid out of range (docs/partition.md, "Islands").
// The nearest atom of a piece that admits grids is taken first, so that
// two small islands are not linked to each other; islands without
// households are attachEmpty's; an island with no atom to link to stays
// isolated_piece.
func (s *solver) linkIslands() {
	all := make([]bool, s.n)
	for i := range all {
		all[i] = true
	}
	for {
		comps := s.components(all)
		if len(comps) < 2 {
			return
		}
		comp := make([]int, s.n)
		admits := make([]bool, len(comps))
		for ci, c := range comps {
			t := s.households(c)
			lo, hi := s.kRange(t)
			admits[ci] = t > 0 && lo <= hi
			for _, a := range c {
				comp[a] = ci
			}
		}
		linked := false
		for ci, c := range comps {
			if admits[ci] || s.households(c) == 0 {
				continue
			}
			ba, bb := -1, -1
			for _, want := range []bool{true, false} {
				bd := math.Inf(1)
				for _, a := range c {
					pa := s.p.Atoms[a]
					for b, pb := range s.p.Atoms {
						if comp[b] == ci || pb.Households > s.p.Max || admits[comp[b]] != want {
							continue
						}
						if d := math.Hypot(pa.X-pb.X, pa.Y-pb.Y); d < bd {
							ba, bb, bd = a, b, d
						}
					}
				}
				if ba >= 0 {
					break
				}
			}
			if ba < 0 {
				continue
			}
			s.adj[ba] = append(s.adj[ba], nb{to: bb, len: linkM, road: linkM})
			s.adj[bb] = append(s.adj[bb], nb{to: ba, len: linkM, road: linkM})
			// An island linked to another island is one island now: it is
			// recorded once, with the atoms of both.
			s.islands = slices.DeleteFunc(s.islands, func(d []int) bool {
				return comp[d[0]] == ci || (!admits[comp[bb]] && comp[d[0]] == comp[bb])
			})
			if !admits[comp[bb]] {
				c = append(slices.Clone(c), comps[comp[bb]]...)
				slices.Sort(c)
			}
			s.islands = append(s.islands, c)
			linked = true
			break
		}
		if !linked {
			return
		}
	}
}

// islandReasons states, for every island linkIslands joined, which grid it
// became a part of.
func (s *solver) islandReasons() {
	for _, c := range s.islands {
		var gs []int
		for _, a := range c {
			if g := s.assign[a]; g >= 0 && !slices.Contains(gs, g) {
				gs = append(gs, g)
			}
		}
		slices.Sort(gs)
		t := s.households(c)
		for _, g := range gs {
			if !slices.Contains(s.grids[g].reasons, ReasonIslandAttached) {
				s.grids[g].reasons = append(s.grids[g].reasons, ReasonIslandAttached)
			}
		}
		s.reason = append(s.reason, Reason{Kind: ReasonIslandAttached, Atoms: c, Grids: gs,
			Params:  map[string]int{"atoms": len(c), "households": t, "min": s.p.Min, "max": s.p.Max},
			Message: fmt.Sprintf("a piece of %d atoms with %d households shares no border with the rest of the area and admits no grid of %d–%d of its own: it is a separate part of the grid of the nearest block", len(c), t, s.p.Min, s.p.Max)})
	}
}

// splitEmpty sets apart the pieces without households: none becomes a grid
// of its own (attachEmpty gives each to a grid once the others are drawn),
// unless nothing else is left to draw.
func (s *solver) splitEmpty(comps [][]int) (full, empty [][]int) {
	for _, c := range comps {
		if s.households(c) == 0 {
			empty = append(empty, c)
		} else {
			full = append(full, c)
		}
	}
	if len(full) == 0 && len(s.live()) == 0 {
		return comps, nil
	}
	return full, empty
}

// attachEmpty adds a piece without households to a grid that may change:
// among those it shares a border with or, when it shares none (an island,
// or a piece among kept grids), among all of them, to the one whose
// Polsby–Popper it lowers least (attachLoss): an empty exclave that joined
// the nearest grid could ring the grid with a long outline where another
// grid took it at less cost (Planken, docs/partition.md "Compactness").
// An island is a separate part of that grid (a reason says so). Kept grids
// are never changed; with no grid to take it, the piece is a grid of its own.
func (s *solver) attachEmpty(c []int) {
	in := make(map[int]bool, len(c))
	for _, a := range c {
		in[a] = true
	}
	var area, perim float64
	shared := map[int]float64{}
	for _, a := range c {
		area += s.p.Atoms[a].AreaM2
		perim += s.p.Atoms[a].PerimeterM
		for _, e := range s.adj[a] {
			if in[e.to] {
				perim -= e.len // each inner border is seen from both sides
			} else if g := s.assign[e.to]; g >= 0 && !s.grids[g].kept {
				shared[g] += e.len
			}
		}
	}
	best := -1
	for _, island := range []bool{false, true} {
		bl := math.Inf(1)
		for g, gs := range s.grids {
			if gs.kept || gs.from == -2 || len(gs.atoms) == 0 || (!island && shared[g] == 0) {
				continue
			}
			if l := attachLoss(gs, area, perim, shared[g]); l < bl-1e-12 {
				best, bl = g, l
			}
		}
		if best >= 0 {
			break
		}
	}
	if best >= 0 && shared[best] > 0 {
		for _, a := range c {
			s.add(best, a)
		}
		return
	}
	r := Reason{Kind: ReasonEmptyIsland, Atoms: c, Params: map[string]int{"atoms": len(c)}}
	if best < 0 {
		best = s.newGrid(nil)
		r.Message = fmt.Sprintf("a piece of %d atoms without households shares no border with the rest of the area and no grid can take it: it is a grid of its own", len(c))
	} else {
		r.Message = fmt.Sprintf("a piece of %d atoms without households shares no border with the rest of the area: it is a separate part of the grid whose compactness it lowers least", len(c))
	}
	for _, a := range c {
		s.add(best, a)
	}
	r.Grids = []int{best}
	s.grids[best].reasons = append(s.grids[best].reasons, ReasonEmptyIsland)
	s.reason = append(s.reason, r)
}

// attachLoss is how much grid g's Polsby–Popper falls when it takes a piece
// of the given area and perimeter sharing shared metres of border with it.
func attachLoss(g *gstate, area, perim, shared float64) float64 {
	return pp(g.area, g.perim) - pp(g.area+area, g.perim+perim-2*shared)
}

// pruneResolved narrows each no-balanced-cut reason to the grids still out
// of range and drops it when the improvement brought them all into range.
func (s *solver) pruneResolved() {
	out := s.reason[:0]
	for _, r := range s.reason {
		if r.Kind == ReasonNotFound || r.Kind == ReasonNoDivision {
			// The reason marks the piece's grids still out of range, not
			// those the improvement brought into it, and their atoms (where);
			// none left: dropped (never for a proven one).
			var bad, atoms []int
			for _, g := range r.Grids {
				if s.inRange(s.grids[g].h) {
					s.grids[g].reasons = slices.DeleteFunc(s.grids[g].reasons, func(k string) bool { return k == r.Kind })
				} else {
					bad = append(bad, g)
					atoms = append(atoms, s.grids[g].sortedAtoms()...)
				}
			}
			if bad == nil {
				continue
			}
			slices.Sort(atoms)
			r.Grids, r.Atoms = bad, atoms
			if r.Kind == ReasonNotFound {
				r.Params["rounds"] = s.rounds
				r.Message = notFoundMessage(r.Params)
			}
		}
		out = append(out, r)
	}
	s.reason = out
}

// keptNeighbourOfFailure is the kept grid with the fewest households next to
// the atoms of the first reason that can be helped by more room; -1 none.
func (s *solver) keptNeighbourOfFailure(rs []Reason) int {
	for _, r := range rs {
		if r.Kind != ReasonNotFound && r.Kind != ReasonNoDivision && r.Kind != ReasonNoK {
			continue
		}
		best, bh := -1, 0
		for _, a := range r.Atoms {
			for _, e := range s.adj[a] {
				if g := s.assign[e.to]; g >= 0 && s.grids[g].kept && (best < 0 || s.grids[g].h < bh || (s.grids[g].h == bh && g < best)) {
					best, bh = g, s.grids[g].h
				}
			}
		}
		if best >= 0 {
			return best
		}
	}
	return -1
}

// keepValid marks the current grids that are contiguous and in range as
// kept; their atoms are not free. A piece of free atoms whose households
// admit no grid count takes in its smallest kept neighbour, again and again.
func (s *solver) keepValid(free []bool) {
	cur := map[int][]int{}
	var ids []int
	for i, a := range s.p.Atoms {
		if a.Current < 0 {
			continue
		}
		if _, ok := cur[a.Current]; !ok {
			ids = append(ids, a.Current)
		}
		cur[a.Current] = append(cur[a.Current], i)
	}
	slices.Sort(ids)
	keptOf := map[int]int{} // current id → grid index
	for _, id := range ids {
		atoms := cur[id]
		h := 0
		for _, a := range atoms {
			h += s.p.Atoms[a].Households
		}
		if h < s.p.Min || h > s.p.Max || !s.connected(atoms, -1) {
			continue
		}
		g := s.newGrid(atoms)
		s.grids[g].kept, s.grids[g].from = true, id
		keptOf[id] = g
		for _, a := range atoms {
			free[a], s.fixed[a] = false, true
		}
	}
	for {
		changed := false
		for _, c := range s.components(free) {
			t := s.households(c)
			if lo, hi := s.kRange(t); lo <= hi || t > s.p.Max {
				continue
			}
			// The kept neighbour with the fewest households joins the piece.
			best := s.keptNeighbourOfFailure([]Reason{{Kind: ReasonNoK, Atoms: c}})
			if best < 0 {
				continue
			}
			s.release(best, free)
			changed = true
			break
		}
		if !changed {
			return
		}
	}
}

// release un-keeps grid g: its atoms become free.
func (s *solver) release(g int, free []bool) {
	gs := s.grids[g]
	for a := range gs.atoms {
		free[a], s.fixed[a] = true, false
		s.assign[a] = -1
	}
	gs.atoms, gs.h, gs.b, gs.area, gs.perim, gs.estates = map[int]bool{}, 0, 0, 0, 0, map[int]int{}
	gs.kept = false
	gs.from = -2 // dropped
}

func (s *solver) households(atoms []int) int {
	t := 0
	for _, a := range atoms {
		t += s.p.Atoms[a].Households
	}
	return t
}

// kRange is the numbers of grids t households admit: [ceil(t/max), floor(t/min)].
func (s *solver) kRange(t int) (int, int) {
	return max(1, (t+s.p.Max-1)/s.p.Max), t / s.p.Min
}

// components returns the connected pieces of the atoms marked in in, each
// sorted, in order of their first atom.
func (s *solver) components(in []bool) [][]int {
	seen := make([]bool, s.n)
	var out [][]int
	for i := range s.n {
		if !in[i] || seen[i] {
			continue
		}
		c := []int{i}
		seen[i] = true
		for q := 0; q < len(c); q++ {
			for _, e := range s.adj[c[q]] {
				if in[e.to] && !seen[e.to] {
					seen[e.to] = true
					c = append(c, e.to)
				}
			}
		}
		slices.Sort(c)
		out = append(out, c)
	}
	return out
}

// gridsPerPiece chooses each piece's number of grids: with K given, K shared
// out by households (largest remainder, at least one each), else the
// admitted count nearest the middle of the range.
func (s *solver) gridsPerPiece(comps [][]int) []int {
	ks := make([]int, len(comps))
	tot := make([]int, len(comps))
	sum := 0
	for i, c := range comps {
		tot[i] = s.households(c)
		sum += tot[i]
	}
	if s.p.K > 0 {
		left := s.p.K
		for _, g := range s.grids {
			if g.from != -2 {
				left--
			}
		}
		left = max(left, len(comps))
		type rem struct {
			i int
			r float64
		}
		var rs []rem
		used := 0
		for i := range comps {
			share := float64(left) * float64(tot[i]) / math.Max(float64(sum), 1)
			ks[i] = max(1, int(share))
			used += ks[i]
			rs = append(rs, rem{i, share - math.Floor(share)})
		}
		slices.SortStableFunc(rs, func(a, b rem) int { return cmp.Compare(b.r, a.r) })
		for j := 0; used < left && len(rs) > 0; j = (j + 1) % len(rs) {
			ks[rs[j].i]++
			used++
		}
		return ks
	}
	for i := range comps {
		lo, hi := s.kRange(tot[i])
		k := int(math.Round(float64(tot[i]) / s.mid))
		ks[i] = max(1, min(max(k, lo), max(hi, 1)))
	}
	return ks
}

// place partitions one connected piece into k grids and records why it
// cannot be in range when it cannot.
func (s *solver) place(c []int, k int) {
	t := s.households(c)
	in := map[int]bool{}
	for _, a := range c {
		in[a] = true
	}
	isolated := false
	if len(c) < s.n {
		isolated = true
		for _, a := range c {
			for _, e := range s.adj[a] {
				if !in[e.to] {
					isolated = false
				}
			}
		}
	}
	lo, hi := s.kRange(t)
	var why *Reason
	params := map[string]int{"households": t, "atoms": len(c), "grids": k, "min": s.p.Min, "max": s.p.Max, "lo": lo, "hi": hi}
	switch {
	case s.p.K > 0 && (k < lo || k > hi):
		why = &Reason{Kind: ReasonKInfeasible, Message: fmt.Sprintf("%d households cannot make %d grids of %d–%d households (%d–%d grids can)", t, k, s.p.Min, s.p.Max, lo, hi)}
	case lo > hi && isolated:
		why = &Reason{Kind: ReasonIsolated, Message: fmt.Sprintf("a piece of %d atoms with %d households has no shared border with the rest of the area, %d households admit no grid of %d–%d and no grid can take it", len(c), t, t, s.p.Min, s.p.Max)}
	case lo > hi:
		what := "the area's"
		if len(c) < s.n {
			what = "a piece's (between grids that stay or atoms over the maximum)"
		}
		params["avg"] = t / lo
		why = &Reason{Kind: ReasonNoK, Message: what + " " + noKMessage(t, lo, s.p.Min, s.p.Max)}
	}
	trees := s.trees
	groups, ok := s.bisect(c, k)
	params["trees"] = s.trees - trees
	first := len(s.grids)
	for _, g := range groups {
		s.newGrid(g)
	}
	if why == nil && !ok {
		if s.indivisible(c) {
			why = &Reason{Kind: ReasonNoDivision, Message: fmt.Sprintf("a piece of %d atoms with %d households admits no division into contiguous grids of %d–%d: every way of dividing it (all checked) leaves a grid out of range", len(c), t, s.p.Min, s.p.Max)}
		} else {
			params["rounds"] = s.rounds
			why = &Reason{Kind: ReasonNotFound, Message: notFoundMessage(params)}
		}
	}
	if why != nil {
		why.Atoms, why.Params = c, params
		for g := first; g < len(s.grids); g++ {
			why.Grids = append(why.Grids, g)
			s.grids[g].reasons = append(s.grids[g].reasons, why.Kind)
		}
		s.reason = append(s.reason, *why)
	}
}

// noKMessage says why t households admit no number of grids of lowest–highest
// (lo = hi+1, kRange): fewer than one grid's minimum, or one grid fewer
// than lo is over the maximum while lo grids are under the minimum.
func noKMessage(t, lo, lowest, highest int) string {
	if t < lowest {
		return fmt.Sprintf("%d households are fewer than the minimum of %d for a single grid", t, lowest)
	}
	return fmt.Sprintf("%d households admit no number of grids of %d–%d households: %d grid(s) would hold %.0f each on average, over the maximum %d; %d grids hold %.0f each, under the minimum %d",
		t, lowest, highest, lo-1, float64(t)/float64(lo-1), highest, lo, float64(t)/float64(lo), lowest)
}

// notFoundMessage is the message of a no_division_found reason.
func notFoundMessage(p map[string]int) string {
	return fmt.Sprintf("no contiguous division of %d households (%d atoms) into %d grids of %d–%d was found within %d spanning trees and %d improvement rounds; that none exists is not proven",
		p["households"], p["atoms"], p["grids"], p["min"], p["max"], p["trees"], p["rounds"])
}

// indivisible reports whether the connected piece c provably admits no
// division into contiguous grids that are all in range (any number of
// them). It decides pieces whose atoms form a tree, where a division is a
// set of tree edges cut: open[v][h] says the subtree of v can be divided so
// that every grid without v is in range and v's grid holds h of its
// households (h ≤ max); and pieces with a cycle of at most exhaustiveAtoms
// atoms (exhaustivelyIndivisible). A larger piece with a cycle is not
// decided (false).
func (s *solver) indivisible(c []int) bool {
	idx := make(map[int]int, len(c))
	for i, a := range c {
		idx[a] = i
	}
	edges := 0
	for _, a := range c {
		for _, e := range s.adj[a] {
			if _, ok := idx[e.to]; ok && a < e.to {
				edges++
			}
		}
	}
	if edges != len(c)-1 {
		return len(c) <= exhaustiveAtoms && s.exhaustivelyIndivisible(c)
	}
	mx := s.p.Max
	closable := func(set []bool) bool {
		for h := s.p.Min; h <= mx; h++ {
			if set[h] {
				return true
			}
		}
		return false
	}
	// Breadth-first order from c[0]; children are done before parents in reverse.
	parent := make([]int, len(c))
	order := []int{0}
	parent[0] = -1
	seen := make([]bool, len(c))
	seen[0] = true
	for q := 0; q < len(order); q++ {
		for _, e := range s.adj[c[order[q]]] {
			if j, ok := idx[e.to]; ok && !seen[j] {
				seen[j], parent[j] = true, order[q]
				order = append(order, j)
			}
		}
	}
	open := make([][]bool, len(c))
	for _, v := range order {
		open[v] = make([]bool, mx+1)
		if h := s.p.Atoms[c[v]].Households; h <= mx {
			open[v][h] = true
		}
	}
	for i := len(order) - 1; i > 0; i-- {
		v := order[i]
		p := parent[v]
		next := make([]bool, mx+1)
		if closable(open[v]) {
			copy(next, open[p]) // cut the edge: v's grid closes in range
		}
		for h1, ok1 := range open[p] {
			if !ok1 {
				continue
			}
			for h2 := 0; h1+h2 <= mx; h2++ {
				if open[v][h2] {
					next[h1+h2] = true
				}
			}
		}
		open[p], open[v] = next, nil
	}
	return !closable(open[0])
}

// exhaustivelyIndivisible decides a piece of at most exhaustiveAtoms atoms
// by trying every division: a set of atoms (a bit mask) can be divided when
// it is empty or when some connected subset holding its lowest atom has
// households in range and the rest can be divided (memoised per mask).
func (s *solver) exhaustivelyIndivisible(c []int) bool {
	n := len(c)
	idx := make(map[int]int, n)
	for i, a := range c {
		idx[a] = i
	}
	nbr := make([]uint32, n)
	for i, a := range c {
		for _, e := range s.adj[a] {
			if j, ok := idx[e.to]; ok {
				nbr[i] |= 1 << j
			}
		}
	}
	full := uint32(1)<<n - 1
	hh := make([]int, full+1)
	for m := uint32(1); m <= full; m++ {
		low := bits.TrailingZeros32(m)
		hh[m] = hh[m&(m-1)] + s.p.Atoms[c[low]].Households
	}
	connected := func(m uint32) bool {
		seen := m & -m
		for {
			next := seen
			for r := seen; r != 0; r &= r - 1 {
				next |= nbr[bits.TrailingZeros32(r)] & m
			}
			if next == seen {
				return seen == m
			}
			seen = next
		}
	}
	memo := make([]int8, full+1) // 0 unknown, 1 divisible, -1 not
	var divisible func(m uint32) bool
	divisible = func(m uint32) bool {
		if m == 0 {
			return true
		}
		if memo[m] != 0 {
			return memo[m] > 0
		}
		low := m & -m
		rest := m ^ low
		ok := false
		// Every subset of m that holds its lowest atom: low | a subset of rest.
		for sub := rest; ; sub = (sub - 1) & rest {
			g := sub | low
			if h := hh[g]; h >= s.p.Min && h <= s.p.Max && connected(g) && divisible(m^g) {
				ok = true
				break
			}
			if sub == 0 {
				break
			}
		}
		memo[m] = -1
		if ok {
			memo[m] = 1
		}
		return ok
	}
	return !divisible(full)
}

func (s *solver) newGrid(atoms []int) int {
	g := len(s.grids)
	gs := &gstate{atoms: map[int]bool{}, from: -1, estates: map[int]int{}}
	s.grids = append(s.grids, gs)
	for _, a := range atoms {
		s.add(g, a)
	}
	return g
}

// add puts atom a into grid g (a is in no grid).
func (s *solver) add(g, a int) {
	gs, at := s.grids[g], s.p.Atoms[a]
	shared := 0.0
	for _, e := range s.adj[a] {
		if gs.atoms[e.to] {
			shared += e.len
		}
	}
	gs.atoms[a] = true
	gs.h += at.Households
	gs.b += at.Buildings
	gs.area += at.AreaM2
	gs.perim += at.PerimeterM - 2*shared
	if s.est[a] >= 0 {
		gs.estates[s.est[a]]++
	}
	s.assign[a] = g
}

// remove takes atom a out of its grid.
func (s *solver) remove(a int) {
	g := s.assign[a]
	gs, at := s.grids[g], s.p.Atoms[a]
	delete(gs.atoms, a)
	shared := 0.0
	for _, e := range s.adj[a] {
		if gs.atoms[e.to] {
			shared += e.len
		}
	}
	gs.h -= at.Households
	gs.b -= at.Buildings
	gs.area -= at.AreaM2
	gs.perim -= at.PerimeterM - 2*shared
	if e := s.est[a]; e >= 0 {
		if gs.estates[e]--; gs.estates[e] == 0 {
			delete(gs.estates, e)
		}
	}
	s.assign[a] = -1
}

// connected reports whether atoms (without skip) form one piece.
func (s *solver) connected(atoms []int, skip int) bool {
	in := make(map[int]bool, len(atoms))
	start := -1
	for _, a := range atoms {
		if a != skip {
			in[a] = true
			if start < 0 {
				start = a
			}
		}
	}
	if start < 0 {
		return true
	}
	seen := map[int]bool{start: true}
	q := []int{start}
	for len(q) > 0 {
		x := q[len(q)-1]
		q = q[:len(q)-1]
		for _, e := range s.adj[x] {
			if in[e.to] && !seen[e.to] {
				seen[e.to] = true
				q = append(q, e.to)
			}
		}
	}
	return len(seen) == len(in)
}

// sortedAtoms lists a grid's atoms in order (maps are never iterated for results).
func (g *gstate) sortedAtoms() []int {
	out := make([]int, 0, len(g.atoms))
	for a := range g.atoms {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

func pp(area, perim float64) float64 {
	if perim <= 0 {
		return 0
	}
	return math.Min(1, 4*math.Pi*area/(perim*perim))
}

func (s *solver) inRange(h int) bool { return h >= s.p.Min && h <= s.p.Max }

// deviation is how far h lies outside the range, in households.
func (s *solver) deviation(h int) int {
	if h < s.p.Min {
		return s.p.Min - h
	}
	if h > s.p.Max {
		return h - s.p.Max
	}
	return 0
}

func (s *solver) result() *Result {
	r := &Result{Assign: slices.Clone(s.assign), Reasons: s.reason}
	if r.Reasons == nil {
		r.Reasons = []Reason{}
	}
	// Drop released grids, renumbering.
	idx := make([]int, len(s.grids))
	var live []*gstate
	for i, g := range s.grids {
		idx[i] = -1
		if g.from != -2 {
			idx[i] = len(live)
			live = append(live, g)
		}
	}
	for i := range r.Assign {
		r.Assign[i] = idx[r.Assign[i]]
	}
	for ri := range r.Reasons {
		var gs []int
		for _, g := range r.Reasons[ri].Grids {
			if idx[g] >= 0 {
				gs = append(gs, idx[g])
			}
		}
		r.Reasons[ri].Grids = gs
	}
	s.matchIdentity(live)
	for _, g := range live {
		r.Grids = append(r.Grids, Grid{Atoms: g.sortedAtoms(), Households: g.h, Buildings: g.b, AreaM2: g.area, PerimeterM: g.perim,
			PolsbyPopper: pp(g.area, g.perim), InRange: s.inRange(g.h), Kept: g.kept, From: g.from, Reasons: g.reasons})
	}
	s.p.Measure(r)
	r.Metrics.EstatesSplit = s.estatesSplit()
	return r
}

func (s *solver) estatesSplit() int {
	grids := map[int]map[int]bool{}
	for a, e := range s.est {
		if e < 0 {
			continue
		}
		if grids[e] == nil {
			grids[e] = map[int]bool{}
		}
		grids[e][s.assign[a]] = true
	}
	n := 0
	for _, g := range grids {
		if len(g) > 1 {
			n++
		}
	}
	return n
}

// matchIdentity gives a redrawn grid the identity of the current grid it
// holds most households of, when that grid's largest share is this one
// (maintenance mode only; fresh mode draws every grid anew).
func (s *solver) matchIdentity(live []*gstate) {
	if s.p.Mode != Maintain {
		return
	}
	taken := map[int]bool{}
	for _, g := range live {
		if g.kept {
			taken[g.from] = true
		}
	}
	// share[cur][grid] households.
	share := map[int]map[*gstate]int{}
	for a, at := range s.p.Atoms {
		g := s.assign[a]
		if at.Current < 0 || g < 0 || s.grids[g].kept || taken[at.Current] {
			continue
		}
		if share[at.Current] == nil {
			share[at.Current] = map[*gstate]int{}
		}
		share[at.Current][s.grids[g]] += max(at.Households, 1)
	}
	var curs []int
	for c := range share {
		curs = append(curs, c)
	}
	slices.Sort(curs)
	for _, c := range curs {
		var best *gstate
		bh := 0
		for _, g := range live {
			if h := share[c][g]; h > bh {
				best, bh = g, h
			}
		}
		if best == nil || best.from >= 0 {
			continue
		}
		// This grid's largest contributor must be c.
		top, th := -1, 0
		for _, c2 := range curs {
			if h := share[c2][best]; h > th {
				top, th = c2, h
			}
		}
		if top == c {
			best.from = c
		}
	}
}

// Summary is a one-line description of the result, for logs and the CLI.
func (r *Result) Summary() string {
	m := r.Metrics
	var b strings.Builder
	fmt.Fprintf(&b, "%d grids, %d in range, max deviation %d, Polsby–Popper min %.2f mean %.2f, border on roads %.0f%%, estates split %d",
		m.Grids, m.InRange, m.MaxDeviation, m.PPMin, m.PPMean, 100*m.RoadShare, m.EstatesSplit)
	if m.Reassigned > 0 {
		fmt.Fprintf(&b, ", households reassigned %d", m.Reassigned)
	}
	return b.String()
}

// Measure sets r.Metrics from r.Grids and r.Assign: the one place the
// proposal's metrics are computed, for the solver's result and for a
// proposal adjusted by hand (data.adjustProposal).
func (p *Problem) Measure(r *Result) {
	m := &r.Metrics
	*m = Metrics{PPMin: 1, RoadShare: 1}
	for _, gr := range r.Grids {
		m.Grids++
		if gr.InRange {
			m.InRange++
		}
		m.MaxDeviation = max(m.MaxDeviation, p.Min-gr.Households, gr.Households-p.Max)
		m.PPMin = math.Min(m.PPMin, gr.PolsbyPopper)
		m.PPMean += gr.PolsbyPopper
	}
	if m.Grids > 0 {
		m.PPMean /= float64(m.Grids)
	} else {
		m.PPMin = 0
	}
	var road float64
	for _, e := range p.Edges {
		if e.A != e.B && r.Assign[e.A] != r.Assign[e.B] {
			m.BorderM += e.LengthM
			road += math.Min(e.RoadM, e.LengthM) // a road along an edge counts at most the edge
		}
	}
	if m.BorderM > 0 {
		m.RoadShare = road / m.BorderM
	}
	for a, at := range p.Atoms {
		if p.Mode == Maintain && at.Current >= 0 && (r.Assign[a] < 0 || r.Grids[r.Assign[a]].From != at.Current) {
			m.Reassigned += at.Households
		}
	}
}
