package web_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/paulmach/orb"

	"gridmap/geo"
)

// searchAddress clears the box, types q and presses Enter, and waits until
// the result is no longer being searched.
func searchAddress(t *testing.T, ctx context.Context, q string) string {
	t.Helper()
	eval[bool](t, ctx, `(document.querySelector("#address").value = "", true)`)
	do(t, ctx, "searching "+q, chromedp.SendKeys(chromedp.CSS("#address"), q+"\n"))
	waitFor(t, ctx, "the answer to "+q, `new URLSearchParams(location.search).get("address") === `+strconv.Quote(q)+
		` && !["searching", undefined].includes(document.querySelector("#result").dataset.state)`)
	return eval[string](t, ctx, `document.querySelector("#result").dataset.state`)
}

// The page answered a house number that does not exist (人民路13号) with
// another building's grid and grid leader, and said nothing of the guess.
func TestResidentNonexistentNumberAsksDidYouMean(t *testing.T) {
	ctx := tab(t, 420, 860)
	do(t, ctx, "opening /", chromedp.Navigate(theSite.URL+"/"))
	waitMapIdle(t, ctx)
	if state := searchAddress(t, ctx, "人民路13号"); state != "did-you-mean" {
		t.Fatalf("result state %q, want did-you-mean", state)
	}
	shot(t, ctx, "resident-6-did-you-mean")
	if msg := eval[string](t, ctx, `document.querySelector("#did-you-mean").textContent`); !strings.Contains(msg, "您要找的是不是") {
		t.Errorf("message %q, want it to ask 您要找的是不是", msg)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#result .person, #grid-name").length`); n != 0 {
		t.Errorf("%d grid or person elements shown for a guess, want none", n)
	}
	cands := eval[[]string](t, ctx, `[...document.querySelectorAll("#candidates button")].map(b => b.dataset.address)`)
	if len(cands) == 0 || slices.Contains(cands, "人民路13号") {
		t.Fatalf("candidate buttons %v, want some, none of them the address asked", cands)
	}
	// A tap on a candidate answers it.
	do(t, ctx, "choosing a candidate", chromedp.Click(chromedp.CSS(`#candidates button[data-address="`+cands[0]+`"]`)))
	waitFor(t, ctx, "the candidate's grid", `document.querySelector("#result").dataset.state === "found" && !!document.querySelector("#grid-name")`)
	if got := eval[string](t, ctx, `document.querySelector("#address").value`); got != cands[0] {
		t.Errorf("search box %q after choosing, want %q", got, cands[0])
	}
}

// Building and compound names were not searched (丽景苑3栋 "not found"); a
// street or compound alone silently picked one of its grids.
func TestResidentEstateNameIsFound(t *testing.T) {
	ctx := tab(t, 420, 860)
	do(t, ctx, "opening /", chromedp.Navigate(theSite.URL+"/"))
	waitMapIdle(t, ctx)

	const name = "阳光小区二期1栋" // the demo has one building of this name
	var b *geo.Building
	for i := range theSite.demo.Buildings {
		if theSite.demo.Buildings[i].Name == name {
			if b != nil {
				t.Fatalf("several buildings named %s in the demo", name)
			}
			b = &theSite.demo.Buildings[i]
		}
	}
	if b == nil {
		t.Fatalf("no building named %s in the demo", name)
	}
	want, err := theSite.deps.Lookup.LookupPoint(context.Background(), geo.LookupQuery{Point: orb.Point(b.Point)})
	if err != nil || want.Grid == nil {
		t.Fatalf("the grid of %s: %v %v", b.Address, want, err)
	}
	if state := searchAddress(t, ctx, name); state != "found" {
		t.Fatalf("result state %q for %s, want found", state, name)
	}
	if got := eval[string](t, ctx, `document.querySelector("#grid-name").firstChild.textContent`); got != want.Grid.Name {
		t.Errorf("grid of %s: got %q, want %q", name, got, want.Grid.Name)
	}

	// The compound alone lists the grids its buildings are in.
	if state := searchAddress(t, ctx, "阳光小区"); state != "street" {
		t.Fatalf("result state %q for 阳光小区, want street", state)
	}
	shot(t, ctx, "resident-7-compound-grids")
	grids := eval[[]string](t, ctx, `[...document.querySelectorAll("#street-grids li")].map(li => li.dataset.code)`)
	if len(grids) < 2 || !slices.IsSorted(grids) {
		t.Errorf("grids listed for 阳光小区: %v, want several, by code", grids)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#result .person, #grid-name").length`); n != 0 {
		t.Errorf("%d grid or person elements shown for a compound, want none", n)
	}
}

// The suggestions (a LIKE filter of /buildings) and the search (ranked
// /lookup) disagreed: 丽景苑3栋 offered 6 suggestions and Enter said not
// found; a typo found nothing to suggest and Enter answered a grid.
func TestResidentSuggestionsAgreeWithEnter(t *testing.T) {
	ctx := tab(t, 420, 860)
	do(t, ctx, "opening /", chromedp.Navigate(theSite.URL+"/"))
	waitMapIdle(t, ctx)
	for _, q := range []string{"丽景苑3栋", "人民阶11号3栋", "人民路13号", "人民街11号3栋", "火星大道9999号"} {
		t.Run(q, func(t *testing.T) {
			eval[bool](t, ctx, `(document.querySelector("#address").value = "", true)`)
			do(t, ctx, "typing "+q, chromedp.SendKeys(chromedp.CSS("#address"), q))
			waitFor(t, ctx, "the suggestions for "+q, `document.querySelector("#suggestions").dataset.answered === `+strconv.Quote(q))
			suggested := eval[[]string](t, ctx, `document.querySelector("#suggestions").hidden ? [] : [...document.querySelectorAll("#suggestions li")].map(li => li.dataset.address)`)
			do(t, ctx, "pressing Enter", chromedp.SendKeys(chromedp.CSS("#address"), "\n"))
			waitFor(t, ctx, "the answer", `new URLSearchParams(location.search).get("address") === `+strconv.Quote(q)+
				` && !["searching", undefined].includes(document.querySelector("#result").dataset.state)`)
			state := eval[string](t, ctx, `document.querySelector("#result").dataset.state`)
			switch state {
			case "not-found":
				if len(suggested) != 0 {
					t.Errorf("Enter says not found, but %v were suggested", suggested)
				}
			case "did-you-mean":
				offered := eval[[]string](t, ctx, `[...document.querySelectorAll("#candidates button")].map(b => b.dataset.address)`)
				if !slices.Equal(offered, suggested) {
					t.Errorf("Enter offers %v, the suggestions were %v", offered, suggested)
				}
			case "found":
				place := eval[string](t, ctx, `document.querySelector(".place").textContent`)
				if len(suggested) == 0 || !strings.Contains(place, suggested[0]) {
					t.Errorf("Enter found %q, the first suggestion was %v", place, suggested)
				}
			default:
				t.Errorf("result state %q", state)
			}
			if !eval[bool](t, ctx, `document.querySelector("#suggestions").hidden`) {
				t.Errorf("the suggestions are still open after Enter")
			}
		})
	}
}

// After a tap on the map the search box still showed the previous address,
// above the answer for the tapped point.
func TestResidentTapClearsTheBox(t *testing.T) {
	ctx := tab(t, 1000, 800)
	do(t, ctx, "opening /", chromedp.Navigate(theSite.URL+"/"))
	waitMapIdle(t, ctx)
	if state := searchAddress(t, ctx, "人民街11号3栋"); state != "found" {
		t.Fatalf("result state %q, want found", state)
	}
	waitMapIdle(t, ctx)
	p := eval[point](t, ctx, `(() => { const r = window.__gridmap.map.getContainer().getBoundingClientRect();
		return {X: r.left + r.width / 2, Y: r.top + r.height / 2}; })()`)
	do(t, ctx, "tapping the map", chromedp.MouseClickXY(p.X, p.Y))
	waitFor(t, ctx, "the lookup of the tapped point", `new URLSearchParams(location.search).has("lon") && !["searching", undefined].includes(document.querySelector("#result").dataset.state)`)
	if got := eval[string](t, ctx, `document.querySelector("#address").value`); got != "" {
		t.Errorf("search box after the tap: %q, want it empty", got)
	}
}

// A failed search says what failed in the page's language, from the catalogue
// by the API's error code, not in the server's English words.
func TestResidentErrorFromCatalogue(t *testing.T) {
	ctx := tab(t, 420, 860)
	const stub = `(() => {
		const real = window.fetch.bind(window);
		window.fetch = (url, opts) => String(url).includes("/api/v1/lookup?")
			? Promise.resolve(new Response(JSON.stringify({error: {code: "unavailable", message: "the server cannot reach its database; try again shortly"}}),
				{status: 503, headers: {"Content-Type": "application/json; charset=utf-8", "Retry-After": "1"}}))
			: real(url, opts);
	})()`
	do(t, ctx, "stubbing fetch", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: stub})
		return err
	}))
	do(t, ctx, "opening /", chromedp.Navigate(theSite.URL+"/"))
	if state := searchAddress(t, ctx, "人民街11号3栋"); state != "error" {
		t.Fatalf("result state %q, want error", state)
	}
	msg := eval[string](t, ctx, `document.querySelector("#result").textContent`)
	if !strings.Contains(msg, "无法访问数据库") || strings.Contains(msg, "cannot reach") {
		t.Errorf("message %q, want the catalogue's error.unavailable, not the server's English text", msg)
	}
}
