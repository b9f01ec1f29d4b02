package partition

import (
	"math"
	"slices"
)

// The compactness polish (docs/partition.md, "Compactness", fourth round).
const (
	// polishRuns annealing runs start from the search's partition, each
	// trying polishPerAtom moves per atom; the best partition of all is
	// kept. Offline on the Liechtenstein inputs (seeds 1–3), one run of
	// 1,000 left Triesenberg at 0.478 on seed 1, one of 4,000 at 0.479,
	// four of 1,000 at 0.491 (with polishTemp 0.05; 0.02: 0.480).
	polishRuns    = 4
	polishPerAtom = 1000
	// polishTemp is the polish's starting temperature (in Polsby–Popper
	// summed over the grids); it falls geometrically to polishTempEnd.
	polishTemp    = 0.05
	polishTempEnd = 1e-4
	// The polish keeps the share of border on roads at or above
	// max(roadFloor, the share at the start − roadGive), and never asks
	// more than the share at the start. The goal is 80 %; the point more
	// leaves room for the difference between the solver's edges and the
	// benchmark's geometry. roadGive bounds the trade: with roadFloor alone,
	// roads fell from 93.8 to 85.8 % on Triesen (median of 3 seeds) for the
	// same Polsby–Popper as with a give of 5 points (0.604 and 0.601); a
	// give of 3 points left Triesenberg at 0.479 on seed 2 (start 86.2 %).
	roadFloor = 0.81
	roadGive  = 0.05
)

// polish is the state of polishCompactness: the partition's Polsby–Popper
// sum, its border and border on roads (m), and the floors a move must keep.
type polish struct {
	s                  *solver
	sum, border, road  float64
	ppFloor, roadFloor float64
}

// polishCompactness moves single atoms between grids to raise the sum of
// the grids' Polsby–Popper: polishRuns annealing runs from the search's
// partition (a move that lowers the sum by d is taken with probability
// e^(−d/T)), then the best partition any of them saw, then every move that
// still raises the sum, until none does. A move (polishMove)
// must keep
//   - both grids in range (grids out of range, marked or kept are not
//     touched, so the reasons stay true) and the moved atom's grid's piece
//     connected;
//   - no estate in more grids than before the move;
//   - every grid's Polsby–Popper at or above the lowest at the start;
//   - the share of border on roads at or above max(roadFloor, the share at
//     the start − roadGive), or the share at the start where that is less.
//
// The search's cost weighs compactness against border and balance, and its
// steps stop in local optima of that weighting: on Triesenberg it left the
// mean at 0.474–0.484 where moves under these rules reach 0.487–0.491. It
// runs after the empty pieces are attached, so it sees the grids as they
// are proposed. Maintenance mode is left to the search (its cost also
// weighs the households reassigned, which a move changes).
func (s *solver) polishCompactness() {
	if s.p.Mode == Maintain {
		return
	}
	st := &polish{s: s, ppFloor: math.Inf(1)}
	for _, g := range s.live() {
		st.ppFloor = math.Min(st.ppFloor, pp(g.area, g.perim))
		st.sum += pp(g.area, g.perim)
	}
	for a := range s.n {
		for _, e := range s.adj[a] {
			if a < e.to && s.assign[a] != s.assign[e.to] {
				st.border += e.len
				st.road += e.road
			}
		}
	}
	st.roadFloor = roadFloor
	if st.border > 0 {
		share := st.road / st.border
		st.roadFloor = math.Min(math.Max(roadFloor, share-roadGive), share)
	}
	cands := st.borderAtoms(nil)
	if len(cands) == 0 {
		return
	}
	start, startSum, startBorder, startRoad := slices.Clone(s.assign), st.sum, st.border, st.road
	best, bestAssign := st.sum, slices.Clone(s.assign)
	iters := polishPerAtom * s.n
	for run := range polishRuns {
		if run > 0 {
			s.restore(start)
			st.sum, st.border, st.road = startSum, startBorder, startRoad
			cands = st.borderAtoms(cands)
		}
		for it := range iters {
			if it%s.n == s.n-1 { // the borders move: list their atoms again
				cands = st.borderAtoms(cands)
			}
			temp := polishTemp * math.Pow(polishTempEnd/polishTemp, float64(it)/float64(iters))
			a := cands[s.rng.IntN(len(cands))]
			h := s.assign[s.adj[a][s.rng.IntN(len(s.adj[a]))].to]
			d, dBorder, dRoad, ok := st.move(a, h)
			if !ok || (d < 0 && s.rng.Float64() >= math.Exp(d/temp)) || !s.staysConnected(a) {
				continue
			}
			st.apply(a, h, d, dBorder, dRoad)
			if st.sum > best+1e-12 {
				best = st.sum
				copy(bestAssign, s.assign)
			}
		}
	}
	s.restore(bestAssign)
	st.sum = best
	st.border, st.road = 0, 0
	for a := range s.n {
		for _, e := range s.adj[a] {
			if a < e.to && s.assign[a] != s.assign[e.to] {
				st.border += e.len
				st.road += e.road
			}
		}
	}
	// Every move that still raises the sum, in atom order, until none does.
	for moved := true; moved; {
		moved = false
		for _, a := range st.borderAtoms(cands) {
			for _, e := range s.adj[a] {
				h := s.assign[e.to]
				if d, dBorder, dRoad, ok := st.move(a, h); ok && d > 1e-12 && s.staysConnected(a) {
					st.apply(a, h, d, dBorder, dRoad)
					moved = true
					break
				}
			}
		}
	}
}

// movable reports a grid the polish may change: live, in range, not marked
// or kept, with more than one atom.
func (st *polish) movable(g int) bool {
	if g < 0 {
		return false
	}
	gs := st.s.grids[g]
	return gs.from != -2 && !st.s.marked(g) && st.s.inRange(gs.h) && len(gs.atoms) > 1
}

// borderAtoms lists (into buf) the atoms on a border between two grids the
// polish may change.
func (st *polish) borderAtoms(buf []int) []int {
	s := st.s
	buf = buf[:0]
	for a := range s.n {
		if s.fixed[a] || !st.movable(s.assign[a]) {
			continue
		}
		for _, e := range s.adj[a] {
			if h := s.assign[e.to]; h != s.assign[a] && st.movable(h) {
				buf = append(buf, a)
				break
			}
		}
	}
	return buf
}

// move is the change in the Polsby–Popper sum, the border and the border on
// roads of moving atom a to grid h; ok is false when a rule of
// polishCompactness forbids it (connectivity is staysConnected's).
func (st *polish) move(a, h int) (d, dBorder, dRoad float64, ok bool) {
	s := st.s
	g := s.assign[a]
	if h == g || s.fixed[a] || !st.movable(g) || !st.movable(h) {
		return 0, 0, 0, false
	}
	G, H, at := s.grids[g], s.grids[h], &s.p.Atoms[a]
	if !s.inRange(G.h-at.Households) || !s.inRange(H.h+at.Households) {
		return 0, 0, 0, false
	}
	if e := s.est[a]; e >= 0 && G.estates[e] > 1 && H.estates[e] == 0 {
		return 0, 0, 0, false
	}
	var inG, inH float64
	for _, x := range s.adj[a] {
		switch s.assign[x.to] {
		case g:
			inG += x.len
			dBorder += x.len
			dRoad += x.road
		case h:
			inH += x.len
			dBorder -= x.len
			dRoad -= x.road
		}
	}
	if st.road+dRoad < st.roadFloor*(st.border+dBorder)-1e-9 {
		return 0, 0, 0, false
	}
	ppG := pp(G.area-at.AreaM2, G.perim-at.PerimeterM+2*inG)
	ppH := pp(H.area+at.AreaM2, H.perim+at.PerimeterM-2*inH)
	if ppG < st.ppFloor || ppH < st.ppFloor {
		return 0, 0, 0, false
	}
	return ppG + ppH - pp(G.area, G.perim) - pp(H.area, H.perim), dBorder, dRoad, true
}

func (st *polish) apply(a, h int, d, dBorder, dRoad float64) {
	st.s.remove(a)
	st.s.add(h, a)
	st.sum += d
	st.border += dBorder
	st.road += dRoad
}

// staysConnected reports whether taking atom a out of its grid leaves the
// grid's piece that holds a in one piece: whether a's neighbours in the grid
// still reach each other without a (a grid drawn in several parts, with an
// island, keeps its parts).
func (s *solver) staysConnected(a int) bool {
	g := s.assign[a]
	var want []int
	for _, e := range s.adj[a] {
		if s.assign[e.to] == g && !slices.Contains(want, e.to) {
			want = append(want, e.to)
		}
	}
	if len(want) == 0 {
		return len(s.grids[g].atoms) > 1 // a part of one atom: the grid keeps its other parts
	}
	if len(want) == 1 {
		return true
	}
	seen := s.scratch(&s.slot)
	defer func() {
		for x := range s.grids[g].atoms {
			seen[x] = -1
		}
	}()
	seen[a], seen[want[0]] = 1, 1
	found := 1
	q := []int{want[0]}
	for len(q) > 0 && found < len(want) {
		x := q[len(q)-1]
		q = q[:len(q)-1]
		for _, e := range s.adj[x] {
			if s.assign[e.to] == g && seen[e.to] < 0 {
				seen[e.to] = 1
				if slices.Contains(want, e.to) {
					found++
				}
				q = append(q, e.to)
			}
		}
	}
	return found == len(want)
}
