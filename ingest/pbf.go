package ingest

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
	"github.com/paulmach/osm"
	"github.com/paulmach/osm/osmpbf"

	"gridmap/geo"
)

// An OpenStreetMap PBF file is read in three passes so that memory grows with
// the buildings, not the file: relations (which building multipolygons, which
// member ways), ways (building ways and member ways, which nodes), nodes
// (their coordinates, and address nodes).
const pbfPasses = 3

// osmFeature is what a building keeps of an OSM element's tags.
type osmFeature struct {
	id   int64
	tags osm.Tags
}

type pbfWay struct {
	osmFeature
	nodes []osm.NodeID
}

type pbfMember struct {
	way   osm.WayID
	inner bool
}

type pbfRelation struct {
	osmFeature
	members []pbfMember
}

type pbfAddressNode struct {
	osmFeature
	point orb.Point
}

// isBuilding reports whether tags mark a building: building=* with any value
// but "no".
func isBuilding(tags osm.Tags) bool {
	v := tags.Find("building")
	return v != "" && v != "no"
}

// readPBFBuildings reads buildings and address points from an OSM PBF file.
func readPBFBuildings(f *os.File, size int64, opt BuildingOptions) ([]geo.Building, BuildingReport, error) {
	var rep BuildingReport

	// Pass 1: building multipolygon relations.
	var relations []pbfRelation
	memberWays := map[osm.WayID]bool{}
	err := scanPBF(f, size, 0, pbfPasses, opt.Progress, func(s *osmpbf.Scanner) { s.SkipNodes, s.SkipWays = true, true }, func(o osm.Object) {
		r, ok := o.(*osm.Relation)
		if !ok || !isBuilding(r.Tags) {
			return
		}
		if typ := r.Tags.Find("type"); typ != "multipolygon" {
			rep.Read++
			rep.Skipped++
			rep.note("relation %d has building=%s but type=%q; only multipolygon relations are read as buildings", r.ID, r.Tags.Find("building"), typ)
			return
		}
		pr := pbfRelation{osmFeature: osmFeature{int64(r.ID), r.Tags}}
		for _, m := range r.Members {
			if m.Type != osm.TypeWay || (m.Role != "outer" && m.Role != "inner" && m.Role != "") {
				continue
			}
			pr.members = append(pr.members, pbfMember{way: osm.WayID(m.Ref), inner: m.Role == "inner"})
			memberWays[osm.WayID(m.Ref)] = true
		}
		relations = append(relations, pr)
	})
	if err != nil {
		return nil, rep, err
	}

	// Pass 2: building ways and the member ways of building relations.
	var ways []pbfWay
	memberNodes := map[osm.WayID][]osm.NodeID{}
	coords := map[osm.NodeID]orb.Point{} // every node of a building; filled in pass 3
	err = scanPBF(f, size, 1, pbfPasses, opt.Progress, func(s *osmpbf.Scanner) { s.SkipNodes, s.SkipRelations = true, true }, func(o osm.Object) {
		w, ok := o.(*osm.Way)
		if !ok {
			return
		}
		building, member := isBuilding(w.Tags), memberWays[w.ID]
		if !building && !member {
			return
		}
		ids := make([]osm.NodeID, len(w.Nodes))
		for i, wn := range w.Nodes {
			ids[i] = wn.ID
			coords[wn.ID] = orb.Point{}
		}
		if building {
			ways = append(ways, pbfWay{osmFeature{int64(w.ID), w.Tags}, ids})
		}
		if member {
			memberNodes[w.ID] = ids
		}
	})
	if err != nil {
		return nil, rep, err
	}

	// Pass 3: coordinates of building nodes, and address nodes.
	var addrNodes []pbfAddressNode
	seen := map[osm.NodeID]bool{}
	vertexAddresses := 0
	err = scanPBF(f, size, 2, pbfPasses, opt.Progress, func(s *osmpbf.Scanner) { s.SkipWays, s.SkipRelations = true, true }, func(o osm.Object) {
		n, ok := o.(*osm.Node)
		if !ok {
			return
		}
		_, vertex := coords[n.ID]
		if vertex {
			coords[n.ID] = n.Point()
			seen[n.ID] = true
		}
		if n.Tags.Find("addr:housenumber") == "" {
			return
		}
		if vertex { // an entrance or similar on a building outline: the building is the address
			vertexAddresses++
			return
		}
		addrNodes = append(addrNodes, pbfAddressNode{osmFeature{int64(n.ID), n.Tags}, n.Point()})
	})
	if err != nil {
		return nil, rep, err
	}

	var out []geo.Building
	for _, n := range addrNodes {
		rep.Read++
		ref := fmt.Sprintf("node %d", n.id)
		if problem := checkLonLat(n.point); problem != "" {
			rep.reject(ref, "%s", problem)
			continue
		}
		b, problems := osmBuilding(n.osmFeature, opt, "osm:node/")
		if len(problems) > 0 {
			rep.reject(ref, "%s", strings.Join(problems, "; "))
			continue
		}
		b.Point = n.point
		out = append(out, b)
	}
	for _, w := range ways {
		rep.Read++
		ref := fmt.Sprintf("way %d", w.id)
		ring, problem := wayRing(w.nodes, coords, seen)
		if problem != "" {
			rep.reject(ref, "%s", problem)
			continue
		}
		b, problems := osmBuilding(w.osmFeature, opt, "osm:way/")
		if len(problems) > 0 {
			rep.reject(ref, "%s", strings.Join(problems, "; "))
			continue
		}
		b.Footprint = orb.MultiPolygon{{ring}}
		out = append(out, b)
	}
	for _, r := range relations {
		rep.Read++
		mp, problem := assembleMultipolygon(r.members, memberNodes, coords, seen)
		if problem != "" {
			rep.Skipped++
			rep.note("relation %d (building multipolygon) skipped: %s", r.id, problem)
			continue
		}
		b, problems := osmBuilding(r.osmFeature, opt, "osm:relation/")
		if len(problems) > 0 {
			rep.reject(fmt.Sprintf("relation %d", r.id), "%s", strings.Join(problems, "; "))
			continue
		}
		b.Footprint = mp
		out = append(out, b)
	}
	if vertexAddresses > 0 {
		rep.note("%d nodes with addr:housenumber lie on building outlines (entrances and the like) and were not imported as separate address points", vertexAddresses)
	}
	return out, rep, nil
}

// scanPBF runs pass (0-based) of passes over f, calling fn for every object
// the scanner, set up by configure, yields.
func scanPBF(f *os.File, size int64, pass, passes int64, progress func(done, total int64), configure func(*osmpbf.Scanner), fn func(osm.Object)) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return &geo.Error{Code: geo.EInvalid, Message: "cannot read the PBF file", Err: err}
	}
	pr := newProgressReader(f, size, progress)
	pr.base, pr.scale = pass*size, passes
	s := osmpbf.New(context.Background(), pr, runtime.GOMAXPROCS(0))
	defer s.Close()
	configure(s)
	for s.Scan() {
		fn(s.Object())
	}
	if err := s.Err(); err != nil {
		return &geo.Error{Code: geo.EInvalid, Message: "the PBF file cannot be read (is it an OpenStreetMap .osm.pbf?)", Err: err}
	}
	// The decoder's reading goroutine may still be in pr.Read until Close
	// returns (it waits for it); only then may pr be read here.
	s.Close()
	if pass == passes-1 {
		pr.finish()
	}
	return nil
}

// osmBuilding reads the tags of a building element; source is e.g.
// "osm:way/". Geometry is left to the caller.
func osmBuilding(f osmFeature, opt BuildingOptions, source string) (geo.Building, []string) {
	get := func(k string) string { return strings.TrimSpace(f.tags.Find(k)) }
	b := geo.Building{Source: fmt.Sprintf("%s%d", source, f.id)}
	if opt.CodeField != "" {
		b.Code = get(opt.CodeField)
	}
	b.Name = get(orDefault(opt.NameField, "name"))
	if opt.AddressField != "" {
		b.Address = get(opt.AddressField)
	} else {
		b.Address = composeAddress(get)
	}
	counts, problems := readCounts(opt, get)
	b.Households, b.Residents, b.Floors = counts[0], counts[1], counts[2]
	return b, problems
}

// wayRing turns a building way's nodes into a closed ring, or says why it
// cannot.
func wayRing(nodes []osm.NodeID, coords map[osm.NodeID]orb.Point, seen map[osm.NodeID]bool) (orb.Ring, string) {
	if len(nodes) == 0 {
		return nil, "way has no nodes"
	}
	if first, last := nodes[0], nodes[len(nodes)-1]; first != last {
		return nil, fmt.Sprintf("way is not closed: it starts at node %d and ends at node %d", first, last)
	}
	if len(nodes) < 4 {
		return nil, fmt.Sprintf("way has %d nodes; a closed ring needs at least 4", len(nodes))
	}
	return nodeRing(nodes, coords, seen)
}

// nodeRing looks up the coordinates of nodes.
func nodeRing(nodes []osm.NodeID, coords map[osm.NodeID]orb.Point, seen map[osm.NodeID]bool) (orb.Ring, string) {
	ring := make(orb.Ring, len(nodes))
	missing := 0
	var firstMissing osm.NodeID
	for i, id := range nodes {
		if !seen[id] {
			if missing == 0 {
				firstMissing = id
			}
			missing++
			continue
		}
		ring[i] = coords[id]
		if problem := checkLonLat(ring[i]); problem != "" {
			return nil, fmt.Sprintf("node %d: %s", id, problem)
		}
	}
	if missing > 0 {
		return nil, fmt.Sprintf("%d of its %d nodes are not in the file (the extract is clipped), e.g. node %d", missing, len(nodes), firstMissing)
	}
	return ring, ""
}

// assembleMultipolygon joins the member ways of a multipolygon relation
// end to end into closed rings and puts each inner ring in the outer ring
// that contains it.
func assembleMultipolygon(members []pbfMember, memberNodes map[osm.WayID][]osm.NodeID, coords map[osm.NodeID]orb.Point, seen map[osm.NodeID]bool) (orb.MultiPolygon, string) {
	var outerWays, innerWays [][]osm.NodeID
	for _, m := range members {
		nodes, ok := memberNodes[m.way]
		if !ok {
			return nil, fmt.Sprintf("member way %d is not in the file (the extract is clipped)", m.way)
		}
		if len(nodes) < 2 {
			return nil, fmt.Sprintf("member way %d has %d nodes", m.way, len(nodes))
		}
		if m.inner {
			innerWays = append(innerWays, nodes)
		} else {
			outerWays = append(outerWays, nodes)
		}
	}
	if len(outerWays) == 0 {
		return nil, "it has no outer ways"
	}
	toRings := func(ways [][]osm.NodeID, role string) ([]orb.Ring, string) {
		joined, problem := joinWays(ways)
		if problem != "" {
			return nil, fmt.Sprintf("the %s ways do not join into closed rings: %s", role, problem)
		}
		rings := make([]orb.Ring, 0, len(joined))
		for _, nodes := range joined {
			if len(nodes) < 4 {
				return nil, fmt.Sprintf("an %s ring has %d nodes; a closed ring needs at least 4", role, len(nodes))
			}
			ring, problem := nodeRing(nodes, coords, seen)
			if problem != "" {
				return nil, fmt.Sprintf("an %s ring: %s", role, problem)
			}
			rings = append(rings, ring)
		}
		return rings, ""
	}
	outers, problem := toRings(outerWays, "outer")
	if problem != "" {
		return nil, problem
	}
	inners, problem := toRings(innerWays, "inner")
	if problem != "" {
		return nil, problem
	}
	mp := make(orb.MultiPolygon, len(outers))
	for i, o := range outers {
		mp[i] = orb.Polygon{o}
	}
	for _, in := range inners {
		best, bestCount := -1, 0
		for i, o := range outers {
			count := 0
			for _, p := range in {
				if planar.RingContains(o, p) {
					count++
				}
			}
			if count > bestCount {
				best, bestCount = i, count
			}
		}
		if best < 0 {
			return nil, "an inner ring lies outside every outer ring"
		}
		mp[best] = append(mp[best], in)
	}
	return mp, ""
}

// joinWays joins ways (node lists) end to end, reversing them where needed,
// into closed rings.
func joinWays(ways [][]osm.NodeID) ([][]osm.NodeID, string) {
	used := make([]bool, len(ways))
	var rings [][]osm.NodeID
	for start := range ways {
		if used[start] {
			continue
		}
		used[start] = true
		ring := append([]osm.NodeID(nil), ways[start]...)
		for ring[0] != ring[len(ring)-1] {
			end := ring[len(ring)-1]
			found := false
			for i, w := range ways {
				if used[i] {
					continue
				}
				switch end {
				case w[0]:
					ring = append(ring, w[1:]...)
				case w[len(w)-1]:
					for j := len(w) - 2; j >= 0; j-- {
						ring = append(ring, w[j])
					}
				default:
					continue
				}
				used[i], found = true, true
				break
			}
			if !found {
				return nil, fmt.Sprintf("a ring starting at node %d ends open at node %d", ring[0], end)
			}
		}
		rings = append(rings, ring)
	}
	return rings, ""
}
