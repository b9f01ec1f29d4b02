package partition

import (
	"math"
	"slices"
)

// Weights of the cost the improvement lowers (docs/partition.md).
const (
	wRoad     = 2.0   // per grid-side length of border not on a road
	wCut      = 0.2   // per grid-side length of border at all
	wPP       = 8.0   // per grid, 1 − Polsby–Popper
	wBalance  = 0.5   // per grid, squared distance from the middle in half-ranges
	wRange    = 100.0 // per grid, households outside the range / middle
	wOut      = 10.0  // per grid out of range: the range is a hard constraint
	wEstate   = 1.5   // per extra grid an estate is split into
	wReassign = 1.0   // per middle-of-range households reassigned (maintenance)
	trees     = 24    // spanning trees tried per bisection
	wAnneal   = 1.0   // annealing temperature at the start of the improvement
	cutCands  = 16    // most balanced feasible cuts of a tree whose cost is computed
	// maxRounds caps the improvement's rounds (40 per grid): 3,000 left the
	// 157 grids of the 62,887-household demo area at 19 rounds per grid and
	// a mean Polsby–Popper of 0.640; 6,280 (40 per grid) gave 0.652 and
	// 12,000 0.663 on the same atoms, at about 1.3 and 2.6 times the search time.
	maxRounds = 8000
)

// spanningTree returns a random spanning tree of the atoms in set (Kruskal
// on random weights, road edges dearer so blocks across a path hang together
// first): parent of each atom (-1 for the root) and the atoms in DFS preorder.
func (s *solver) spanningTree(set []int) (parent []int, order []int, ok bool) {
	type we struct {
		a, b int // indexes into set
		w    float64
	}
	slot := s.scratch(&s.slot)
	for i, a := range set {
		slot[a] = i
	}
	defer func() {
		for _, a := range set {
			slot[a] = -1
		}
	}()
	var es []we
	for i, a := range set {
		for _, e := range s.adj[a] {
			if a < e.to && slot[e.to] >= 0 {
				es = append(es, we{i, slot[e.to], s.rng.Float64() + e.road/e.len})
			}
		}
	}
	slices.SortFunc(es, func(x, y we) int {
		if x.w != y.w {
			if x.w < y.w {
				return -1
			}
			return 1
		}
		return 0
	})
	uf := make([]int, len(set))
	for i := range uf {
		uf[i] = i
	}
	var find func(int) int
	find = func(x int) int {
		if uf[x] == x {
			return x
		}
		r := find(uf[x])
		uf[x] = r
		return r
	}
	tadj := make([][]int, len(set))
	joined := 0
	for _, e := range es {
		ra, rb := find(e.a), find(e.b)
		if ra == rb {
			continue
		}
		uf[ra] = rb
		tadj[e.a] = append(tadj[e.a], e.b)
		tadj[e.b] = append(tadj[e.b], e.a)
		joined++
	}
	if joined != len(set)-1 {
		return nil, nil, false
	}
	s.trees++
	root := s.rng.IntN(len(set))
	par := make([]int, len(set)) // index into set of the parent; -1 root, -2 not reached yet
	for i := range par {
		par[i] = -2
	}
	par[root] = -1
	stack := []int{root}
	parent = make([]int, 0, len(set))
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		order = append(order, set[x])
		if par[x] >= 0 {
			parent = append(parent, set[par[x]])
		} else {
			parent = append(parent, -1)
		}
		for _, y := range tadj[x] {
			if par[y] == -2 {
				par[y] = x
				stack = append(stack, y)
			}
		}
	}
	return parent, order, true
}

// scratch returns *buf, made n long and filled with -1 on first use: an
// atom-indexed table its user must leave all -1 again. It replaced maps in
// the inner loops of cut and spanningTree, whose CPU time on three
// Liechtenstein Gemeinden fell from 4.5 s to 2.8 s with the same results.
func (s *solver) scratch(buf *[]int) []int {
	if *buf == nil {
		*buf = make([]int, s.n)
		for i := range *buf {
			(*buf)[i] = -1
		}
	}
	return *buf
}

// bisect divides a connected set of atoms into k contiguous groups, each
// admitting its share of the grids; ok is false when some cut had to leave
// the range.
func (s *solver) bisect(set []int, k int) ([][]int, bool) {
	if k <= 1 || len(set) < 2 {
		return [][]int{set}, k <= 1
	}
	k1 := k / 2
	a, b, ok := s.cut(set, k1, k-k1, trees)
	if a == nil {
		return [][]int{set}, false
	}
	// No feasible cut at the middle: try the other shares, with more trees.
	for j := 1; !ok && j < k; j++ {
		if j == k/2 || j == k-k/2 {
			continue
		}
		if a2, b2, ok2 := s.cut(set, j, k-j, 2*trees); ok2 {
			a, b, ok, k1 = a2, b2, true, j
		}
	}
	k2 := k - k1
	ga, oka := s.bisect(a, k1)
	gb, okb := s.bisect(b, k2)
	return append(ga, gb...), ok && oka && okb
}

// cut splits a connected set into a part for k1 grids and one for k2 by
// removing one edge of a random spanning tree, the best of tries trees:
// feasible first, then least cost (border off roads, border length, balance).
func (s *solver) cut(set []int, k1, k2, tries int) (a, b []int, ok bool) {
	// pos: atom → its index in the current tree's order; -1 outside set.
	pos := s.scratch(&s.pos)
	defer func() {
		for _, x := range set {
			pos[x] = -1
		}
	}()
	var area, perim, inner float64 // inner: twice the length of borders inside set
	total := 0
	for _, x := range set {
		area += s.p.Atoms[x].AreaM2
		perim += s.p.Atoms[x].PerimeterM
		total += s.p.Atoms[x].Households
	}
	for _, x := range set {
		pos[x] = 0 // membership until the first tree numbers them
	}
	for _, x := range set {
		for _, e := range s.adj[x] {
			if pos[e.to] >= 0 {
				inner += e.len
			}
		}
	}
	unit := math.Max(math.Sqrt(area/float64(k1+k2)), 1)
	fit := func(h, k int) float64 { // households outside [k·min, k·max]
		if lo := k * s.p.Min; h < lo {
			return float64(lo - h)
		}
		if hi := k * s.p.Max; h > hi {
			return float64(h - hi)
		}
		return 0
	}
	bestBad, bestCost := math.Inf(1), math.Inf(1)
	var bestSide []int
	for range tries {
		parent, order, tok := s.spanningTree(set)
		if !tok {
			return nil, nil, false
		}
		for i, x := range order {
			pos[x] = i
		}
		sub := make([]int, len(order))
		end := make([]int, len(order)) // subtree of i is order[i:end[i]]
		subA := make([]float64, len(order))
		subP := make([]float64, len(order))
		for i := len(order) - 1; i >= 0; i-- {
			at := &s.p.Atoms[order[i]]
			sub[i] += at.Households
			subA[i] += at.AreaM2
			subP[i] += at.PerimeterM
			if end[i] == 0 {
				end[i] = i + 1
			}
			if parent[i] >= 0 {
				pi := pos[parent[i]]
				sub[pi] += sub[i]
				subA[pi] += subA[i]
				subP[pi] += subP[i]
				end[pi] = max(end[pi], end[i])
			}
		}
		// end[] must be the max over descendants; preorder gives contiguous subtrees.
		type cand struct {
			i    int
			bad  float64
			bal  float64
			kSub int
		}
		var cs []cand
		for i := 1; i < len(order); i++ {
			h := sub[i]
			for _, ks := range [][2]int{{k1, k2}, {k2, k1}} {
				bad := fit(h, ks[0]) + fit(total-h, ks[1])
				bal := math.Abs(float64(h)-float64(ks[0])*s.mid) / (float64(ks[0]) * s.mid)
				cs = append(cs, cand{i, bad, bal, ks[0]})
				if k1 == k2 {
					break
				}
			}
		}
		slices.SortStableFunc(cs, func(x, y cand) int {
			if x.bad != y.bad {
				if x.bad < y.bad {
					return -1
				}
				return 1
			}
			if x.bal < y.bal {
				return -1
			} else if x.bal > y.bal {
				return 1
			}
			return 0
		})
		for j, c := range cs {
			if j >= cutCands || c.bad > cs[0].bad {
				break
			}
			lo, hi := c.i, end[c.i]
			var cutLen, cutRoad, in float64 // in: twice the borders inside the subtree
			for _, x := range order[lo:hi] {
				for _, e := range s.adj[x] {
					if p := pos[e.to]; p >= 0 {
						if p < lo || p >= hi {
							cutLen += e.len
							cutRoad += e.road
						} else {
							in += e.len
						}
					}
				}
			}
			cost := (wRoad*(cutLen-cutRoad)+wCut*cutLen)/unit + wBalance*c.bal
			// A side that is one grid pays for its shape as the grid will.
			kIn, kOut := c.kSub, k1+k2-c.kSub
			if kIn == 1 {
				cost += wPP * (1 - pp(subA[lo], subP[lo]-in))
			}
			if kOut == 1 {
				cost += wPP * (1 - pp(area-subA[lo], perim-subP[lo]-(inner-in-2*cutLen)))
			}
			if c.bad < bestBad || (c.bad == bestBad && cost < bestCost) {
				bestBad, bestCost = c.bad, cost
				bestSide = slices.Clone(order[lo:hi])
				if c.kSub != k1 {
					bestSide = nil
					for _, x := range order {
						if p := pos[x]; p < lo || p >= hi {
							bestSide = append(bestSide, x)
						}
					}
				}
			}
		}
	}
	side := map[int]bool{}
	for _, x := range bestSide {
		side[x] = true
	}
	for _, x := range set {
		if side[x] {
			a = append(a, x)
		} else {
			b = append(b, x)
		}
	}
	return a, b, bestBad == 0
}

// gridCost is the part of the cost that belongs to one grid.
func (s *solver) gridCost(g *gstate) float64 {
	if len(g.atoms) == 0 {
		return 0
	}
	half := math.Max(float64(s.p.Max-s.p.Min)/2, 1)
	d := (float64(g.h) - s.mid) / half
	c := wPP*(1-pp(g.area, g.perim)) + wBalance*d*d
	if dev := s.deviation(g.h); dev > 0 {
		c += wOut + wRange*float64(dev)/s.mid
	}
	return c
}

// unit is the grid-side length the border terms are measured in.
func (s *solver) unit() float64 {
	return math.Max(s.scale/math.Sqrt(math.Max(float64(len(s.grids)), 1)), 1)
}

func (s *solver) edgeCost(e nb) float64 {
	return (wRoad*(e.len-e.road) + wCut*e.len) / s.unit()
}

// reassignCost is what atom a costs in grid g: its households when g is not
// its current grid (maintenance mode).
func (s *solver) reassignCost(a, g int) float64 {
	at := s.p.Atoms[a]
	if s.p.Mode != Maintain || at.Current < 0 || s.grids[g].from == at.Current {
		return 0
	}
	return wReassign * float64(at.Households) / s.mid
}

// improve runs ReCom steps and local boundary moves on the grids that are
// not kept.
func (s *solver) improve() {
	s.matchIdentity(s.live())
	rounds := s.p.Rounds
	if rounds == 0 {
		rounds = min(40*len(s.grids), maxRounds)
	}
	s.localMoves()
	// s.cost follows the accepted steps' deltas (localCost and moveDelta
	// cover every term a step changes), so the best partition is known
	// without summing the whole cost each round.
	s.cost = s.totalCost()
	best, bestAssign := s.cost, slices.Clone(s.assign)
	for r := 0; r < rounds; r++ {
		// Annealing: early steps may raise the cost by up to about temp,
		// the last fifth only lower it; the best partition seen is kept.
		s.temp = wAnneal * math.Max(0, 1-float64(r)/(0.8*float64(rounds)))
		s.rounds++
		s.recom()
		if r%20 == 19 {
			s.localMoves()
		}
		if s.cost < best-1e-9 {
			best, bestAssign = s.cost, slices.Clone(s.assign)
		}
	}
	s.temp = 0
	s.restore(bestAssign)
	s.localMoves()
}

// restore puts every atom back into the grid assign gives it.
func (s *solver) restore(assign []int) {
	for a, g := range assign {
		if s.assign[a] != g {
			s.remove(a)
			s.add(g, a)
		}
	}
}

// totalCost is the cost of the whole partition (the sum localCost takes
// parts of).
func (s *solver) totalCost() float64 {
	c := 0.0
	for _, g := range s.grids {
		c += s.gridCost(g)
	}
	ests := map[int]bool{}
	for a := range s.n {
		for _, e := range s.adj[a] {
			if a < e.to && s.assign[a] != s.assign[e.to] {
				c += s.edgeCost(e)
			}
		}
		if g := s.assign[a]; g >= 0 {
			c += s.reassignCost(a, g)
		}
		if s.est[a] >= 0 {
			ests[s.est[a]] = true
		}
	}
	for e := range ests {
		c += wEstate * float64(s.estateGrids(e)-1)
	}
	return c
}

func (s *solver) live() []*gstate {
	var out []*gstate
	for _, g := range s.grids {
		if g.from != -2 {
			out = append(out, g)
		}
	}
	return out
}

// recom merges two random neighbouring grids (or, for a grid out of range,
// sometimes three) and redraws them with new spanning-tree cuts; the redraw
// stays when it lowers the cost and keeps every grid that was in range in
// range.
func (s *solver) recom() {
	// A random border edge between two grids that may change.
	var cands [][2]int
	for a := range s.n {
		if s.fixed[a] || s.assign[a] < 0 {
			continue
		}
		for _, e := range s.adj[a] {
			g, h := s.assign[a], s.assign[e.to]
			if g < h && h >= 0 && !s.fixed[e.to] && !s.marked(g) && !s.marked(h) {
				cands = append(cands, [2]int{g, h})
			}
		}
	}
	if len(cands) == 0 {
		return
	}
	// Half the steps go to a pair with a grid out of range, while there is one.
	var out [][2]int
	for _, c := range cands {
		if !s.inRange(s.grids[c[0]].h) || !s.inRange(s.grids[c[1]].h) {
			out = append(out, c)
		}
	}
	// A third of the other steps take three grids too: redrawing three
	// reshapes what pairs cannot (two L shapes and a square into three squares).
	third := s.rng.IntN(3) == 0
	if len(out) > 0 && s.rng.IntN(2) == 0 {
		cands, third = out, s.rng.IntN(2) == 0
	}
	pick := cands[s.rng.IntN(len(cands))]
	gs := []int{pick[0], pick[1]}
	if third {
		// A third grid next to the pair: room to pass households along.
		var more []int
		for _, c := range cands {
			for i, g := range c {
				if h := c[1-i]; slices.Contains(gs, g) && !slices.Contains(gs, h) && !slices.Contains(more, h) {
					more = append(more, h)
				}
			}
		}
		if len(more) > 0 {
			gs = append(gs, more[s.rng.IntN(len(more))])
		}
	}
	var union []int
	old := make([][]int, len(gs))
	wasIn := true
	for i, g := range gs {
		old[i] = s.grids[g].sortedAtoms()
		union = append(union, old[i]...)
		wasIn = wasIn && s.inRange(s.grids[g].h)
	}
	slices.Sort(union)
	before := s.localCost(union, gs)
	groups, ok := s.bisect(union, len(gs))
	if len(groups) != len(gs) || (wasIn && !ok) {
		return
	}
	s.reassign(old, groups, gs)
	after := s.localCost(union, gs)
	allIn := true
	for _, g := range gs {
		allIn = allIn && s.inRange(s.grids[g].h)
	}
	// Annealing only among partitions in range: a step that has to bring a
	// grid into range takes only improvements.
	slack := 0.0
	if wasIn {
		slack = s.temp * -math.Log(1-s.rng.Float64())
	}
	if after >= before-1e-9+slack || (wasIn && !allIn) {
		s.reassign(groups, old, gs)
		return
	}
	s.cost += after - before
}

// marked reports a grid that carries a reason (an atom over the maximum) or
// is kept: it stays as it is.
func (s *solver) marked(g int) bool {
	return slices.Contains(s.grids[g].reasons, ReasonAtomOverMax) || s.grids[g].kept
}

// reassign moves the atoms of grids gs from the groups old to the groups now.
func (s *solver) reassign(old, now [][]int, gs []int) {
	for _, o := range old {
		for _, x := range o {
			s.remove(x)
		}
	}
	for i, n := range now {
		for _, x := range n {
			s.add(gs[i], x)
		}
	}
}

// localCost is the cost of grids gs and of every border touching atoms.
func (s *solver) localCost(atoms []int, gs []int) float64 {
	c := 0.0
	for _, g := range gs {
		c += s.gridCost(s.grids[g])
	}
	in := map[int]bool{}
	for _, a := range atoms {
		in[a] = true
	}
	ests := map[int]bool{}
	for _, a := range atoms {
		for _, e := range s.adj[a] {
			if s.assign[a] != s.assign[e.to] && (!in[e.to] || a < e.to) {
				c += s.edgeCost(e)
			}
		}
		c += s.reassignCost(a, s.assign[a])
		if s.est[a] >= 0 {
			ests[s.est[a]] = true
		}
	}
	for e := range ests { // order does not matter: a sum of integers
		c += wEstate * float64(s.estateGrids(e)-1)
	}
	return c
}

// estateGrids counts the grids holding atoms of estate e.
func (s *solver) estateGrids(e int) int {
	n := 0
	for _, g := range s.grids {
		if g.estates[e] > 0 {
			n++
		}
	}
	return n
}

// localMoves moves single atoms on grid borders to a neighbouring grid while
// that lowers the cost, keeps both grids contiguous and does not take a grid
// out of range.
func (s *solver) localMoves() {
	for pass := 0; pass < 20; pass++ {
		moved := false
		for _, a := range s.rng.Perm(s.n) {
			g := s.assign[a]
			if s.fixed[a] || g < 0 || s.marked(g) || len(s.grids[g].atoms) < 2 {
				continue
			}
			var targets []int
			for _, e := range s.adj[a] {
				if h := s.assign[e.to]; h >= 0 && h != g && !s.marked(h) && !slices.Contains(targets, h) {
					targets = append(targets, h)
				}
			}
			if len(targets) == 0 {
				continue
			}
			bestH, bestD := -1, -1e-9
			for _, h := range targets {
				if d, ok := s.moveDelta(a, g, h); ok && d < bestD {
					bestH, bestD = h, d
				}
			}
			if bestH >= 0 && s.connected(s.grids[g].sortedAtoms(), a) {
				s.remove(a)
				s.add(bestH, a)
				s.cost += bestD
				moved = true
			}
		}
		if !moved {
			return
		}
	}
}

// moveDelta is the change in cost of moving atom a from grid g to h; ok is
// false when it would take a grid out of range that was in it, or move a
// grid that is out of range further out.
func (s *solver) moveDelta(a, g, h int) (float64, bool) {
	G, H := s.grids[g], s.grids[h]
	ha := s.p.Atoms[a].Households
	if (s.inRange(G.h) && !s.inRange(G.h-ha)) || (s.inRange(H.h) && !s.inRange(H.h+ha)) {
		return 0, false
	}
	if s.deviation(G.h-ha)+s.deviation(H.h+ha) > s.deviation(G.h)+s.deviation(H.h) {
		return 0, false
	}
	before := s.gridCost(G) + s.gridCost(H) + s.reassignCost(a, g)
	var edges float64
	for _, e := range s.adj[a] {
		switch s.assign[e.to] {
		case g:
			edges += s.edgeCost(e) // becomes a border
		case h:
			edges -= s.edgeCost(e) // stops being one
		}
	}
	est := 0.0
	if e := s.est[a]; e >= 0 {
		if G.estates[e] == 1 {
			est -= wEstate
		}
		if H.estates[e] == 0 {
			est += wEstate
		}
	}
	s.remove(a)
	s.add(h, a)
	after := s.gridCost(G) + s.gridCost(H) + s.reassignCost(a, h)
	s.remove(a)
	s.add(g, a)
	return after - before + edges + est, true
}
