package web_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"gridmap/data/dbtest"
)

// TestEditorPartition: 自动划分 on a community the other tests leave alone:
// propose, see the proposal on the map with its tally table and metrics,
// accept it; the map and the balance panel then show the new grids.
func TestEditorPartition(t *testing.T) {
	const community = "330199001004"
	ctx := signIn(t)
	dbtest.RoadsOnGridBorders(t, theSite.db)
	do(t, ctx, "opening the community", chromedp.Click(chromedp.CSS(`#tree li[data-code="`+community+`"] > .node`)))
	waitFor(t, ctx, "the community and the partition panel", `window.__editor.community && window.__editor.community.code === "`+community+`" && document.querySelector("#part-propose")`)
	before := eval[[]string](t, ctx, `window.__editor.grids.features.map((f) => f.properties.code)`)
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
	do(t, ctx, "accepting",
		chromedp.SendKeys(chromedp.CSS("#part-reason"), "自动划分测试"),
		chromedp.Click(chromedp.CSS("#part-accept")))
	waitFor(t, ctx, "the new grids saved", `document.querySelector("#saved") && window.__editor.grids.features.length === `+strconv.Itoa(n))
	waitFor(t, ctx, "the balance panel with the new grids", `document.querySelectorAll("#balance-table tbody tr").length === `+strconv.Itoa(n))
	after := eval[[]string](t, ctx, `window.__editor.grids.features.map((f) => f.properties.code)`)
	for _, c := range after {
		for _, b := range before {
			if c == b {
				t.Fatalf("grid %s is still there after a fresh partition (before %v, after %v)", c, before, after)
			}
		}
	}
	if got := eval[int](t, ctx, `window.__gridmap.map.querySourceFeatures("partition").length`); got != 0 {
		t.Errorf("the accepted proposal is still drawn over the map (%d features)", got)
	}
	waitMapIdle(t, ctx)
	shot(t, ctx, "editor-10-partition-accepted")
}
