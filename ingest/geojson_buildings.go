package ingest

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"gridmap/geo"
)

// readGeoJSONBuildings reads a FeatureCollection of buildings from r.
func readGeoJSONBuildings(r io.Reader, opt BuildingOptions) ([]geo.Building, BuildingReport, error) {
	var rep BuildingReport
	var out []geo.Building
	err := eachFeature(r, "buildings file", &rep, func(f geoFeature) {
		b, problems := geoJSONBuilding(f, opt)
		if len(problems) > 0 {
			rep.reject(f.ref, "%s", strings.Join(problems, "; "))
			return
		}
		out = append(out, b)
	})
	return out, rep, err
}

// eachFeature reads a FeatureCollection from r (what names the file in
// messages) and calls fn with every feature that decodes; each feature
// counts as read, and one that does not decode is rejected into rep.
func eachFeature(r io.Reader, what string, rep *BuildingReport, fn func(geoFeature)) error {
	data, err := readAllLimited(r, 0, what)
	if err != nil {
		return err
	}
	raws, err := decodeFeatureCollection(data, what)
	if err != nil {
		return err
	}
	for i, raw := range raws {
		rep.Read++
		f := decodeFeature(i, raw)
		if f.problem != "" {
			rep.reject(f.ref, "%s", f.problem)
			continue
		}
		fn(f)
	}
	return nil
}

// geoJSONBuilding turns a decoded feature into a building, or says why not.
func geoJSONBuilding(f geoFeature, opt BuildingOptions) (geo.Building, []string) {
	get := func(k string) string { return strings.TrimSpace(PropString(f.props, k)) }
	b := geo.Building{Source: "geojson:" + orDefault(f.id, strconv.Itoa(f.index))}
	switch f.geomType {
	case "Point":
		p, problem := parsePosition(decodeAny(f.coords))
		if problem != "" {
			return b, []string{"point " + problem}
		}
		b.Point = p
	case "Polygon", "MultiPolygon":
		mp, problem := parseMultiPolygon(f.geomType, f.coords)
		if problem != "" {
			return b, []string{problem}
		}
		b.Footprint = mp
	default:
		return b, []string{fmt.Sprintf("geometry type %q is not a building; want Point, Polygon or MultiPolygon", f.geomType)}
	}
	if opt.CodeField != "" {
		b.Code = get(opt.CodeField)
	}
	b.Name = get(orDefault(opt.NameField, "name"))
	switch {
	case opt.AddressField != "":
		b.Address = get(opt.AddressField)
	case get("address") != "":
		b.Address = get("address")
	default:
		b.Address = composeAddress(get)
	}
	counts, problems := readCounts(opt, get)
	b.Households, b.Residents, b.Floors = counts[0], counts[1], counts[2]
	return b, problems
}
