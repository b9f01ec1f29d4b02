package api_test

import (
	"encoding/json"
	"testing"

	"gridmap/api"
	"gridmap/data"
	"gridmap/data/dbtest"
)

// TestPartitionRoutes: editors in scope get a proposal (and can apply it),
// others are refused, bad input is a 4xx.
func TestPartitionRoutes(t *testing.T) {
	f := newEditFixture(t, "api_partition", api.Config{}, func(s *api.Server) {
		s.Partitions = data.NewPartitioner(s.Edits.(*data.Editor))
	})
	dbtest.RoadsOnGridBorders(t, f.db)
	editor, outsider, viewer := f.login(t, "editor"), f.login(t, "outsider"), f.login(t, "viewer")
	body := map[string]any{"area": f.comm.Code, "households_min": 300, "households_max": 500, "seed": 4}
	status, out := editor.do(t, "POST", "/api/v1/partitions/preview", body)
	if status != 200 {
		t.Fatalf("preview: %d %s", status, out)
	}
	var p struct {
		Grids   []map[string]any `json:"grids"`
		GeoJSON struct {
			Features []json.RawMessage `json:"features"`
		} `json:"geojson"`
		Preview struct {
			Valid bool `json:"valid"`
		} `json:"preview"`
	}
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Grids) < 2 || len(p.GeoJSON.Features) != len(p.Grids) || !p.Preview.Valid {
		t.Fatalf("proposal: %d grids, %d features, preview valid %v", len(p.Grids), len(p.GeoJSON.Features), p.Preview.Valid)
	}
	for _, c := range []struct {
		name   string
		cl     *client
		path   string
		body   map[string]any
		status int
	}{
		{"an editor of another community", outsider, "/api/v1/partitions/preview", body, 403},
		{"a viewer", viewer, "/api/v1/partitions/preview", body, 403},
		{"anonymous", f.login(t, ""), "/api/v1/partitions/preview", body, 401},
		{"unknown area", editor, "/api/v1/partitions/preview", map[string]any{"area": "999999999999", "households_min": 300, "households_max": 500}, 404},
		{"NUL in the code", editor, "/api/v1/partitions/preview", map[string]any{"area": "33\x0001"}, 400},
		{"bad mode", editor, "/api/v1/partitions/preview", map[string]any{"area": f.comm.Code, "mode": "redo"}, 400},
		{"range upside down", editor, "/api/v1/partitions/preview", map[string]any{"area": f.comm.Code, "households_min": 500, "households_max": 300}, 400},
		{"apply without a reason", editor, "/api/v1/partitions", body, 400},
		{"a move off the map", editor, "/api/v1/partitions/preview", map[string]any{"area": f.comm.Code, "households_min": 300, "households_max": 500,
			"moves": []map[string]any{{"lon": 120.1, "lat": 123.4, "to": 0}}}, 400},
		{"a move outside the area", editor, "/api/v1/partitions/preview", map[string]any{"area": f.comm.Code, "households_min": 300, "households_max": 500,
			"moves": []map[string]any{{"lon": 10, "lat": 10, "to": 0}}}, 400},
		{"a move that is not an object", editor, "/api/v1/partitions/preview", map[string]any{"area": f.comm.Code, "moves": "north"}, 400},
	} {
		if status, out := c.cl.do(t, "POST", c.path, c.body); status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, status, out, c.status)
		}
	}
	body["reason"] = "划网格"
	status, out = editor.do(t, "POST", "/api/v1/partitions", body)
	if status != 200 {
		t.Fatalf("apply: %d %s", status, out)
	}
	var res struct {
		Result struct {
			ChangeID int64 `json:"change_id"`
		} `json:"result"`
	}
	if err := json.Unmarshal(out, &res); err != nil || res.Result.ChangeID == 0 {
		t.Fatalf("apply answered %s", out)
	}
}
