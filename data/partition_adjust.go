package data

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/jackc/pgx/v5"

	"gridmap/geo"
	"gridmap/partition"
)

// ReasonAdjusted marks a grid a staff member's adjustment (a
// geo.PartitionMove) left outside the range.
const ReasonAdjusted = "adjusted_out_of_range"

// qAtomAt is the atom covering a point (on a border between atoms: the
// lower id, the rule buildings follow).
const qAtomAt = `
SELECT id FROM part_atom
WHERE geom && ST_SetSRID(ST_MakePoint($1, $2), 4326) AND ST_Covers(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326))
ORDER BY id LIMIT 1`

// adjustProposal applies the staff member's moves to the solved partition
// res of pr, in order: the atom at each point goes to grid To when it
// borders it and its old grid stays non-empty and contiguous (else the
// request is invalid, naming the move). The grids that changed are measured
// again (households, buildings, area, Polsby–Popper, range) and so are the
// metrics; a changed grid is no longer kept (in maintenance mode it is
// redrawn with its identity). Nothing is written.
func adjustProposal(ctx context.Context, tx pgx.Tx, pr *partition.Problem, res *partition.Result, moves []geo.PartitionMove) error {
	if len(moves) == 0 {
		return nil
	}
	if len(moves) > geo.MaxPartitionMoves {
		return geo.Errorf(geo.EInvalid, "at most %d moves per proposal, got %d", geo.MaxPartitionMoves, len(moves))
	}
	type link struct {
		to        int
		len, road float64
	}
	adj := make([][]link, len(pr.Atoms))
	for _, e := range pr.Edges {
		adj[e.A] = append(adj[e.A], link{e.B, e.LengthM, e.RoadM})
		adj[e.B] = append(adj[e.B], link{e.A, e.LengthM, e.RoadM})
	}
	changed := make([]bool, len(res.Grids))
	for i, m := range moves {
		if err := geo.ValidateLonLat(m.Lon, m.Lat); err != nil {
			return geo.Errorf(geo.EInvalid, "move %d: %s", i+1, geo.ErrorMessage(err))
		}
		if m.To < 0 || m.To >= len(res.Grids) {
			return geo.Errorf(geo.EInvalid, "move %d: grid %d is not in the proposal (it has %d grids)", i+1, m.To+1, len(res.Grids))
		}
		var atom int
		if err := tx.QueryRow(ctx, qAtomAt, m.Lon, m.Lat).Scan(&atom); err == pgx.ErrNoRows {
			return geo.Errorf(geo.EInvalid, "move %d: %.7f, %.7f is not inside the area", i+1, m.Lon, m.Lat)
		} else if err != nil {
			return err
		}
		from := res.Assign[atom]
		if from == m.To {
			return geo.Errorf(geo.EInvalid, "move %d: the block at %.7f, %.7f is already in grid %d", i+1, m.Lon, m.Lat, m.To+1)
		}
		if from < 0 {
			return geo.Errorf(geo.EInvalid, "move %d: the block at %.7f, %.7f is in no grid", i+1, m.Lon, m.Lat)
		}
		if !slices.ContainsFunc(adj[atom], func(l link) bool { return res.Assign[l.to] == m.To }) {
			return geo.Errorf(geo.EInvalid, "move %d: the block at %.7f, %.7f shares no border with grid %d; grids must stay contiguous", i+1, m.Lon, m.Lat, m.To+1)
		}
		// The old grid without the atom: non-empty and connected.
		var rest []int
		for a, g := range res.Assign {
			if g == from && a != atom {
				rest = append(rest, a)
			}
		}
		if len(rest) == 0 {
			return geo.Errorf(geo.EInvalid, "move %d: the block at %.7f, %.7f is all of grid %d; merge grids in the editor once accepted instead", i+1, m.Lon, m.Lat, from+1)
		}
		seen := map[int]bool{rest[0]: true}
		queue := []int{rest[0]}
		for len(queue) > 0 {
			a := queue[0]
			queue = queue[1:]
			for _, l := range adj[a] {
				if l.to != atom && res.Assign[l.to] == from && !seen[l.to] {
					seen[l.to] = true
					queue = append(queue, l.to)
				}
			}
		}
		if len(seen) != len(rest) {
			return geo.Errorf(geo.EInvalid, "move %d: moving the block at %.7f, %.7f would cut grid %d in two; grids must stay contiguous", i+1, m.Lon, m.Lat, from+1)
		}
		res.Assign[atom] = m.To
		changed[from], changed[m.To] = true, true
	}

	// Measure the changed grids again.
	pp := func(area, perim float64) float64 {
		if perim <= 0 {
			return 0
		}
		return math.Min(1, 4*math.Pi*area/(perim*perim))
	}
	for g := range res.Grids {
		if !changed[g] {
			continue
		}
		gr := &res.Grids[g]
		gr.Atoms, gr.Households, gr.Buildings, gr.AreaM2, gr.PerimeterM, gr.Kept = nil, 0, 0, 0, 0, false
		for a, ag := range res.Assign {
			if ag != g {
				continue
			}
			at := pr.Atoms[a]
			gr.Atoms = append(gr.Atoms, a)
			gr.Households += at.Households
			gr.Buildings += at.Buildings
			gr.AreaM2 += at.AreaM2
			gr.PerimeterM += at.PerimeterM
			for _, l := range adj[a] {
				if res.Assign[l.to] == g {
					gr.PerimeterM -= l.len // each shared border once from either side
				}
			}
		}
		gr.PolsbyPopper = pp(gr.AreaM2, gr.PerimeterM)
		gr.InRange = gr.Households >= pr.Min && gr.Households <= pr.Max
		gr.Reasons = slices.DeleteFunc(gr.Reasons, func(string) bool { return gr.InRange })
	}
	// Reasons: a changed grid now in range leaves them; one out of range
	// that no reason names gets its own.
	for ri := range res.Reasons {
		rs := &res.Reasons[ri]
		rs.Grids = slices.DeleteFunc(rs.Grids, func(g int) bool { return changed[g] && res.Grids[g].InRange })
	}
	res.Reasons = slices.DeleteFunc(res.Reasons, func(r partition.Reason) bool { return len(r.Grids) == 0 && len(r.Atoms) == 0 })
	for g := range res.Grids {
		gr := &res.Grids[g]
		if !changed[g] || gr.InRange || len(gr.Reasons) > 0 {
			continue
		}
		gr.Reasons = []string{ReasonAdjusted}
		res.Reasons = append(res.Reasons, partition.Reason{Kind: ReasonAdjusted, Grids: []int{g},
			Message: fmt.Sprintf("grid %d has %d households after the adjustment, outside %d–%d", g+1, gr.Households, pr.Min, pr.Max),
			Params:  map[string]int{"grid": g + 1, "households": gr.Households, "min": pr.Min, "max": pr.Max}})
	}

	pr.Measure(res)
	return nil
}
