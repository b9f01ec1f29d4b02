package api

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"gridmap/geo"
)

func TestParseLookupParams(t *testing.T) {
	for _, tc := range []struct {
		name, query string
		wantErr     string // substring of the message; "" means success
	}{
		{"point", "lon=120.1&lat=30.2", ""},
		{"address", "address=幸福路12号", ""},
		{"gcj02", "lon=120.1&lat=30.2&crs=gcj02", ""},
		{"as of date", "lon=120.1&lat=30.2&at=2025-03-01", ""},
		{"lat out of range", "lon=120&lat=123.4", "lat must be between -90 and 90, got 123.4"},
		{"lon out of range", "lon=200&lat=30", "lon must be between -180 and 180, got 200"},
		{"lon not a number", "lon=abc&lat=30", `lon must be a number in degrees, got "abc"`},
		{"NaN", "lon=NaN&lat=30", "lon must be a number"},
		{"lat missing", "lon=120", "lat is missing"},
		{"nothing", "", "give lon and lat"},
		{"both", "lon=1&lat=2&address=x", "not both"},
		{"bad crs", "lon=1&lat=2&crs=mars", "crs must be one of"},
		{"bad date", "lon=1&lat=2&at=2025-13-01", "at must be a date YYYY-MM-DD"},
		{"bad hierarchy", "lon=1&lat=2&hierarchy=DROP%20TABLE", "hierarchy must be"},
		{"bad limit", "address=x&limit=0", "limit must be"},
		{"non-UTF-8 address issue-nonutf8", "address=%ff%fe", "valid UTF-8"},
		{"address too long", "address=" + strings.Repeat("路", 201), "at most 200 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			_, err = parseLookupParams(q)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				return
			}
			if geo.ErrorCode(err) != geo.EInvalid || !strings.Contains(geo.ErrorMessage(err), tc.wantErr) {
				t.Fatalf("got %v, want invalid_argument containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestParseLookupParamsConvertsCRS(t *testing.T) {
	q := url.Values{"lon": {"120.1"}, "lat": {"30.2"}, "crs": {"gcj02"}}
	p, err := parseLookupParams(q)
	if err != nil {
		t.Fatal(err)
	}
	back := geo.WGS84ToGCJ02(*p.Point)
	if d := max(abs(back[0]-120.1), abs(back[1]-30.2)); d > 1e-7 {
		t.Errorf("GCJ-02 point not converted to WGS84: round trip off by %g°", d)
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func FuzzParseLookupParams(f *testing.F) {
	for _, s := range []string{
		"lon=120.1&lat=30.2", "address=幸福路12号", "lon=1e309&lat=0", "lon=-0&lat=-90", "lat=90.0000001&lon=0",
		"address=%ff", "crs=BD09&lon=116&lat=39", "at=2024-02-29&lon=1&lat=1", "limit=50&address=a", "lon=0x1p-2&lat=0",
		"lon=1&lat=2&lat=3", "hierarchy=admin&lon=1&lat=1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		p, err := parseLookupParams(q)
		if err != nil {
			if geo.ErrorCode(err) != geo.EInvalid || geo.ErrorMessage(err) == "" {
				t.Fatalf("error %v is not an invalid_argument with a message", err)
			}
			return
		}
		if p.Point == nil && p.Address == "" {
			t.Fatalf("accepted %q with neither point nor address", raw)
		}
		if p.Point != nil {
			if err := geo.ValidateLonLat(p.Point[0], p.Point[1]); err != nil {
				t.Fatalf("accepted %q giving an invalid point %v: %v", raw, *p.Point, err)
			}
		}
	})
}

// FuzzParseEdit: any body gets an edit request or an invalid_argument error, never a panic.
func FuzzParseEdit(f *testing.F) {
	for _, s := range []string{
		`{"op":"reshape","areas":[{"id":1,"version":2}],"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]},"reason":"x"}`,
		`{"op":"move_border","areas":[{"id":1},{"id":2}],"line":{"type":"LineString","coordinates":[[0,0],[1,1]]}}`,
		`{"op":"split","areas":[{"id":1}],"line":{"type":"Point","coordinates":[0,0]}}`,
		`{"op":"create","parent":3,"geometry":{"type":"MultiPolygon","coordinates":[]}}`,
		`{"op":"merge","areas":[{"id":-1}]}`, `{"geometry":null}`, `[]`, `{"op":1}`, "\xff", `{"line":{"type":"LineString","coordinates":[[1e999,0]]}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/api/v1/edits", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		req, err := parseEdit(r)
		if err != nil {
			if geo.ErrorCode(err) != geo.EInvalid || geo.ErrorMessage(err) == "" {
				t.Fatalf("error %v is not an invalid_argument with a message", err)
			}
			return
		}
		for _, a := range req.Areas {
			if a.ID <= 0 {
				t.Fatalf("accepted area id %d", a.ID)
			}
		}
	})
}

// FuzzParseBatch: any body gets points in range or an invalid_argument error.
func FuzzParseBatch(f *testing.F) {
	for _, s := range []string{
		`{"points":[{"lon":120,"lat":30}]}`, `{"points":[{"id":"a","lon":120,"lat":30}],"crs":"gcj02","at":"2025-01-01"}`,
		`{"points":[{"lon":120}]}`, `{"points":[]}`, `{"points":[{"lon":1e309,"lat":0}]}`, `{}`, `null`, "\xff\xfe", `{"points":[{"lon":0,"lat":-90.5}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req, err := parseBatch(strings.NewReader(body), "application/json", 1000)
		if err != nil {
			if geo.ErrorCode(err) != geo.EInvalid || geo.ErrorMessage(err) == "" {
				t.Fatalf("error %v is not an invalid_argument with a message", err)
			}
			return
		}
		for i, p := range req.Points {
			if p.Lon == nil || p.Lat == nil || geo.ValidateLonLat(*p.Lon, *p.Lat) != nil {
				t.Fatalf("accepted point %d out of range: %+v", i, p)
			}
		}
	})
}
