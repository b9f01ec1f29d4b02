package api_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"

	"gridmap/cases"
)

// TestCaseListDeskFilters pins the dispatch desk's filters of GET
// /api/v1/cases (issue 11): tier, free text (description, address, tracking
// code typed with its hyphen), the counts per state without the state filter,
// and the dispatch choices of a single case with the routing's first.
func TestCaseListDeskFilters(t *testing.T) {
	f := newCaseAPI(t, "api_cases_desk")
	anon := f.login(t, "")
	intake := func(category, description, address string) cases.IntakeResult {
		t.Helper()
		status, body := anon.do(t, "POST", "/api/v1/cases", map[string]any{"category": category, "lon": f.lon, "lat": f.lat,
			"description": description, "address": address})
		if status != http.StatusCreated {
			t.Fatalf("intake: %d %s", status, body)
		}
		return decode[cases.IntakeResult](t, body)
	}
	rubbish := intake("exposed_rubbish", "小区门口有一堆建筑垃圾", "幸福路1号")
	poster := intake("illegal_posters", "电线杆上贴满小广告", "光明街8号")
	ad := intake("illegal_outdoor_ad", "楼顶违规广告牌 Sign", "幸福路20号")
	disp := f.login(t, "dispatcher")
	list := func(q string) cases.Page {
		t.Helper()
		status, body := disp.do(t, "GET", "/api/v1/cases?"+q, nil)
		if status != 200 {
			t.Fatalf("GET /cases?%s: %d %s", q, status, body)
		}
		return decode[cases.Page](t, body)
	}
	codes := func(p cases.Page) string {
		var out []string
		for _, c := range p.Cases {
			out = append(out, c.TrackingCode)
		}
		return strings.Join(out, ",")
	}
	// Accept the rubbish case: two states to count.
	rec := list("q=" + url.QueryEscape(rubbish.TrackingCode)).Cases
	if len(rec) != 1 {
		t.Fatalf("the rubbish case by its code: %v", rec)
	}
	if status, body := disp.do(t, "POST", fmt.Sprintf("/api/v1/cases/%d/actions", rec[0].ID), map[string]any{"action": "accept", "version": 1}); status != 200 {
		t.Fatalf("accept: %d %s", status, body)
	}

	for _, c := range []struct {
		name, q, want string
	}{
		{"a word of the description", "q=" + url.QueryEscape("小广告"), poster.TrackingCode},
		{"a word of the address", "q=" + url.QueryEscape("幸福路"), ad.TrackingCode + "," + rubbish.TrackingCode},
		{"latin text in any case", "q=sign", ad.TrackingCode},
		{"tracking code with hyphen, lower case", "q=" + strings.ToLower(cases.FormatTrackingCode(poster.TrackingCode)), poster.TrackingCode},
		{"part of a tracking code", "q=" + ad.TrackingCode[2:8], ad.TrackingCode},
		{"a LIKE wildcard is a plain character", "q=" + url.QueryEscape("%%"), ""},
		{"tier", "tier=2", ad.TrackingCode},
		{"category", "category=illegal_posters", poster.TrackingCode},
		{"state", "status=accepted", rubbish.TrackingCode},
		{"text and state", "status=reported&q=" + url.QueryEscape("幸福路"), ad.TrackingCode},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := codes(list(c.q)); got != c.want {
				t.Errorf("GET /cases?%s: %s, want %s", c.q, got, c.want)
			}
		})
	}

	t.Run("counts leave out the state filter", func(t *testing.T) {
		p := list("status=accepted&counts=true")
		if got, want := fmt.Sprint(p.Counts), "map[accepted:1 reported:2]"; got != want || len(p.Cases) != 1 {
			t.Errorf("counts: %s (%d rows), want %s and 1 row", got, len(p.Cases), want)
		}
		p = list("q=" + url.QueryEscape("幸福路") + "&counts=true&limit=1")
		if got, want := fmt.Sprint(p.Counts), "map[accepted:1 reported:1]"; got != want || p.Next == "" {
			t.Errorf("counts with text and paging: %s next %q, want %s and a next page", got, p.Next, want)
		}
		if p := list("status=reported"); p.Counts != nil {
			t.Errorf("counts without counts=true: %v", p.Counts)
		}
	})

	t.Run("the outsider's counts are of its area", func(t *testing.T) {
		status, body := f.login(t, "outsider").do(t, "GET", "/api/v1/cases?counts=true", nil)
		if p := decode[cases.Page](t, body); status != 200 || len(p.Cases) != 0 || len(p.Counts) != 0 {
			t.Errorf("outsider: %d %s, want no cases and no counts", status, body)
		}
	})

	t.Run("bad desk params are 400", func(t *testing.T) {
		for _, q := range []string{"tier=5", "tier=0", "tier=two", "q=x", "counts=maybe", "from=2026-13-01", "to=tomorrow"} {
			if status, body := disp.do(t, "GET", "/api/v1/cases?"+q, nil); status != 400 {
				t.Errorf("GET /cases?%s: %d %s, want 400", q, status, body)
			}
		}
	})

	t.Run("dispatch choices start with the routing's unit", func(t *testing.T) {
		path := fmt.Sprintf("/api/v1/cases/%d", rec[0].ID)
		status, body := disp.do(t, "GET", path, nil)
		one := decode[cases.Record](t, body)
		if status != 200 || len(one.DispatchUnits) < 2 {
			t.Fatalf("GET %s: %d %s, want two dispatch units", path, status, body)
		}
		status, body = disp.do(t, "POST", path+"/actions", map[string]any{"action": "dispatch", "version": one.Version})
		after := decode[cases.Record](t, body)
		if status != 200 || after.Unit == nil || after.Unit.ID != one.DispatchUnits[0].ID {
			t.Errorf("dispatch without to_unit: %d %s, want unit %d (the first choice)", status, body, one.DispatchUnits[0].ID)
		}
		if status, body := disp.do(t, "GET", path, nil); status != 200 || decode[cases.Record](t, body).DispatchUnits != nil {
			t.Errorf("a dispatched case offers dispatch units: %s", body)
		}
	})

	// tile reads the cases layer's tile at zoom z over the cases, with query q.
	tile := func(z uint32, q string) (int, mvt.Layers) {
		t.Helper()
		tl := maptile.At(orb.Point{f.lon, f.lat}, maptile.Zoom(z))
		req, _ := http.NewRequest("GET", f.srv.URL+fmt.Sprintf("/tiles/cases/%d/%d/%d.mvt?%s", tl.Z, tl.X, tl.Y, q), nil)
		resp, err := disp.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return resp.StatusCode, nil
		}
		layers, err := mvt.Unmarshal(b)
		if err != nil {
			t.Fatalf("z%d?%s: %v", z, q, err)
		}
		return resp.StatusCode, layers
	}
	t.Run("the cases layer clusters below z15", func(t *testing.T) {
		for _, c := range []struct {
			z    uint32
			want string
		}{{12, "1 features: count=3 state=mixed overdue=false id=<nil>"}, {15, "3 features"}} {
			status, layers := tile(c.z, "")
			if status != 200 {
				t.Fatalf("z%d: %d", c.z, status)
			}
			var got string
			for _, l := range layers {
				got = fmt.Sprintf("%d features", len(l.Features))
				if c.z < 15 && len(l.Features) == 1 {
					p := l.Features[0].Properties
					got += fmt.Sprintf(": count=%v state=%v overdue=%v id=%v", p["count"], p["state"], p["overdue"], p["id"])
				}
			}
			if got != c.want {
				t.Errorf("cases tile at z%d: %s, want %s", c.z, got, c.want)
			}
		}
	})

	t.Run("the cases layer follows the list's filter", func(t *testing.T) {
		// Each filter's tile (points at z15, a cluster at z12) holds the
		// cases the list gives for the same filter, and only those.
		for _, q := range []string{"category=illegal_posters", "q=" + url.QueryEscape("幸福路"), "status=accepted",
			"status=reported&q=" + url.QueryEscape("广告"), "tier=1", "overdue=true"} {
			want := codes(list(q))
			for _, z := range []uint32{15, 12} {
				status, layers := tile(z, q)
				if status != 200 {
					t.Fatalf("z%d?%s: %d", z, q, status)
				}
				var got []string
				n := 0
				for _, l := range layers {
					for _, ft := range l.Features {
						if c, ok := ft.Properties["code"].(string); ok {
							got = append(got, c)
						}
						if c, ok := ft.Properties["count"].(float64); ok {
							n += int(c)
						} else {
							n++
						}
					}
				}
				wantN := len(list(q).Cases)
				if z == 12 && wantN > 1 {
					got = nil // a cluster names no case: its count must match
					want = ""
				}
				sort.Strings(got)
				if g := strings.Join(got, ","); g != sortedCodes(strings.ReplaceAll(want, "-", "")) || n != wantN {
					t.Errorf("tile z%d?%s: %d cases %q, want %d %q", z, q, n, g, wantN, want)
				}
			}
		}
		for _, q := range []string{"tier=9", "status=bogus", "overdue=maybe", "from=yesterday", "q=x", "assigned=you"} {
			if status, _ := tile(15, q); status != http.StatusBadRequest {
				t.Errorf("tile ?%s: %d, want 400", q, status)
			}
		}
	})
}

func sortedCodes(s string) string {
	if s == "" {
		return ""
	}
	p := strings.Split(s, ",")
	sort.Strings(p)
	return strings.Join(p, ",")
}
