package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/paulmach/orb"

	"gridmap/cases"
)

// staffAPI is a staff account signed in to the HTTP API (cookie and CSRF token).
type staffAPI struct {
	base string // the server's URL
	hc   *http.Client
	csrf string
}

func signInAPI(t *testing.T, name, password string) *staffAPI {
	t.Helper()
	return signInAPIAt(t, theSite.URL, name, password)
}

// signInAPIAt signs in to the API of the server at base (another server on
// the test site's database: serverWithDeps).
func signInAPIAt(t *testing.T, base, name, password string) *staffAPI {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	s := &staffAPI{base: base, hc: &http.Client{Jar: jar}}
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	s.call(t, "POST", "/api/v1/login", "application/json", map[string]string{"name": name, "password": password}, &out)
	s.csrf = out.CSRF
	return s
}

// call sends body (JSON, or raw bytes with its content type) and decodes a 2xx answer into out.
func (s *staffAPI) call(t *testing.T, method, path, ctype string, body, out any) {
	t.Helper()
	var rd io.Reader
	if b, ok := body.([]byte); ok {
		rd = bytes.NewReader(b)
	} else if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.base+path, rd)
	req.Header.Set("Content-Type", ctype)
	if s.csrf != "" {
		req.Header.Set("X-CSRF-Token", s.csrf)
	}
	res, err := s.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// act runs action on case id at its current version through the API.
func (s *staffAPI) act(t *testing.T, id int64, req map[string]any) {
	t.Helper()
	var rec cases.Record
	s.call(t, "GET", fmt.Sprintf("/api/v1/cases/%d", id), "", nil, &rec)
	req["version"] = rec.Version
	s.call(t, "POST", fmt.Sprintf("/api/v1/cases/%d/actions", id), "application/json", req, nil)
}

// deskAcceptAndDispatchUI is the desk's first step of the flow on
// /admin/cases: case-desk finds the case by its tracking code, registers it
// (立案) and dispatches it to the unit the routing suggests (the first
// choice), each through its button and #confirm-action.
func deskAcceptAndDispatchUI(t *testing.T, code string, id int64) {
	t.Helper()
	ctx := openDesk(t, "case-desk", "case-desk-password")
	deskFilterText(t, ctx, code)
	deskOpen(t, ctx, id)
	deskAct(t, ctx, "accept", cases.StateAccepted)
	deskAct(t, ctx, "dispatch", cases.StateDispatched)
	shot(t, ctx, "flow-3-desk-dispatched")
}

// deskVerifyAndClose is the desk's last step of the flow on /admin/cases:
// the on-site check (核查, which the state machine gives the grid worker
// role: the site's second grid worker, case-worker, checks it with a photo
// through the desk), then 结案 by the desk account with a note for the
// resident.
func deskVerifyAndClose(t *testing.T, code string, id int64) {
	t.Helper()
	verifier := openDesk(t, "case-worker", "case-worker-password")
	deskFilterText(t, verifier, code)
	deskOpen(t, verifier, id)
	deskAct(t, verifier, "verify", cases.StateVerified, chromedp.SetUploadFiles(chromedp.CSS("#act-photo"), []string{photoFile(t)}))
	desk := openDesk(t, "case-desk", "case-desk-password")
	deskFilterText(t, desk, code)
	deskOpen(t, desk, id)
	deskAct(t, desk, "close", cases.StateClosed, chromedp.SendKeys(chromedp.CSS("#act-note"), "经核查已清理，结案"))
	if n := eval[int](t, desk, `document.querySelectorAll("#detail-photos img").length`); n < 2 {
		t.Errorf("the closed case's detail shows %d photos, want the worker's and the check's", n)
	}
	shot(t, desk, "flow-4-desk-closed")
}

// TestCaseFlowEndToEnd: a resident reports a problem with a photo at a demo
// address through the resident page; the grid worker of that grid (a
// second browser context, on /work) sees it first in the worklist; the desk
// registers and dispatches it on /admin/cases; the worker signs for it and
// hands it in with a photo; the desk verifies and closes it there; the
// resident's /c/{code} shows it closed and takes a rating. Screenshots of
// each step go to artifacts/.
func TestCaseFlowEndToEnd(t *testing.T) {
	const address = "复兴路2号1栋"
	var b orb.Point
	p := &patrol{password: "patrol-password-1"}
	if err := theSite.db.Pool.QueryRow(context.Background(), `
SELECT ST_X(b.geom), ST_Y(b.geom), g.code, c.code FROM building b
JOIN area_version v ON v.valid_to IS NULL AND ST_Contains(v.geom, b.geom) JOIN area g ON g.id = v.area_id AND g.level = 'grid'
JOIN area c ON c.id = g.parent_id WHERE b.address = $1`, address).Scan(&b[0], &b[1], &p.grid, &p.comm); err != nil {
		t.Fatal(err)
	}
	p.lon, p.lat = b[0], b[1]
	p.join(t)

	// 1. The resident reports it with a photo.
	resident := tab(t, 360, 740)
	do(t, resident, "opening the lookup", chromedp.Navigate(theSite.URL+"/?address="+address))
	waitFor(t, resident, "the result", `document.querySelector("#result").dataset.state === "found" && !!document.querySelector("#report-open")`)
	do(t, resident, "opening 我要报事", chromedp.Click(chromedp.CSS("#report-open")))
	waitFor(t, resident, "the form", `document.querySelectorAll("#report-cats button").length >= 8`)
	do(t, resident, "filling the form", chromedp.Click(chromedp.CSS(`#report-cats button[data-code="exposed_rubbish"]`)),
		chromedp.SendKeys(chromedp.CSS("#report-desc"), "单元门口堆了一周的垃圾"),
		chromedp.SetUploadFiles(chromedp.CSS("#report-photo"), []string{photoFile(t)}))
	waitFor(t, resident, "the photo's thumbnail", `document.querySelectorAll("#report-thumbs li").length === 1`)
	do(t, resident, "sending", chromedp.Click(chromedp.CSS("#report-send")))
	waitFor(t, resident, "the tracking code", `!!document.querySelector("#report-code")`)
	shot(t, resident, "flow-1-resident-reported")
	code := eval[string](t, resident, `document.querySelector("#report-code").textContent`)
	id := theCases.caseID(t, code)

	// 2. The grid worker sees it first in the worklist.
	worker := p.open(t, &b)
	list := worklist(t, worker)
	if len(list) == 0 || list[0].ID != fmt.Sprint(id) || !strings.Contains(list[0].Text, "单元门口") && !strings.Contains(list[0].Text, address) {
		t.Fatalf("the worker's worklist %+v, want the new case %d first", list, id)
	}
	shot(t, worker, "flow-2-worker-worklist")

	// 3. The desk registers and dispatches it; the worker signs for it and hands it in with a photo.
	deskAcceptAndDispatchUI(t, code, id)
	// A fresh /work tab: each tab has 90 s, and the desk's steps ran meanwhile.
	worker = p.open(t, &b)
	do(t, worker, "opening the case", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#worklist li[data-id="%d"] a`, id))))
	caseState(t, worker, "dispatched")
	actOnCase(t, worker, "start")
	caseState(t, worker, "in_progress")
	actOnCase(t, worker, "handle", chromedp.SetUploadFiles(chromedp.CSS("#act-photo"), []string{photoFile(t)}),
		chromedp.SendKeys(chromedp.CSS("#act-note"), "已清运"))
	caseState(t, worker, "handled")
	shot(t, worker, "flow-3-worker-handed-in")

	// 4. The desk verifies and closes it.
	deskVerifyAndClose(t, code, id)

	// 5. The resident's page shows it closed and takes a rating (a fresh tab
	// with the tracking code: the first one's 90 s went by during the desk's steps).
	resident = tab(t, 360, 740)
	do(t, resident, "opening the tracking page", chromedp.Navigate(theSite.URL+"/c/"+code))
	waitFor(t, resident, "the closed case with its rating form", `document.querySelector("#case-state").dataset.state === "closed" && !!document.querySelector("#rate")`)
	if tl := eval[string](t, resident, `document.querySelector("#timeline").textContent`); !strings.Contains(tl, "已清运") || !strings.Contains(tl, "结案") {
		t.Errorf("the resident's timeline lacks the worker's public note or the closing: %q", tl)
	}
	shot(t, resident, "flow-4-resident-closed")
	do(t, resident, "rating 4", chromedp.Click(chromedp.CSS(`#rate input[value="4"]`)), chromedp.Click(chromedp.CSS(`#rate button[type=submit]`)))
	waitFor(t, resident, "the rated case", `document.querySelector("#case-state") && document.querySelector("#case-state").dataset.state === "rated"`)
	shot(t, resident, "flow-5-resident-rated")
	if pub := trackJSON(t, code); pub.State != cases.StateRated || !pub.Rated {
		t.Errorf("after rating: %+v", pub)
	}
	rec, err := theCases.store.Case(context.Background(), theCases.desk, id)
	if err != nil {
		t.Fatal(err)
	}
	var by []string
	for _, e := range rec.Events {
		by = append(by, e.Action+":"+e.ActorName)
	}
	if got, want := strings.Join(by, " "), "report: accept:case-desk dispatch:case-desk start:"+p.name+" handle:"+p.name+" verify:case-worker close:case-desk rate:"; got != want {
		t.Errorf("the case's history %s, want %s", got, want)
	}
}
