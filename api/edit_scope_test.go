package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"gridmap/api"
)

// TestEditorRevertsOwnSplitAtCommunityBorder pins an editor unable to
// revert its own change (403): a split at the community border gave
// vertices to areas outside the editor's scope, and the handler checked
// every area of the change against the scope. Now the service lets
// whoever may revert a change undo its geometry-keeping vertex insertions.
func TestEditorRevertsOwnSplitAtCommunityBorder(t *testing.T) {
	f := newEditFixture(t, "api_edit_scope", api.Config{})
	var grid, version int64
	var mx, my, cx, cy float64
	if err := f.db.Pool.QueryRow(context.Background(), `
		WITH g AS (SELECT a.id, a.code, a.parent_id, v.id AS version, v.geom FROM area a
		           JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL WHERE a.level = 'grid'),
		     s AS (SELECT x.id, x.version, ST_PointOnSurface(x.geom) AS c,
		                  ST_GeometryN(ST_LineMerge(ST_CollectionExtract(ST_Intersection(ST_Boundary(x.geom), ST_Boundary(y.geom)), 2)), 1) AS l
		           FROM g x JOIN g y ON x.parent_id <> y.parent_id AND x.geom && y.geom
		           WHERE x.parent_id = (SELECT id FROM area WHERE code = $1))
		SELECT id, version, ST_X(ST_LineInterpolatePoint(l, 0.5)), ST_Y(ST_LineInterpolatePoint(l, 0.5)), ST_X(c), ST_Y(c)
		FROM s WHERE l IS NOT NULL AND ST_Length(l::geography) > 60 ORDER BY id LIMIT 1`, f.comm.Code).Scan(&grid, &version, &mx, &my, &cx, &cy); err != nil {
		t.Fatal(err)
	}
	dx, dy := mx-cx, my-cy
	n := max(dx, -dx) + max(dy, -dy)
	line := map[string]any{"type": "LineString", "coordinates": [][2]float64{
		{mx + dx/n*3/111000, my + dy/n*3/111000}, {cx, cy}, {cx - 2*dx, cy - 2*dy}}}
	ed := f.login(t, "editor")
	status, body := ed.do(t, "POST", "/api/v1/edits", map[string]any{"op": "split", "areas": []map[string]int64{{"id": grid, "version": version}}, "line": line, "reason": "split at the border"})
	if status != 200 {
		t.Fatalf("split: %d %s", status, body)
	}
	var res struct {
		ChangeID int64 `json:"change_id"`
		Versions []struct {
			ID int64 `json:"id"`
		} `json:"versions"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	var outside int
	ids := make([]int64, len(res.Versions))
	for i, v := range res.Versions {
		ids[i] = v.ID
	}
	if err := f.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM area WHERE id = ANY($1) AND parent_id IS DISTINCT FROM (SELECT id FROM area WHERE code = $2)`, ids, f.comm.Code).Scan(&outside); err != nil {
		t.Fatal(err)
	}
	if outside == 0 {
		t.Fatalf("the split changed nothing outside community %s: the test needs one that does", f.comm.Code)
	}
	status, body = ed.do(t, "POST", fmt.Sprintf("/api/v1/changes/%d/revert", res.ChangeID), map[string]any{"reason": "undo"})
	if status != 200 {
		t.Errorf("the editor reverting its own split (which gave %d areas outside its scope a vertex): %d %s, want 200", outside, status, body)
	}
}
