package ingest

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/osm"
	"github.com/paulmach/osm/osmpbf"

	"gridmap/geo"
)

// RoadOptions says how ReadRoads reads a file. The zero value reads the
// default fields of a format told by the file extension.
type RoadOptions struct {
	// Format is "geojson" or "pbf"; "" tells it from the extension.
	Format string
	// Source is what every road read gets as its Source (a re-import of the
	// same Source replaces its roads); "" is the file's base name.
	Source string
	// NameField is the property (GeoJSON) or tag (PBF) holding the name;
	// "" tries "name", then "name:zh".
	NameField string
	// Progress is as BuildingOptions.Progress.
	Progress func(done, total int64)
}

// RoadReport says what ReadRoads did with the records of a file: Read counts
// GeoJSON features and PBF ways tagged highway=*; Skipped counts those that
// are not roads gridmap draws (highway=construction, proposed, …) and PBF
// ways whose nodes the extract lacks; Accepted counts the roads returned (a
// MultiLineString, or a way cut by the extract's edge, gives several).
type RoadReport = BuildingReport

// roadPBFPasses: ways (which nodes), then nodes (their coordinates).
const roadPBFPasses = 2

// ReadRoads reads the roads of the file at path: a GeoJSON FeatureCollection
// of LineString and MultiLineString features (properties: name; class major,
// minor or path, or else an OpenStreetMap highway value), or an OpenStreetMap
// PBF extract (ways tagged highway=*, classed by geo.HighwayClass). Each
// road has at least two distinct positions (repeated consecutive positions
// are dropped), a name of at most geo.MaxRoadName characters that passes
// geo.CheckText, and Ref "way/123" (PBF), the feature id or "feature 7"
// (GeoJSON), with ":2" and so on for further parts.
//
// Records that cannot be imported are listed in the report. The error is a
// *geo.Error (EInvalid) for problems with the whole file.
func ReadRoads(path string, opt RoadOptions) ([]geo.Road, RoadReport, error) {
	format, err := fileFormat("roads", path, opt.Format)
	if err != nil {
		return nil, RoadReport{}, err
	}
	if format == "csv" {
		return nil, RoadReport{}, geo.Errorf(geo.EInvalid, "roads are lines, which a CSV file of points cannot hold; give a GeoJSON or OSM PBF file")
	}
	if opt.Source == "" {
		opt.Source = filepath.Base(path)
	}
	if err := geo.CheckText("road source", opt.Source, geo.MaxRoadSource); err != nil {
		return nil, RoadReport{}, err
	}
	f, size, err := openFile(path, "roads")
	if err != nil {
		return nil, RoadReport{}, err
	}
	defer f.Close()
	var (
		rs  []geo.Road
		rep RoadReport
	)
	if format == "pbf" {
		rs, rep, err = readPBFRoads(f, size, opt)
	} else {
		pr := newProgressReader(f, size, opt.Progress)
		rs, rep, err = ReadGeoJSONRoads(pr, opt)
		pr.finish()
	}
	if err != nil {
		return nil, rep, err
	}
	rep.Accepted = len(rs)
	return rs, rep, nil
}

// ReadGeoJSONRoads reads a FeatureCollection of roads from r (see ReadRoads);
// Accepted is left to the caller.
func ReadGeoJSONRoads(r io.Reader, opt RoadOptions) ([]geo.Road, RoadReport, error) {
	var rep RoadReport
	var out []geo.Road
	err := eachFeature(r, "roads file", &rep, func(f geoFeature) {
		get := func(k string) string { return strings.TrimSpace(PropString(f.props, k)) }
		class, problem := geoJSONRoadClass(get("class"), get("highway"))
		if problem == "skip" {
			rep.Skipped++
			rep.note("%s skipped: highway=%s is not a road gridmap draws", f.ref, get("highway"))
			return
		}
		lines := []orb.LineString(nil)
		if problem == "" {
			lines, problem = parseLines(f.geomType, f.coords)
		}
		name := ""
		if problem == "" {
			name, problem = roadName(get, opt.NameField)
		}
		if problem != "" {
			rep.reject(f.ref, "%s", problem)
			return
		}
		ref := f.id
		if ref == "" || geo.CheckText("ref", ref, 0) != nil { // an id PostgreSQL text cannot hold names nothing
			ref = "feature " + strconv.Itoa(f.index)
		}
		out = appendRoadParts(out, geo.Road{Name: name, Class: class, Source: opt.Source}, lines, truncateRef(ref))
	})
	return out, rep, err
}

// geoJSONRoadClass reads the class property, else the highway property;
// problem "skip" means a highway value that is not a road gridmap draws.
func geoJSONRoadClass(class, highway string) (geo.RoadClass, string) {
	if class != "" {
		if c, ok := geo.ParseRoadClass(class); ok {
			return c, ""
		}
		if c, ok := geo.HighwayClass(class); ok { // class=residential: meant as highway
			return c, ""
		}
		return "", fmt.Sprintf("class must be major, minor or path (or an OpenStreetMap highway value), got %q", class)
	}
	if highway == "" {
		return "", "has neither a class (major, minor, path) nor a highway property"
	}
	if c, ok := geo.HighwayClass(highway); ok {
		return c, ""
	}
	return "", "skip"
}

// roadName reads the name from field, or from "name" then "name:zh".
func roadName(get func(string) string, field string) (string, string) {
	var name string
	if field != "" {
		name = get(field)
	} else if name = get("name"); name == "" {
		name = get("name:zh")
	}
	if err := geo.CheckText("name", name, geo.MaxRoadName); err != nil {
		return "", err.(*geo.Error).Message
	}
	return name, ""
}

func truncateRef(ref string) string {
	if r := []rune(ref); len(r) > geo.MaxRoadRef-4 {
		return string(r[:geo.MaxRoadRef-4])
	}
	return ref
}

// appendRoadParts appends one road per line, Ref ref, "ref:2", ….
func appendRoadParts(out []geo.Road, r geo.Road, lines []orb.LineString, ref string) []geo.Road {
	for k, l := range lines {
		r.Line, r.Ref = l, ref
		if k > 0 {
			r.Ref = ref + ":" + strconv.Itoa(k+1)
		}
		out = append(out, r)
	}
	return out
}

// parseLines reads the coordinates of a LineString or MultiLineString
// geometry; each line keeps its distinct consecutive positions and needs two.
func parseLines(geomType string, coords []byte) ([]orb.LineString, string) {
	v := decodeAny(coords)
	switch geomType {
	case "LineString":
		l, problem := parseLine(v, "line")
		if problem != "" {
			return nil, problem
		}
		return []orb.LineString{l}, ""
	case "MultiLineString":
		parts, ok := v.([]any)
		if !ok {
			return nil, fmt.Sprintf("MultiLineString coordinates are %s, want an array of lines", anyKind(v))
		}
		if len(parts) == 0 {
			return nil, "MultiLineString has no lines"
		}
		out := make([]orb.LineString, 0, len(parts))
		for i, pv := range parts {
			l, problem := parseLine(pv, fmt.Sprintf("line %d", i+1))
			if problem != "" {
				return nil, problem
			}
			out = append(out, l)
		}
		return out, ""
	case "":
		return nil, "has no geometry"
	}
	return nil, fmt.Sprintf("geometry type %q is not a road; want LineString or MultiLineString", geomType)
}

func parseLine(v any, at string) (orb.LineString, string) {
	pts, problem := parsePositions(v, at)
	if problem != "" {
		return nil, problem
	}
	l := dedupLine(pts)
	if len(l) < 2 {
		return nil, fmt.Sprintf("%s has %d distinct positions; a road needs at least 2", at, len(l))
	}
	return l, ""
}

// dedupLine drops positions equal to the one before.
func dedupLine(l orb.LineString) orb.LineString {
	out := l[:0]
	for i, p := range l {
		if i == 0 || p != out[len(out)-1] {
			out = append(out, p)
		}
	}
	return out
}

type pbfRoadWay struct {
	id    osm.WayID
	class geo.RoadClass
	name  string
	nodes []osm.NodeID
}

// readPBFRoads reads the ways tagged highway=* of an OSM PBF file in two
// passes: ways (keeping their node ids), then the coordinates of those nodes.
func readPBFRoads(f *os.File, size int64, opt RoadOptions) ([]geo.Road, RoadReport, error) {
	var rep RoadReport
	var ways []pbfRoadWay
	coords := map[osm.NodeID]orb.Point{}
	skipped := map[string]int{}
	err := scanPBF(f, size, 0, roadPBFPasses, opt.Progress, func(s *osmpbf.Scanner) { s.SkipNodes, s.SkipRelations = true, true }, func(o osm.Object) {
		w, ok := o.(*osm.Way)
		if !ok {
			return
		}
		hw := w.Tags.Find("highway")
		if hw == "" {
			return
		}
		rep.Read++
		class, ok := geo.HighwayClass(hw)
		if !ok {
			rep.Skipped++
			skipped[hw]++
			return
		}
		name, problem := roadName(func(k string) string { return strings.TrimSpace(w.Tags.Find(k)) }, opt.NameField)
		if problem != "" {
			rep.reject(fmt.Sprintf("way %d", w.ID), "%s", problem)
			return
		}
		ids := make([]osm.NodeID, len(w.Nodes))
		for i, wn := range w.Nodes {
			ids[i] = wn.ID
			coords[wn.ID] = orb.Point{}
		}
		ways = append(ways, pbfRoadWay{w.ID, class, name, ids})
	})
	if err != nil {
		return nil, rep, err
	}
	seen := make(map[osm.NodeID]bool, len(coords))
	err = scanPBF(f, size, 1, roadPBFPasses, opt.Progress, func(s *osmpbf.Scanner) { s.SkipWays, s.SkipRelations = true, true }, func(o osm.Object) {
		n, ok := o.(*osm.Node)
		if !ok {
			return
		}
		if _, want := coords[n.ID]; want {
			coords[n.ID] = n.Point()
			seen[n.ID] = true
		}
	})
	if err != nil {
		return nil, rep, err
	}
	var out []geo.Road
	clipped := 0
	for _, w := range ways {
		ref := fmt.Sprintf("way %d", w.id)
		// Runs of nodes the file has: a way the extract cut keeps its pieces inside.
		var lines []orb.LineString
		var run orb.LineString
		bad := ""
		flush := func() {
			if run = dedupLine(run); len(run) >= 2 {
				lines = append(lines, run)
			}
			run = nil
		}
		missing := 0
		for _, id := range w.nodes {
			if !seen[id] {
				missing++
				flush()
				continue
			}
			p := coords[id]
			if problem := checkLonLat(p); problem != "" {
				bad = fmt.Sprintf("node %d: %s", id, problem)
				break
			}
			run = append(run, p)
		}
		flush()
		switch {
		case bad != "":
			rep.reject(ref, "%s", bad)
			continue
		case len(lines) == 0 && missing > 0:
			rep.Skipped++
			clipped++
			continue
		case len(lines) == 0:
			rep.reject(ref, "has %d nodes but fewer than 2 distinct positions", len(w.nodes))
			continue
		}
		out = appendRoadParts(out, geo.Road{Name: w.name, Class: w.class, Source: opt.Source}, lines, fmt.Sprintf("way/%d", w.id))
	}
	if len(skipped) > 0 {
		keys := make([]string, 0, len(skipped))
		for k := range skipped {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s %d", k, skipped[k])
		}
		rep.note("ways skipped as not roads gridmap draws (highway=value count): %s", strings.Join(parts, ", "))
	}
	if clipped > 0 {
		rep.note("%d highway ways skipped: none of their nodes with a neighbour are in the file (the extract is clipped)", clipped)
	}
	return out, rep, nil
}
