package demo

import (
	"errors"
	"math"
	"math/rand/v2"
)

// Layout rules, in lattice cells:
//
//   - Communities are 3 cell rows tall ("bands") and 3–6 cells wide; each of
//     their rows is cut into grids of 1–3 horizontally adjacent cells, so a
//     community holds between Σ⌈row/3⌉ and Σrow grids, and 5–9 of them.
//   - A subdistrict is a block of nb bands, each band the same width, holding
//     its communities side by side. Subdistricts sit side by side in block rows.
//   - Every community border (and the district's west and east edges) steps by
//     up to one cell from row to row, so no area is a plain rectangle.
const (
	commRows       = 3 // cell rows per community band
	minCommWidth   = 3 // nominal community width in cells
	maxCommWidth   = 6
	minCommGrids   = 5
	maxCommGrids   = 9
	maxGridCells   = 3 // cells per grid
	commsPerSubdis = 7 // target communities per subdistrict
	gridsPerComm   = 7 // target grids per community
	maxSubdistrict = 99
	maxCommunities = 999 // per subdistrict
)

// span is the half-open cell column range [a, b) of one row.
type span struct{ a, b int }

type subPlan struct {
	comms []int // community indexes, in code order
}

type commPlan struct {
	sub   int // subdistrict index
	seq   int // 1-based sequence within the subdistrict
	row0  int // top cell row of the band
	nomW  int // nominal width in cells
	rows  [commRows]span
	grids []int // grid indexes, in code order
}

type gridPlan struct {
	comm int
	seq  int // 1-based sequence within the community: west→east, then north→south
	row  int // cell row
	cols span
}

// plan is the division of the lattice into subdistricts, communities and grids.
type plan struct {
	nx, ny int
	subs   []subPlan
	comms  []commPlan
	grids  []gridPlan
	gridOf []int32 // cell index j*nx+i → grid index, -1 outside the district
}

// communityCount returns the number of communities for g ≥ 5 grids: about
// g/7, but never so few or so many that a community falls outside 5–9 grids.
func communityCount(g int) int {
	n := int(math.Round(float64(g) / gridsPerComm))
	n = max(n, (g+maxCommGrids-1)/maxCommGrids)
	return max(1, min(n, g/minCommGrids))
}

// planLayout divides a lattice into exactly grids grids (grids ≥ 5).
func planLayout(grids int, rng *rand.Rand) (*plan, error) {
	nc := communityCount(grids)
	ns := max(1, min(maxSubdistrict, int(math.Round(float64(nc)/commsPerSubdis))))
	perSub := make([]int, ns)
	for s := range perSub {
		perSub[s] = nc / ns
	}
	for _, s := range rng.Perm(ns)[:nc%ns] {
		perSub[s]++
	}
	if perSub[0]+1 > maxCommunities {
		return nil, errors.New("too many communities per subdistrict")
	}
	// Wide communities make nicer shapes; when grids are so few that their
	// minimum grid counts do not fit, fall back to 3-cell-wide ones in one band.
	for _, narrow := range []bool{false, true} {
		if p := tryLayout(grids, perSub, narrow, rng); p != nil {
			return p, nil
		}
	}
	return nil, errors.New("no layout fits")
}

func tryLayout(grids int, perSub []int, narrow bool, rng *rand.Rand) *plan {
	ns := len(perSub)
	nc := 0
	minPerSub := perSub[0]
	for _, n := range perSub {
		nc += n
		minPerSub = min(minPerSub, n)
	}

	// Bands per subdistrict: about square subdistricts.
	nb := 1
	if !narrow {
		avgW := float64(2*gridsPerComm) / commRows * cellW // metres
		nb = int(math.Round(math.Sqrt(float64(nc) / float64(ns) * avgW / (commRows * cellH))))
		nb = max(1, min(nb, minPerSub))
	}

	// Per subdistrict: band width and community widths per band.
	type subGeom struct {
		width  int
		widths [][]int // per band, nominal community widths west→east
	}
	geoms := make([]subGeom, ns)
	for s, n := range perSub {
		m, r := n/nb, n%nb
		counts := make([]int, nb)
		for b := range counts {
			counts[b] = m
		}
		for _, b := range rng.Perm(nb)[:r] {
			counts[b]++
		}
		mmax := m
		if r > 0 {
			mmax++
		}
		var w int
		if narrow {
			w = minCommWidth * n // nb == 1
		} else {
			// About 2 cells per grid.
			gs := float64(grids) * float64(n) / float64(nc)
			w = int(math.Round(2 * gs / float64(commRows*nb)))
			w = max(minCommWidth*mmax, min(w, maxCommWidth*m))
		}
		g := subGeom{width: w, widths: make([][]int, nb)}
		for b, c := range counts {
			ws := make([]int, c)
			for k := range ws {
				ws[k] = w / c
			}
			for _, k := range rng.Perm(c)[:w%c] {
				ws[k]++
			}
			g.widths[b] = ws
		}
		geoms[s] = g
	}

	// Subdistricts per block row: about a square district.
	blockW := float64(geoms[0].width) * cellW
	blockH := float64(nb*commRows) * cellH
	perRow := max(1, min(ns, int(math.Round(math.Sqrt(float64(ns)*blockH/blockW)))))
	blockRows := (ns + perRow - 1) / perRow

	p := &plan{
		ny:    blockRows * nb * commRows,
		subs:  make([]subPlan, ns),
		comms: make([]commPlan, 0, nc),
	}
	// Communities in code order (subdistrict, band, west→east); per global
	// band, community indexes west→east and nominal borders.
	nbands := blockRows * nb
	bandComms := make([][]int, nbands)
	bandX := make([][]int, nbands)
	for gb := range bandX {
		bandX[gb] = []int{1} // column 0 is spare for the stepped west edge
	}
	for s := range perSub {
		br := s / perRow
		for b, ws := range geoms[s].widths {
			gb := br*nb + b
			for _, w := range ws {
				x := bandX[gb][len(bandX[gb])-1]
				bandX[gb] = append(bandX[gb], x+w)
				bandComms[gb] = append(bandComms[gb], len(p.comms))
				p.subs[s].comms = append(p.subs[s].comms, len(p.comms))
				p.comms = append(p.comms, commPlan{sub: s, seq: len(p.subs[s].comms), row0: gb * commRows, nomW: w})
			}
		}
	}

	// Step the borders row by row.
	for gb, cs := range bandComms {
		X := bandX[gb]
		var prev [commRows]int
		for k := range X {
			nominal := [commRows]int{X[k], X[k], X[k]}
			var chosen [commRows]int
			ok := false
			for try := 0; try < 4 && !ok; try++ {
				for r := range chosen {
					chosen[r] = X[k] + rng.IntN(3) - 1
				}
				ok = (k == 0 || commShapeOK(prev, chosen, p.comms[cs[k-1]].nomW)) &&
					(k == len(cs) || commShapeOK(chosen, [commRows]int{X[k+1], X[k+1], X[k+1]}, p.comms[cs[k]].nomW))
			}
			if !ok {
				chosen = nominal
			}
			if k > 0 {
				c := &p.comms[cs[k-1]]
				for r := range c.rows {
					c.rows[r] = span{prev[r], chosen[r]}
				}
			}
			prev = chosen
		}
	}

	// Grids per community: within each community's feasible range, summing
	// to exactly grids.
	lo := make([]int, nc)
	hi := make([]int, nc)
	want := make([]int, nc)
	sumLo, sumHi, sumWant := 0, 0, 0
	for k := range p.comms {
		lo[k], hi[k] = gridRange(p.comms[k].rows)
		cells := 0
		for _, s := range p.comms[k].rows {
			cells += s.b - s.a
		}
		want[k] = max(lo[k], min(hi[k], (cells+1)/2))
		sumLo += lo[k]
		sumHi += hi[k]
		sumWant += want[k]
	}
	if sumLo > grids || sumHi < grids {
		return nil
	}
	order := rng.Perm(nc)
	for diff := grids - sumWant; diff != 0; {
		for _, k := range order {
			switch {
			case diff > 0 && want[k] < hi[k]:
				want[k]++
				diff--
			case diff < 0 && want[k] > lo[k]:
				want[k]--
				diff++
			}
			if diff == 0 {
				break
			}
		}
	}

	// Cut each community's rows into grids.
	for k := range p.comms {
		c := &p.comms[k]
		var per [commRows]int
		left := want[k]
		for r, s := range c.rows {
			per[r] = (s.b - s.a + maxGridCells - 1) / maxGridCells
			left -= per[r]
		}
		for left > 0 {
			r := rng.IntN(commRows)
			if per[r] < c.rows[r].b-c.rows[r].a {
				per[r]++
				left--
			}
		}
		for r, s := range c.rows {
			sizes := splitRun(s.b-s.a, per[r], rng)
			x := s.a
			for _, sz := range sizes {
				c.grids = append(c.grids, len(p.grids))
				p.grids = append(p.grids, gridPlan{comm: k, seq: len(c.grids), row: c.row0 + r, cols: span{x, x + sz}})
				x += sz
			}
		}
	}

	for _, c := range p.comms {
		for _, s := range c.rows {
			p.nx = max(p.nx, s.b)
		}
	}
	p.gridOf = make([]int32, p.nx*p.ny)
	for i := range p.gridOf {
		p.gridOf[i] = -1
	}
	for g, gp := range p.grids {
		for i := gp.cols.a; i < gp.cols.b; i++ {
			p.gridOf[gp.row*p.nx+i] = int32(g)
		}
	}
	return p
}

// gridRange returns the fewest and most grids a community with these rows can
// be cut into (grids of 1–3 cells within one row, 5–9 per community).
func gridRange(rows [commRows]span) (lo, hi int) {
	cells := 0
	for _, s := range rows {
		lo += (s.b - s.a + maxGridCells - 1) / maxGridCells
		cells += s.b - s.a
	}
	return max(lo, minCommGrids), min(cells, maxCommGrids)
}

// commShapeOK reports whether a community with the given west and east borders
// per row is a valid shape (rows at least 2 cells wide, consecutive rows
// sharing at least one cell edge) whose grid range is no narrower than that of
// its unstepped nominal shape, so stepping never makes the grid total
// infeasible.
func commShapeOK(west, east [commRows]int, nomW int) bool {
	var rows [commRows]span
	for r := range rows {
		rows[r] = span{west[r], east[r]}
		if east[r]-west[r] < 2 {
			return false
		}
		if r > 0 && min(east[r], east[r-1])-max(west[r], west[r-1]) < 1 {
			return false
		}
	}
	lo, hi := gridRange(rows)
	nlo, nhi := gridRange([commRows]span{{0, nomW}, {0, nomW}, {0, nomW}})
	return lo <= nlo && hi >= nhi
}

// splitRun cuts a run of n cells into parts of 1–3 cells (n ≤ 3*parts ≤ 3*n).
func splitRun(n, parts int, rng *rand.Rand) []int {
	sizes := make([]int, parts)
	for k := range sizes {
		sizes[k] = 1
	}
	for left := n - parts; left > 0; {
		k := rng.IntN(parts)
		if sizes[k] < maxGridCells {
			sizes[k]++
			left--
		}
	}
	return sizes
}
