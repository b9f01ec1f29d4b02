package ingest

import (
	"bytes"
	"errors"
	"testing"

	"gridmap/geo"
)

func FuzzReadAreaFeatures(f *testing.F) {
	seeds := []string{
		fc(polygonSq),
		fc(multiPolygon),
		fc(polygonSq, `{"type":"Feature","properties":{"admin_level":8,"n":[null,{"a":null}]},"geometry":null}`),
		fc(`{"type":"Feature","properties":null,"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}}`),
		fc(`{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1e400,-0],[1.5E-7,1],[0,0]]]}}`),
		fc(`{"type":"Feature","properties":{},"geometry":{"type":"MultiPolygon","coordinates":[[null],[[null,[1,2]]],[]]}}`),
		fc(`{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[-180,-90],[180,-90],[180,90],[-180,-90]]]}}`),
		fc(`{"type":"Feature","geometry":{"type":"Polygon","coordinates":null}}`, `null`, `[]`, `"x"`),
		`{"type":"FeatureCollection","features":[`,
		`{"type":"FeatureCollection","features":null}`,
		"\xEF\xBB\xBF" + fc(`{"type":"Feature","id":1.5e3,"properties":{"name":"V\u00e4duz"},"geometry":{"type":"Point","coordinates":[9,47]}}`),
		`[1,2,3]`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		features, err := ReadAreaFeatures(bytes.NewReader(data), 1<<20)
		if err != nil {
			var ge *geo.Error
			if !errors.As(err, &ge) || (ge.Code != geo.EInvalid && ge.Code != geo.ETooLarge) {
				t.Fatalf("got error %v, want a *geo.Error EInvalid or ETooLarge", err)
			}
			return
		}
		for i, af := range features {
			if af.Index != i || af.Ref == "" || af.Props == nil {
				t.Fatalf("feature %d: got Index %d, Ref %q, Props %v", i, af.Index, af.Ref, af.Props)
			}
			if af.Problem != "" {
				if af.Geometry != nil {
					t.Fatalf("%s: got Geometry with Problem %q, want nil", af.Ref, af.Problem)
				}
				continue
			}
			if len(af.Geometry) == 0 {
				t.Fatalf("%s: got no Problem and no Geometry", af.Ref)
			}
			for _, poly := range af.Geometry {
				if len(poly) == 0 {
					t.Fatalf("%s: got a polygon without rings", af.Ref)
				}
				for _, ring := range poly {
					if len(ring) < 4 || ring[0] != ring[len(ring)-1] {
						t.Fatalf("%s: got ring %v, want closed with at least 4 positions", af.Ref, ring)
					}
					for _, p := range ring {
						if checkLonLat(p) != "" {
							t.Fatalf("%s: got position %v out of range", af.Ref, p)
						}
					}
				}
			}
		}
	})
}

func FuzzReadGeoJSONRoads(f *testing.F) {
	seeds := []string{
		fc(lineA),
		fc(multiLine),
		fc(lineA, multiLine, polygonSq),
		fc(`{"type":"Feature","properties":{"highway":"construction"},"geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}}`),
		fc(`{"type":"Feature","properties":{"class":"path","name":"a\u0000b"},"geometry":{"type":"LineString","coordinates":[[5,5],[5,6]]}}`),
		fc(`{"type":"Feature","properties":{"class":"minor"},"geometry":{"type":"MultiLineString","coordinates":[[null],[[1,2]],[]]}}`),
		fc(`{"type":"Feature","properties":{"class":"major"},"geometry":{"type":"LineString","coordinates":[[1e400,0],[0,-0],[181,1]]}}`),
		fc(`{"type":"Feature","id":"a\u0000b","properties":{"class":"minor"},"geometry":{"type":"LineString","coordinates":[[1,1],[2,2]]}}`),
		fc(`{"type":"Feature","properties":{"class":["minor"],"name":7},"geometry":{"type":"LineString","coordinates":[[1,1],[1,1],[1,1]]}}`),
		`{"type":"FeatureCollection","features":[`,
		"\xEF\xBB\xBF" + fc(lineA),
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		roads, rep, err := ReadGeoJSONRoads(bytes.NewReader(data), RoadOptions{Source: "fuzz"})
		if err != nil {
			var ge *geo.Error
			if !errors.As(err, &ge) || ge.Code != geo.EInvalid {
				t.Fatalf("got error %v, want a *geo.Error EInvalid", err)
			}
			return
		}
		if rep.Read < len(rep.Rejected)+rep.Skipped {
			t.Fatalf("got read %d < rejected %d + skipped %d", rep.Read, len(rep.Rejected), rep.Skipped)
		}
		for _, r := range roads {
			if _, ok := geo.ParseRoadClass(string(r.Class)); !ok {
				t.Fatalf("road %s: class %q", r.Ref, r.Class)
			}
			if err := geo.CheckText("name", r.Name, geo.MaxRoadName); err != nil {
				t.Fatalf("road %s: %v", r.Ref, err)
			}
			if err := geo.CheckText("ref", r.Ref, geo.MaxRoadRef); err != nil || r.Ref == "" {
				t.Fatalf("road %q: ref %v", r.Ref, err)
			}
			if len(r.Line) < 2 {
				t.Fatalf("road %s: %d positions, want ≥ 2", r.Ref, len(r.Line))
			}
			for i, p := range r.Line {
				if checkLonLat(p) != "" || (i > 0 && p == r.Line[i-1]) {
					t.Fatalf("road %s: position %d %v out of range or repeated", r.Ref, i, p)
				}
			}
		}
	})
}
