package main

import (
	"context"
	"fmt"
	"math"
	"os"

	orbgeo "github.com/paulmach/orb/geo"

	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/geo"
	"gridmap/ingest"
)

// Household estimate for real buildings that carry no household counts
// (OpenStreetMap): floor area / SquareMetresPerHousehold, rounded, where floor
// area = footprint area (m², on the sphere) × floors, floors from
// building:levels where the building has it, else DefaultFloors. Footprints
// under MinResidentialFootprint m² (garages, sheds, kiosks) hold none; the
// extract does not keep the building=* value, so workshops, barns and offices
// count as homes: the totals overstate the real households (of the order of
// 17,000 for Liechtenstein's ~39,000 residents), which matters little for a
// benchmark of balance.
const (
	SquareMetresPerHousehold = 90.0
	DefaultFloors            = 2
	MinResidentialFootprint  = 40.0
)

// estimateHouseholds is the one place the estimate above is made.
func estimateHouseholds(b geo.Building) int {
	if b.Footprint == nil {
		return 0 // an address point: its footprint, if any, is counted already
	}
	area := orbgeo.Area(b.Footprint)
	if area < MinResidentialFootprint {
		return 0
	}
	floors := b.Floors
	if floors <= 0 {
		floors = DefaultFloors
	}
	return int(math.Round(area * float64(floors) / SquareMetresPerHousehold))
}

// liStats is what loadLiechtenstein reports of the data it loaded.
type liStats struct {
	buildings, withLevels, households, roads int
}

// loadLiechtenstein imports the country, its two Wahlkreise and eleven
// Gemeinden (as TestCLI does, codes ISO3166-2 LI-01…LI-11), a grid level
// below the Gemeinden, the extract's buildings with the
// households estimated above, and its roads.
func loadLiechtenstein(ctx context.Context, db *data.DB) (liStats, error) {
	var st liStats
	as := data.NewAreaService(db)
	for _, l := range []geo.Level{
		{Hierarchy: "li", Key: "li_country", Depth: 0, NameZH: "国家", NameEN: "country"},
		{Hierarchy: "li", Key: "li_wahlkreis", Depth: 1, NameZH: "选区", NameEN: "Wahlkreis"},
		{Hierarchy: "li", Key: "li_gemeinde", Depth: 2, NameZH: "市镇", NameEN: "Gemeinde"},
		{Hierarchy: "li", Key: "li_grid", Depth: 3, NameZH: "网格", NameEN: "grid"},
	} {
		if err := as.AddLevel(ctx, l); err != nil {
			return st, err
		}
	}
	f, err := os.Open(dbtest.TestData("liechtenstein-admin.geojson"))
	if err != nil {
		return st, err
	}
	feats, err := ingest.ReadAreaFeatures(f, 1<<30)
	f.Close()
	if err != nil {
		return st, err
	}
	im := data.NewImporter(db)
	opt := geo.ImportOptions{Author: "bench", Strict: true}
	for _, lv := range []struct{ level, adminLevel, codeField string }{
		{"li_country", "2", "ISO3166-1"}, {"li_wahlkreis", "6", "wikidata"}, {"li_gemeinde", "8", "ISO3166-2"},
	} {
		var in []geo.AreaInput
		for _, ft := range feats {
			if ingest.MatchWhere(ft.Props, map[string]string{"admin_level": lv.adminLevel}) {
				in = append(in, geo.AreaInput{Ref: ft.Ref, Level: lv.level, Geometry: ft.Geometry, Problem: ft.Problem,
					Name: ingest.PropString(ft.Props, "name"), Code: ingest.PropString(ft.Props, lv.codeField)})
			}
		}
		if _, err := im.ImportAreas(ctx, in, opt); err != nil {
			return st, fmt.Errorf("import %s: %w", lv.level, err)
		}
	}
	pbf := dbtest.TestData("liechtenstein.osm.pbf")
	bs, _, err := ingest.ReadBuildings(pbf, ingest.BuildingOptions{})
	if err != nil {
		return st, err
	}
	for i := range bs {
		bs[i].Households = estimateHouseholds(bs[i])
		st.buildings++
		if bs[i].Floors > 0 {
			st.withLevels++
		}
		st.households += bs[i].Households
	}
	if _, err := im.ImportBuildings(ctx, bs, geo.ImportOptions{Author: "bench"}); err != nil {
		return st, err
	}
	roads, _, err := ingest.ReadRoads(pbf, ingest.RoadOptions{Source: "liechtenstein.osm.pbf"})
	if err != nil {
		return st, err
	}
	st.roads = len(roads)
	_, err = im.ReplaceRoads(ctx, "liechtenstein.osm.pbf", roads, geo.ImportOptions{Author: "bench"})
	return st, err
}
