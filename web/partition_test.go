package web_test

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"github.com/paulmach/orb/planar"

	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/geo"
	"gridmap/web"
)

// cjk matches a Chinese character.
var cjk = regexp.MustCompile(`\p{Han}`)

// pointXY is a page coordinate for a click.
type pointXY struct{ X, Y float64 }

// partitionMove finds, with the server's own partitioner on the same request
// as the page's, a block move the proposal accepts: a point 5 m inside grid i
// next to the middle of its border with grid j, and one 5 m inside grid j
// there.
// It returns the move and the adjusted proposal.
func partitionMove(t *testing.T, r geo.PartitionRequest) (geo.PartitionMove, [2]float64, *geo.PartitionProposal, *geo.PartitionProposal) {
	t.Helper()
	ctx := context.Background()
	ps := data.NewPartitioner(data.NewEditor(theSite.db))
	plain, err := ps.Propose(ctx, r)
	if err != nil {
		t.Fatalf("Propose: %v", err)
	}
	var geoms [][]byte
	for _, g := range plain.Grids {
		raw, err := wkb.Marshal(g.Geometry)
		if err != nil {
			t.Fatal(err)
		}
		geoms = append(geoms, raw)
	}
	rows, err := theSite.db.Pool.Query(ctx, `
WITH g AS (SELECT i - 1 AS i, ST_SetSRID(ST_GeomFromWKB(w), 4326) AS g FROM unnest($1::bytea[]) WITH ORDINALITY AS x(w, i)),
     b AS (SELECT x.i, y.i AS j, x.g, y.g AS gj, ST_GeometryN(ST_LineMerge(ST_CollectionExtract(ST_Intersection(ST_Boundary(x.g), ST_Boundary(y.g)), 2)), 1) AS l
           FROM g x JOIN g y ON x.i <> y.i AND x.g && y.g)
SELECT ST_X(p), ST_Y(p), j, ST_X(pj), ST_Y(pj)
FROM b, LATERAL (SELECT ST_ClosestPoint(ST_Buffer(b.g::geography, -5)::geometry, ST_LineInterpolatePoint(b.l, 0.5)) AS p,
                        ST_ClosestPoint(ST_Buffer(b.gj::geography, -5)::geometry, ST_LineInterpolatePoint(b.l, 0.5)) AS pj) q
WHERE b.l IS NOT NULL AND ST_Length(b.l::geography) > 30 ORDER BY i, j`, geoms)
	if err != nil {
		t.Fatal(err)
	}
	type cand struct {
		m  geo.PartitionMove
		to [2]float64
	}
	var cands []cand
	for rows.Next() {
		var c cand
		if err := rows.Scan(&c.m.Lon, &c.m.Lat, &c.m.To, &c.to[0], &c.to[1]); err != nil {
			t.Fatal(err)
		}
		cands = append(cands, c)
	}
	rows.Close()
	for _, c := range cands {
		rm := r
		rm.Moves = []geo.PartitionMove{c.m}
		adj, err := ps.Propose(ctx, rm)
		if geo.ErrorCode(err) == geo.EInvalid {
			continue // that block holds its grid together
		} else if err != nil {
			t.Fatalf("Propose with %+v: %v", c.m, err)
		}
		if adj.Preview != nil && adj.Preview.Valid {
			return c.m, c.to, plain, adj
		}
	}
	t.Fatalf("no block of the proposal's %d borders can be moved", len(cands))
	return geo.PartitionMove{}, [2]float64{}, nil, nil
}

// TestEditorPartition: 自动划分 on a community the other tests leave alone:
// propose, see the proposal on the map with its tally table and metrics,
// adjust it (a block to the neighbouring grid: two clicks on the map), see
// the tallies change, accept it; the map and the balance panel then show
// the adjusted grids, and reverting the one change restores the old grids.
func TestEditorPartition(t *testing.T) {
	const community = "330199001004"
	ctx := signIn(t)
	dbtest.RoadsOnGridBorders(t, theSite.db)
	do(t, ctx, "opening the community", chromedp.Click(chromedp.CSS(`#tree li[data-code="`+community+`"] > .node`)))
	waitFor(t, ctx, "the community and the partition panel", `window.__editor.community && window.__editor.community.code === "`+community+`" && document.querySelector("#part-propose")`)
	before := eval[[]string](t, ctx, `window.__editor.grids.features.map((f) => f.properties.code)`)
	historyBefore := eval[int](t, ctx, `document.querySelectorAll("#history-list li").length`)
	do(t, ctx, "proposing", chromedp.Click(chromedp.CSS("#part-propose")))
	waitFor(t, ctx, "the proposal", `document.querySelector("#part-table") && !document.querySelector("#part-accept").disabled`)
	waitMapIdle(t, ctx)
	n := eval[int](t, ctx, `document.querySelectorAll("#part-table tbody tr").length`)
	if n < 2 {
		t.Fatalf("the proposal has %d grids", n)
	}
	if drawn := eval[int](t, ctx, `window.__gridmap.map.querySourceFeatures("partition").length`); drawn == 0 {
		t.Fatalf("the proposal is not drawn on the map")
	}
	if s := eval[string](t, ctx, `document.querySelector("#part-metrics").textContent`); !strings.Contains(s, strconv.Itoa(n)+" 个网格") {
		t.Fatalf("metrics: %q", s)
	}
	shot(t, ctx, "editor-9-partition-proposal")

	// Adjust: the block at the move's point goes to grid move.To.
	move, to, plain, adjusted := partitionMove(t, geo.PartitionRequest{AreaCode: community, Min: 300, Max: 500, Mode: "fresh", Seed: 1})
	if len(plain.Grids) != n {
		t.Fatalf("the page shows %d grids, the same request gives %d", n, len(plain.Grids))
	}
	tally := func() []int {
		return eval[[]int](t, ctx, `[...document.querySelectorAll("#part-table tbody tr")].map((r) => Number(r.dataset.households))`)
	}
	was := tally()
	px := func(c [2]float64) pointXY {
		return eval[pointXY](t, ctx, `(() => { const m = window.__gridmap.map, r = m.getContainer().getBoundingClientRect();
			const p = m.project(m.toDisplay({type: "Point", coordinates: [`+strconv.FormatFloat(c[0], 'f', 8, 64)+`, `+strconv.FormatFloat(c[1], 'f', 8, 64)+`]}).coordinates);
			return {X: r.left + p.x, Y: r.top + p.y}; })()`)
	}
	eval[bool](t, ctx, `(window.__gridmap.map.jumpTo({center: window.__gridmap.map.toDisplay({type: "Point", coordinates: [`+
		strconv.FormatFloat((move.Lon+to[0])/2, 'f', 8, 64)+`, `+strconv.FormatFloat((move.Lat+to[1])/2, 'f', 8, 64)+`]}).coordinates, zoom: 18}), true)`)
	waitMapIdle(t, ctx)
	a := px([2]float64{move.Lon, move.Lat})
	do(t, ctx, "picking the block", chromedp.MouseClickXY(a.X, a.Y))
	waitFor(t, ctx, "the block picked", `document.querySelector("#part-hint").dataset.picked === "`+strconv.Itoa(gridOf(plain, move))+`"`)
	b := px(to)
	do(t, ctx, "giving it to the neighbouring grid", chromedp.MouseClickXY(b.X, b.Y))
	waitFor(t, ctx, "the adjusted proposal", `document.querySelector("#part-moves") && /\b1\b/.test(document.querySelector("#part-moves").textContent) && !document.querySelector("#part-accept").disabled`)
	now := tally()
	var want []int
	for _, g := range adjusted.Grids {
		want = append(want, g.Households)
	}
	if !slices.Equal(now, want) || slices.Equal(now, was) {
		t.Fatalf("tallies after the adjustment %v (before %v), want the adjusted proposal's %v", now, was, want)
	}
	if s := eval[string](t, ctx, `document.querySelector("#part-metrics").textContent`); !strings.Contains(s, strconv.Itoa(adjusted.Metrics.InRange)+" 个在户数范围内") {
		t.Errorf("metrics after the adjustment: %q, want %d in range", s, adjusted.Metrics.InRange)
	}
	if got := eval[[]int](t, ctx, `window.__gridmap.map.querySourceFeatures("partition").map((f) => f.properties.households).filter((v, i, a) => a.indexOf(v) === i).sort((x, y) => x - y)`); !slices.Contains(got, adjusted.Grids[move.To].Households) {
		t.Errorf("the map's proposal has households %v, not the adjusted grid's %d", got, adjusted.Grids[move.To].Households)
	}
	shot(t, ctx, "editor-9b-partition-adjusted")

	do(t, ctx, "accepting",
		chromedp.SendKeys(chromedp.CSS("#part-reason"), "自动划分测试"),
		chromedp.Click(chromedp.CSS("#part-accept")))
	waitFor(t, ctx, "the new grids saved", `document.querySelector("#saved") && window.__editor.grids.features.length === `+strconv.Itoa(n))
	waitFor(t, ctx, "the balance panel with the new grids", `document.querySelectorAll("#balance-table tbody tr").length === `+strconv.Itoa(n))
	after := eval[[]string](t, ctx, `window.__editor.grids.features.map((f) => f.properties.code)`)
	for _, c := range after {
		if slices.Contains(before, c) {
			t.Fatalf("grid %s is still there after a fresh partition (before %v, after %v)", c, before, after)
		}
	}
	balance := eval[[]int](t, ctx, `[...document.querySelectorAll("#balance-table tbody tr")].map((r) => Number(r.dataset.households)).sort((x, y) => x - y)`)
	slices.Sort(want)
	if !slices.Equal(balance, want) {
		t.Fatalf("the balance panel shows %v households, want the adjusted proposal's %v", balance, want)
	}
	if got := eval[int](t, ctx, `window.__gridmap.map.querySourceFeatures("partition").length`); got != 0 {
		t.Errorf("the accepted proposal is still drawn over the map (%d features)", got)
	}
	waitMapIdle(t, ctx)
	shot(t, ctx, "editor-10-partition-accepted")

	// One change: the history has one entry more, and reverting it brings
	// the old grids back.
	waitFor(t, ctx, "the partition in the history", `document.querySelectorAll("#history-list li").length === `+strconv.Itoa(historyBefore+1))
	do(t, ctx, "reverting the partition", chromedp.Click(chromedp.CSS("#history-list li:first-child button:last-child")))
	waitFor(t, ctx, "the revert panel", `document.querySelector("#revert-reason")`)
	do(t, ctx, "giving a reason", chromedp.SendKeys(chromedp.CSS("#revert-reason"), "撤回自动划分测试"), chromedp.Click(chromedp.CSS("#do-revert")))
	waitFor(t, ctx, "the old grids back", `window.__editor.grids.features.length === `+strconv.Itoa(len(before))+` && document.querySelectorAll("#history-list li").length === `+strconv.Itoa(historyBefore+2))
	restored := eval[[]string](t, ctx, `window.__editor.grids.features.map((f) => f.properties.code)`)
	slices.Sort(restored)
	slices.Sort(before)
	if !slices.Equal(restored, before) {
		t.Fatalf("after reverting the partition: grids %v, want %v", restored, before)
	}
}

// gridOf is the index of the proposed grid whose geometry covers the move's point.
func gridOf(p *geo.PartitionProposal, m geo.PartitionMove) int {
	for _, g := range p.Grids {
		if planar.MultiPolygonContains(g.Geometry, orb.Point{m.Lon, m.Lat}) {
			return g.Index
		}
	}
	return -1
}

// TestEditorPartitionReasonsFromCatalogue: a proposal that cannot meet the
// range says why in the editor's language, from the catalogue
// (admin.partition.reason.KIND with the server's numbers), not in the
// server's English message; switching to English re-renders the reasons.
func TestEditorPartitionReasonsFromCatalogue(t *testing.T) {
	const community = "330199001004"
	cat, err := web.LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	dbtest.RoadsOnGridBorders(t, theSite.db)
	// A range the community's households cannot meet: the same request as
	// the page's, to know the reasons it must show.
	ps := data.NewPartitioner(data.NewEditor(theSite.db))
	var r geo.PartitionRequest
	var reasons []geo.PartitionReason
	for _, rg := range [][2]int{{5000, 5100}, {10, 20}} {
		r = geo.PartitionRequest{AreaCode: community, Min: rg[0], Max: rg[1], Mode: "fresh", Seed: 1}
		p, err := ps.Plan(context.Background(), r)
		if err != nil {
			t.Fatalf("Plan %+v: %v", r, err)
		}
		if len(p.Reasons) > 0 {
			reasons = p.Reasons
			break
		}
	}
	if len(reasons) == 0 {
		t.Fatal("no range gives the community a reason to show")
	}
	t.Logf("range %d–%d: %d reason(s), the first %s", r.Min, r.Max, len(reasons), reasons[0].Kind)
	fill := func(lang string, rs geo.PartitionReason) string {
		msg, ok := cat[lang]["admin.partition.reason."+rs.Kind]
		if !ok {
			t.Fatalf("the %s catalogue lacks admin.partition.reason.%s", lang, rs.Kind)
		}
		for k, v := range rs.Params {
			msg = strings.ReplaceAll(msg, "{"+k+"}", strconv.Itoa(v))
		}
		return msg
	}
	shown := func(ctx context.Context) []string {
		return eval[[]string](t, ctx, `[...document.querySelectorAll("#part-result .reason")].map((e) => e.textContent)`)
	}
	ctx := signIn(t)
	t.Cleanup(func() { // the other tests expect the default language
		eval[bool](t, ctx, `(localStorage.removeItem("gridmap.lang"), document.cookie = "gridmap_lang=; path=/; max-age=0", true)`)
	})
	do(t, ctx, "opening the community", chromedp.Click(chromedp.CSS(`#tree li[data-code="`+community+`"] > .node`)))
	waitFor(t, ctx, "the partition panel", `window.__editor.community && window.__editor.community.code === "`+community+`" && document.querySelector("#part-propose")`)
	do(t, ctx, "setting the range",
		chromedp.SetValue(chromedp.CSS("#part-min"), strconv.Itoa(r.Min)),
		chromedp.SetValue(chromedp.CSS("#part-max"), strconv.Itoa(r.Max)),
		chromedp.Click(chromedp.CSS("#part-propose")))
	waitFor(t, ctx, "the reasons", `document.querySelectorAll("#part-result .reason").length === `+strconv.Itoa(len(reasons)))
	check := func(lang string) {
		t.Helper()
		got := shown(ctx)
		for i, rs := range reasons {
			if want := fill(lang, rs); got[i] != want {
				t.Errorf("%s reason %d (%s): the page shows %q, want the catalogue's %q", lang, i, rs.Kind, got[i], want)
			}
			if got[i] == rs.Message {
				t.Errorf("%s reason %d shows the server's English message %q", lang, i, rs.Message)
			}
		}
	}
	check("zh-CN")
	for _, s := range shown(ctx) {
		if !cjk.MatchString(s) {
			t.Errorf("the Chinese editor shows a reason without Chinese: %q", s)
		}
	}
	shot(t, ctx, "editor-9c-partition-reasons")
	do(t, ctx, "switching to English", chromedp.Click(chromedp.CSS("#lang")))
	waitFor(t, ctx, "the English page", `document.documentElement.lang === "en"`)
	check("en")
	do(t, ctx, "switching back", chromedp.Click(chromedp.CSS("#lang")))
	waitFor(t, ctx, "the Chinese page", `document.documentElement.lang === "zh-CN"`)
}
