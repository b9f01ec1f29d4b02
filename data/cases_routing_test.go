package data_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/cases"
	"gridmap/data"
	"gridmap/geo"
)

// qSharedBorderPoint finds two grids of the first grid's community sharing a
// border line and returns the line's midpoint, and a point 5 m from it into
// the second grid, and a vertex of the line (exactly on both boundaries).
const qSharedBorderPoint = `
WITH g AS (
    SELECT a.id, a.code, v.geom FROM area a JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
    WHERE a.level = 'grid' AND a.parent_id = $1),
pair AS (
    SELECT x.id AS a, x.code AS acode, y.id AS b, y.code AS bcode, y.geom AS bgeom,
           ST_LineMerge(ST_CollectionExtract(ST_Intersection(ST_Boundary(x.geom), ST_Boundary(y.geom)), 2)) AS line
    FROM g x JOIN g y ON x.id <> y.id AND x.geom && y.geom
    ORDER BY x.code, y.code)
SELECT a, acode, b, bcode, ST_X(m), ST_Y(m), ST_X(ST_Centroid(bgeom)), ST_Y(ST_Centroid(bgeom)), ST_X(v), ST_Y(v)
FROM (SELECT *, ST_LineInterpolatePoint(line, 0.5) AS m,
             CASE WHEN ST_NPoints(line) >= 3 THEN ST_PointN(line, (ST_NPoints(line) + 1) / 2) ELSE ST_StartPoint(line) END AS v FROM pair
      WHERE ST_GeometryType(line) = 'ST_LineString' AND ST_Length(line::geography) > 100) p
LIMIT 1`

type border struct {
	a, b         int64
	aCode, bCode string
	mid, inB, on orb.Point
}

func sharedBorder(t *testing.T, f *caseFix) border {
	t.Helper()
	var b border
	var c orb.Point
	if err := f.db.Pool.QueryRow(context.Background(), qSharedBorderPoint, f.chain[2].ID).Scan(&b.a, &b.aCode, &b.b, &b.bCode,
		&b.mid[0], &b.mid[1], &c[0], &c[1], &b.on[0], &b.on[1]); err != nil {
		t.Fatal(err)
	}
	// 5 m from the midpoint towards b's centroid.
	d := orb.Point{c[0] - b.mid[0], c[1] - b.mid[1]}
	l := (abs(d[0]) + abs(d[1]))
	b.inB = orb.Point{b.mid[0] + d[0]/l*5/111000, b.mid[1] + d[1]/l*5/111000}
	return b
}

func TestCaseRoutingOnSharedBorder(t *testing.T) {
	f := newCaseFix(t, "cases_border")
	ctx := context.Background()
	b := sharedBorder(t, f)
	look, err := data.NewLookupService(f.db).LookupPoint(ctx, geo.LookupQuery{Point: b.on})
	if err != nil {
		t.Fatal(err)
	}
	if !look.Ambiguous {
		t.Fatalf("the lookup finds the border midpoint %v unambiguous; the test needs a point on the border", b.on)
	}
	res := f.intake(t, f.users["dispatcher"], cases.Intake{Point: b.on, Category: "illegal_posters"})
	rec := res.Record
	if !rec.Ambiguous || rec.Areas[len(rec.Areas)-1].ID != look.Grid.ID {
		t.Errorf("intake on the border: grid %v ambiguous %v; want the lookup's grid %s, ambiguous", rec.Areas[len(rec.Areas)-1], rec.Ambiguous, look.Grid.Code)
	}
	in := f.intake(t, f.users["dispatcher"], cases.Intake{Point: b.inB, Category: "illegal_posters"}).Record
	if in.Ambiguous || in.Areas[len(in.Areas)-1].ID != b.b {
		t.Errorf("intake 5 m inside %s: grid %v ambiguous %v", b.bCode, in.Areas[len(in.Areas)-1], in.Ambiguous)
	}
}

// moveAround gives the piece of grid from within r metres of p to grid to, as
// a boundary edit would: new versions of both, one change, change_area rows.
const qMovePiece = `
WITH ch AS (INSERT INTO change (author, operation, reason) VALUES ('test', 'reshape', 'case re-routing test') RETURNING id),
piece AS (SELECT ST_Intersection(v.geom, ST_Buffer($3::geography, $4)::geometry) AS g FROM area_version v WHERE v.area_id = $1 AND v.valid_to IS NULL),
olds AS (
    UPDATE area_version v SET valid_to = now() FROM ch WHERE v.area_id IN ($1, $2) AND v.valid_to IS NULL
    RETURNING v.id, v.area_id, v.geom),
news AS (
    INSERT INTO area_version (area_id, geom, valid_from, change_id)
    SELECT o.area_id, ST_Multi(ST_CollectionExtract(ST_MakeValid(CASE WHEN o.area_id = $1 THEN ST_Difference(o.geom, piece.g)
                                                              ELSE ST_Union(o.geom, piece.g) END), 3)), now(), ch.id
    FROM olds o, piece, ch
    RETURNING id, area_id, change_id)
INSERT INTO change_area (change_id, area_id, before_version, after_version)
SELECT n.change_id, n.area_id, o.id, n.id FROM news n JOIN olds o ON o.area_id = n.area_id`

func TestCaseRerouteAfterBoundaryEdit(t *testing.T) {
	f := newCaseFix(t, "cases_reroute")
	ctx := context.Background()
	b := sharedBorder(t, f)
	admin := f.users["admin"]
	// Both start in grid b, 5 m from the border; one is accepted.
	waiting := f.intake(t, admin, cases.Intake{Point: b.inB, Category: "illegal_posters"}).Record
	accepted := f.intake(t, admin, cases.Intake{Point: orb.Point{b.inB[0] + 1e-6, b.inB[1]}, Category: "illegal_posters"}).Record
	f.act(t, "admin", accepted.ID, cases.ActionRequest{Action: cases.ActionAccept})
	far := f.intake(t, admin, cases.Intake{Category: "illegal_posters"}).Record // elsewhere, untouched

	movePiece(t, f, b, 20)
	f.clock.Add(2 * time.Minute)
	rerouted, flagged, err := f.store.RerouteAfterChanges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rerouted != 1 || flagged != 1 {
		t.Fatalf("re-routed %d, flagged %d; want 1 and 1", rerouted, flagged)
	}
	w, _ := f.store.Case(ctx, admin, waiting.ID)
	if g := w.Areas[len(w.Areas)-1]; g.ID != b.a || w.Version != 2 || w.Events[len(w.Events)-1].Action != string(cases.EventReroute) {
		t.Errorf("the case not yet accepted: grid %s v%d last event %s; want %s, v2, reroute", g.Code, w.Version, w.Events[len(w.Events)-1].Action, b.aCode)
	}
	a, _ := f.store.Case(ctx, admin, accepted.ID)
	if g := a.Areas[len(a.Areas)-1]; g.ID != b.b || a.Unit == nil || a.Unit.ID != accepted.Unit.ID || a.Events[len(a.Events)-1].Action != string(cases.EventBoundaryChange) {
		t.Errorf("the accepted case: grid %s unit %+v last event %s; want it kept in %s with a boundary_changed event", g.Code, a.Unit, a.Events[len(a.Events)-1].Action, b.bCode)
	}
	x, _ := f.store.Case(ctx, admin, far.ID)
	if len(x.Events) != 1 {
		t.Errorf("a case away from the edit got events %v", x.Events)
	}
	// The cursor moved: a second run finds nothing.
	if r, fl, err := f.store.RerouteAfterChanges(ctx); err != nil || r+fl != 0 {
		t.Errorf("second run: %d, %d, %v; want nothing to do", r, fl, err)
	}
}

// movePiece hands the piece of grid b within metres of b.inB to grid a, as
// an edit does: one change, logged, in one transaction.
func movePiece(t *testing.T, f *caseFix, b border, metres float64) {
	t.Helper()
	ctx := context.Background()
	tx, err := f.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	change := beginMovePiece(t, tx, b, metres)
	if err := data.Announce(ctx, tx, geo.ChangeEvent{Change: change, Layer: geo.LayerAreas, Areas: []int64{b.a, b.b}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// beginMovePiece runs qMovePiece in tx and returns its change id.
func beginMovePiece(t *testing.T, tx pgx.Tx, b border, metres float64) int64 {
	t.Helper()
	ctx := context.Background()
	if _, err := tx.Exec(ctx, qMovePiece, b.b, b.a, geoPoint(b.inB), metres); err != nil {
		t.Fatal(err)
	}
	var change int64
	if err := tx.QueryRow(ctx, `SELECT max(change_id) FROM change_area`).Scan(&change); err != nil {
		t.Fatal(err)
	}
	return change
}

// A change whose id was taken before another's but that committed after it
// must still reach the re-route job. Reading changes by "id > last seen"
// missed it for good: the cursor had passed its id when it became visible.
// It also checks PruneChangeLog: entries the job has not read stay.
func TestCaseRerouteSeesChangeCommittedOutOfOrder(t *testing.T) {
	f := newCaseFix(t, "cases_reroute_order")
	ctx := context.Background()
	b := sharedBorder(t, f)
	admin := f.users["admin"]
	waiting := f.intake(t, admin, cases.Intake{Point: b.inB, Category: "illegal_posters"}).Record
	if _, _, err := f.store.RerouteAfterChanges(ctx); err != nil { // reads the demo's own changes
		t.Fatal(err)
	}

	slow, err := f.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback(ctx)
	slowChange := beginMovePiece(t, slow, b, 20) // takes its change id now

	fast, err := f.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Rollback(ctx)
	var fastChange int64
	if err := fast.QueryRow(ctx, `INSERT INTO change (author, operation, reason) VALUES ('test', 'person.create', 'unrelated') RETURNING id`).Scan(&fastChange); err != nil {
		t.Fatal(err)
	}
	if fastChange <= slowChange {
		t.Fatalf("change ids %d then %d, want the later one larger", slowChange, fastChange)
	}
	if err := data.Announce(ctx, fast, geo.ChangeEvent{Change: fastChange, Layer: geo.LayerAreas}); err != nil {
		t.Fatal(err)
	}
	if err := fast.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if r, fl, err := f.store.RerouteAfterChanges(ctx); err != nil || r+fl != 0 {
		t.Fatalf("after the unrelated change: %d, %d, %v; want nothing to do", r, fl, err)
	}

	if err := data.Announce(ctx, slow, geo.ChangeEvent{Change: slowChange, Layer: geo.LayerAreas, Areas: []int64{b.a, b.b}}); err != nil {
		t.Fatal(err)
	}
	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	rerouted, flagged, err := f.store.RerouteAfterChanges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rerouted != 1 || flagged != 0 {
		t.Fatalf("after the change that committed late: re-routed %d, flagged %d; want 1 and 0", rerouted, flagged)
	}
	w, _ := f.store.Case(ctx, admin, waiting.ID)
	if g := w.Areas[len(w.Areas)-1]; g.ID != b.a {
		t.Errorf("the case is in grid %s, want %s", g.Code, b.aCode)
	}

	// Pruning keeps what the job has not read, whatever its age.
	unread, err := f.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer unread.Rollback(ctx)
	var unreadChange int64
	if err := unread.QueryRow(ctx, `INSERT INTO change (author, operation, reason) VALUES ('test', 'person.create', 'unread') RETURNING id`).Scan(&unreadChange); err != nil {
		t.Fatal(err)
	}
	if err := data.Announce(ctx, unread, geo.ChangeEvent{Change: unreadChange, Layer: geo.LayerAreas}); err != nil {
		t.Fatal(err)
	}
	if err := unread.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var before int
	f.db.Pool.QueryRow(ctx, `SELECT count(*) FROM change_log`).Scan(&before)
	if n, err := f.store.PruneChangeLog(ctx, time.Now()); err != nil || n != 0 {
		t.Errorf("pruning entries younger than the retention: %d, %v; want none", n, err)
	}
	n, err := f.store.PruneChangeLog(ctx, time.Now().Add(25*time.Hour))
	if err != nil || n != before-1 {
		t.Errorf("pruned %d of %d, %v; want all but the unread one", n, before, err)
	}
	var left int64
	if err := f.db.Pool.QueryRow(ctx, `SELECT change_id FROM change_log`).Scan(&left); err != nil || left != unreadChange {
		t.Errorf("left change %d (%v), want the unread %d", left, err, unreadChange)
	}
}

func geoPoint(p orb.Point) string {
	return "SRID=4326;POINT(" + strconv.FormatFloat(p[0], 'f', -1, 64) + " " + strconv.FormatFloat(p[1], 'f', -1, 64) + ")"
}

func TestCaseRelocateAndRecategorizeReroute(t *testing.T) {
	f := newCaseFix(t, "cases_relocate")
	ctx := context.Background()
	res := f.intake(t, nil, cases.Intake{})
	id := f.caseID(t, res.TrackingCode)
	var lon, lat float64
	if err := f.db.Pool.QueryRow(ctx, `SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM area_version WHERE area_id = $1 AND valid_to IS NULL`, f.other.ID).Scan(&lon, &lat); err != nil {
		t.Fatal(err)
	}
	// The dispatcher's scope (the subdistrict) holds the other grid too.
	rec, err := f.store.Act(ctx, f.users["dispatcher"], id, cases.ActionRequest{Action: cases.ActionRelocate, Version: 1, Lon: &lon, Lat: &lat})
	if err != nil {
		t.Fatal(err)
	}
	if g := rec.Areas[len(rec.Areas)-1]; g.ID != f.other.ID || rec.Unit == nil || rec.Unit.ID != f.units["other_grid"] || rec.Version != 2 {
		t.Fatalf("after relocating: grid %s unit %+v v%d; want %s and its grid team", g.Code, rec.Unit, rec.Version, f.other.Code)
	}
	// road_cleaning is tier 1 too; manhole_cover is tier 2: the community office of the other grid's community, or above.
	rec, err = f.store.Act(ctx, f.users["dispatcher"], id, cases.ActionRequest{Action: cases.ActionRecategorize, Version: 2, Category: "manhole_cover"})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Category != "manhole_cover" || rec.Tier != cases.TierCommunity || rec.Unit == nil || rec.Unit.ID == f.units["other_grid"] {
		t.Errorf("after recategorising: %s tier %d unit %+v; want manhole_cover at tier 2 away from the grid team", rec.Category, rec.Tier, rec.Unit)
	}
	if _, err := f.store.Act(ctx, f.users["gridworker"], id, cases.ActionRequest{Action: cases.ActionRecategorize, Version: 3, Category: "road_cleaning"}); geo.ErrorCode(err) != geo.EForbidden {
		t.Errorf("a handler recategorises: %v, want forbidden", err)
	}
	if _, err := f.store.Act(ctx, f.users["dispatcher"], id, cases.ActionRequest{Action: cases.ActionRecategorize, Version: 3, Category: "no_such"}); geo.ErrorCode(err) != geo.EInvalid {
		t.Errorf("unknown category: %v, want invalid", err)
	}
}
