package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"
	"github.com/prometheus/client_golang/prometheus"

	"gridmap/api"
	"gridmap/calendar"
	"gridmap/cases"
	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/demo"
	"gridmap/geo"
)

type caseAPI struct {
	*editFixture
	lon, lat float64
	store    *data.CaseStore
}

func newCaseAPI(t *testing.T, name string) *caseAPI {
	t.Helper()
	ctx := context.Background()
	db, _, err := dbtest.Open(os.Getenv("GRIDMAP_TEST_DATABASE_URL"), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	dbtest.LoadDemo(t, db, demo.Options{})
	f := &caseAPI{editFixture: &editFixture{db: db, password: "correct horse battery"}}
	var gridID, commID int64
	var gridCode, commCode, subCode string
	if err := db.Pool.QueryRow(ctx, `
SELECT g.id, g.code, c.id, c.code, s.code, ST_X(ST_PointOnSurface(v.geom)), ST_Y(ST_PointOnSurface(v.geom))
FROM area g JOIN area c ON c.id = g.parent_id JOIN area s ON s.id = c.parent_id
JOIN area_version v ON v.area_id = g.id AND v.valid_to IS NULL
WHERE g.level = 'grid' ORDER BY g.code LIMIT 1`).Scan(&gridID, &gridCode, &commID, &commCode, &subCode, &f.lon, &f.lat); err != nil {
		t.Fatal(err)
	}
	var otherComm string
	if err := db.Pool.QueryRow(ctx, `SELECT code FROM area WHERE level = 'community' AND id <> $1 ORDER BY code LIMIT 1`, commID).Scan(&otherComm); err != nil {
		t.Fatal(err)
	}
	f.store, err = data.NewCaseStore(ctx, db, data.CaseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	auth := data.NewAuthService(db)
	users := map[string]*geo.User{}
	for _, u := range []geo.NewUser{
		{Name: "admin", Role: geo.UserAdmin},
		{Name: "dispatcher", Role: geo.UserEditor, ScopeCode: subCode},
		{Name: "worker", Role: geo.UserEditor, ScopeCode: commCode},
		{Name: "outsider", Role: geo.UserEditor, ScopeCode: otherComm},
	} {
		u.Password = f.password
		if users[u.Name], err = auth.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	gridUnit, err := f.store.CreateUnit(ctx, users["admin"], data.UnitInput{Kind: "grid_team", Name: "网格一队", AreaCode: gridCode})
	if err != nil {
		t.Fatal(err)
	}
	subUnit, err := f.store.CreateUnit(ctx, users["admin"], data.UnitInput{Kind: "subdistrict", Name: "街道指挥中心", AreaCode: subCode})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		unit int64
		user string
		role cases.Role
	}{{subUnit, "dispatcher", cases.RoleDispatcher}, {gridUnit, "worker", cases.RoleHandler}, {gridUnit, "worker", cases.RoleGridWorker}} {
		if err := f.store.AddUnitMember(ctx, users["admin"], m.unit, users[m.user].ID, m.role); err != nil {
			t.Fatal(err)
		}
	}
	s := api.NewServer(api.Config{}, api.Server{
		Lookup: data.NewLookupService(db), Areas: data.NewAreaService(db), Buildings: data.NewBuildingService(db),
		People: data.NewPersonService(db), Auth: auth, Edits: data.NewEditor(db), Cases: f.store, Ready: db.Ready,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, prometheus.NewRegistry())
	f.srv = httptest.NewServer(s)
	t.Cleanup(f.srv.Close)
	return f
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return v
}

func TestCasesAPI(t *testing.T) {
	f := newCaseAPI(t, "api_cases")
	anon := f.login(t, "")
	const phone = "13700001111"
	status, body := anon.do(t, "POST", "/api/v1/cases", map[string]any{"category": "exposed_rubbish", "lon": f.lon, "lat": f.lat,
		"description": "小区门口垃圾", "phone": phone, "address": "幸福路1号"})
	if status != http.StatusCreated {
		t.Fatalf("anonymous intake: %d %s", status, body)
	}
	if strings.Contains(string(body), phone) {
		t.Errorf("the intake answer shows the phone: %s", body)
	}
	res := decode[cases.IntakeResult](t, body)

	t.Run("categories and states", func(t *testing.T) {
		status, body := anon.do(t, "GET", "/api/v1/cases/categories", nil)
		got := decode[struct {
			Categories []struct{ Code string } `json:"categories"`
			States     []cases.State           `json:"states"`
		}](t, body)
		if status != http.StatusOK || len(got.Categories) != len(cases.DefaultCatalogue().Categories()) || fmt.Sprint(got.States) != fmt.Sprint(cases.States) {
			t.Errorf("GET /cases/categories: %d, %d categories, states %v; want %d categories and the states in order %v",
				status, len(got.Categories), got.States, len(cases.DefaultCatalogue().Categories()), cases.States)
		}
	})

	t.Run("bad input is a 4xx", func(t *testing.T) {
		for _, c := range []struct {
			name string
			body map[string]any
			want int
		}{
			{"no lon", map[string]any{"category": "exposed_rubbish", "lat": f.lat, "description": "x"}, 400},
			{"lat out of range", map[string]any{"category": "exposed_rubbish", "lon": f.lon, "lat": 123.4, "description": "x"}, 400},
			{"unknown crs", map[string]any{"category": "exposed_rubbish", "lon": f.lon, "lat": f.lat, "crs": "utm", "description": "x"}, 400},
			{"unknown category", map[string]any{"category": "ufo", "lon": f.lon, "lat": f.lat, "description": "x"}, 400},
			{"no description", map[string]any{"category": "exposed_rubbish", "lon": f.lon, "lat": f.lat}, 400},
			{"bad phone", map[string]any{"category": "exposed_rubbish", "lon": f.lon, "lat": f.lat, "description": "x", "phone": "call me"}, 400},
			{"unknown field", map[string]any{"category": "exposed_rubbish", "lon": f.lon, "lat": f.lat, "description": "x", "name": "张三"}, 400},
			{"outside every area", map[string]any{"category": "exposed_rubbish", "lon": 10.0, "lat": 50.0, "description": "x"}, 400},
			{"source from an anonymous client", map[string]any{"category": "exposed_rubbish", "lon": f.lon, "lat": f.lat, "description": "x", "source": "hotline"}, 400},
		} {
			if status, body := anon.do(t, "POST", "/api/v1/cases", c.body); status != c.want {
				t.Errorf("%s: %d %s, want %d", c.name, status, body, c.want)
			}
		}
		for path, want := range map[string]int{
			"/api/v1/cases/track/NOT-A-CODE":                    400,
			"/api/v1/cases/track/" + fakeCode(res.TrackingCode): 404,
			"/api/v1/cases":   401,
			"/api/v1/cases/1": 401,
		} {
			if status, body := anon.do(t, "GET", path, nil); status != want {
				t.Errorf("GET %s: %d %s, want %d", path, status, body, want)
			}
		}
	})

	status, body = anon.do(t, "GET", "/api/v1/cases/track/"+strings.ToLower(res.TrackingCode), nil)
	// The handling unit (an office) is public since issue 11 ("the handling
	// unit, not a person's name"); phones and people are not.
	if status != 200 || strings.Contains(string(body), phone) || !strings.Contains(string(body), `"unit":"网格一队"`) {
		t.Fatalf("public tracking: %d %s", status, body)
	}

	disp := f.login(t, "dispatcher")
	status, body = disp.do(t, "GET", "/api/v1/cases?status=reported&limit=10", nil)
	page := decode[cases.Page](t, body)
	if status != 200 || len(page.Cases) != 1 || page.Cases[0].TrackingCode != res.TrackingCode {
		t.Fatalf("dispatcher's worklist: %d %s", status, body)
	}
	id := page.Cases[0].ID
	out := f.login(t, "outsider")
	if status, body := out.do(t, "GET", "/api/v1/cases", nil); status != 200 || len(decode[cases.Page](t, body).Cases) != 0 {
		t.Errorf("outsider's worklist: %d %s, want empty", status, body)
	}
	if status, _ := out.do(t, "GET", fmt.Sprintf("/api/v1/cases/%d", id), nil); status != 403 {
		t.Errorf("outsider reads the case: %d, want 403", status)
	}
	for _, q := range []string{"status=flying", "overdue=maybe", "assigned=you", "bbox=1,2,3", "from=yesterday", "limit=0", "cursor=zzz"} {
		if status, body := disp.do(t, "GET", "/api/v1/cases?"+q, nil); status != 400 {
			t.Errorf("GET /cases?%s: %d %s, want 400", q, status, body)
		}
	}

	actions := fmt.Sprintf("/api/v1/cases/%d/actions", id)
	noCSRF := &client{hc: disp.hc, base: disp.base}
	if status, _ := noCSRF.do(t, "POST", actions, map[string]any{"action": "accept", "version": 1}); status != 403 {
		t.Errorf("action without the CSRF header: %d, want 403", status)
	}
	if status, body := disp.do(t, "POST", actions, map[string]any{"action": "accept", "version": 1}); status != 200 {
		t.Fatalf("accept: %d %s", status, body)
	}
	status, body = disp.do(t, "POST", actions, map[string]any{"action": "dispatch", "version": 1})
	if status != 409 || !strings.Contains(string(body), `"state":"accepted"`) {
		t.Errorf("stale version: %d %s, want 409 with the current state", status, body)
	}
	if status, body := disp.do(t, "POST", actions, map[string]any{"action": "fly", "version": 2}); status != 409 {
		t.Errorf("unknown action: %d %s, want 409 naming the possible actions", status, body)
	}
	if status, body := disp.do(t, "POST", actions, map[string]any{"action": "dispatch", "version": 2}); status != 200 {
		t.Fatalf("dispatch: %d %s", status, body)
	}
	worker := f.login(t, "worker")
	if status, body := worker.do(t, "POST", actions, map[string]any{"action": "start", "version": 3}); status != 200 {
		t.Fatalf("start: %d %s", status, body)
	}
	status, body = worker.do(t, "GET", fmt.Sprintf("/api/v1/cases/%d", id), nil)
	if status != 200 || !strings.Contains(string(body), phone) {
		t.Errorf("the handler's view lacks the reporter's phone: %d %s", status, body)
	}
	// exposed_rubbish has one stage: the worker is offered handle, never
	// complete_stage (issue 11: the rule is the engine's, cases.AllowedActions).
	if got := fmt.Sprint(decode[cases.Record](t, body).Actions); got != "[{return [reason]} {handle [photo]} {request_extension [reason due]}]" {
		t.Errorf("the worker's actions in progress on a single-stage case: %s, want return, handle, request_extension", got)
	}
	if status, body := disp.do(t, "GET", fmt.Sprintf("/api/v1/cases/%d", id), nil); status != 200 || strings.Contains(string(body), phone) {
		t.Errorf("the dispatcher sees the phone: %d %s", status, body)
	}

	// Photos: EXIF GPS gone after upload; size checked.
	photo := jpegWithGPS(t)
	status, body = worker.upload(t, fmt.Sprintf("/api/v1/cases/%d/photos", id), "image/jpeg", photo)
	if status != 201 {
		t.Fatalf("photo upload: %d %s", status, body)
	}
	pid := decode[map[string]int64](t, body)["id"]
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/cases/photos/%d", f.srv.URL, pid), nil)
	resp, err := worker.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || bytes.Contains(stored, []byte("GPSLatitude")) || bytes.Contains(stored, []byte("Exif")) || !strings.HasPrefix(resp.Header.Get("Cache-Control"), "private") {
		t.Errorf("stored photo: %d, %d bytes, cache %q, EXIF present: %v", resp.StatusCode, len(stored), resp.Header.Get("Cache-Control"), bytes.Contains(stored, []byte("Exif")))
	}
	if status, _ := anon.do(t, "GET", fmt.Sprintf("/api/v1/cases/photos/%d", pid), nil); status != 401 {
		t.Errorf("anonymous photo read: %d, want 401", status)
	}
	if status, body := worker.upload(t, fmt.Sprintf("/api/v1/cases/%d/photos", id), "image/gif", []byte("GIF89a")); status != 400 {
		t.Errorf("gif upload: %d %s, want 400", status, body)
	}
	big := append([]byte{0xFF, 0xD8, 0xFF}, make([]byte, cases.MaxPhotoBytes)...)
	if status, body := worker.upload(t, fmt.Sprintf("/api/v1/cases/%d/photos", id), "image/jpeg", big); status != 413 {
		t.Errorf("9 MB upload: %d %s, want 413", status, body)
	}
	if status, body := worker.do(t, "POST", actions, map[string]any{"action": "handle", "version": 4, "photos": []int64{pid}, "public_note": "已清运"}); status != 200 {
		t.Fatalf("handle: %d %s", status, body)
	}
	if status, body := worker.do(t, "POST", actions, map[string]any{"action": "verify", "version": 5, "photos": []int64{pid}}); status != 200 {
		t.Fatalf("verify: %d %s", status, body)
	}
	if status, body := disp.do(t, "POST", actions, map[string]any{"action": "close", "version": 6}); status != 200 {
		t.Fatalf("close: %d %s", status, body)
	}
	// open=true (the worker's worklist) leaves the closed case out; the state
	// list behind it is cases.State.Finished, not the phone's.
	for q, want := range map[string]int{"open=true": 0, "open=false": 1, "": 1} {
		status, body := disp.do(t, "GET", "/api/v1/cases?"+q, nil)
		if got := len(decode[cases.Page](t, body).Cases); status != 200 || got != want {
			t.Errorf("GET /cases?%s after closing: %d, %d cases, want %d", q, status, got, want)
		}
	}
	if status, body := disp.do(t, "GET", "/api/v1/cases?open=maybe", nil); status != 400 {
		t.Errorf("open=maybe: %d %s, want 400", status, body)
	}
	if status, body := anon.do(t, "POST", "/api/v1/cases/"+res.TrackingCode+"/rating", map[string]any{"rating": 9}); status != 400 {
		t.Errorf("rating 9: %d %s", status, body)
	}
	status, body = anon.do(t, "POST", "/api/v1/cases/"+res.TrackingCode+"/rating", map[string]any{"rating": 5})
	if status != 200 || decode[cases.PublicCase](t, body).State != cases.StateRated {
		t.Fatalf("rating: %d %s", status, body)
	}
	status, body = anon.do(t, "GET", "/api/v1/cases/track/"+res.TrackingCode, nil)
	if status != 200 || strings.Contains(string(body), phone) || strings.Contains(string(body), "worker") || !strings.Contains(string(body), "已清运") {
		t.Errorf("tracking after closing: %d %s", status, body)
	}

	var sub string
	if err := f.db.Pool.QueryRow(context.Background(), `SELECT code FROM area WHERE level = 'subdistrict' ORDER BY code LIMIT 1`).Scan(&sub); err != nil {
		t.Fatal(err)
	}
	status, body = disp.do(t, "GET", "/api/v1/areas/"+sub+"/case-stats?from=2000-01-01&to=2100-01-01", nil)
	st := decode[cases.AreaStats](t, body)
	if status != 200 || st.Received != 1 || st.Closed != 1 || st.Satisfaction == nil || *st.Satisfaction != 1 || len(st.Children) != 1 {
		t.Errorf("case-stats: %d %s", status, body)
	}
	// The weekly series of a recent period (the case was reported just now, on the real clock).
	today := time.Now().In(calendar.Shanghai())
	status, body = disp.do(t, "GET", "/api/v1/areas/"+sub+"/case-stats?from="+today.AddDate(0, 0, -20).Format("2006-01-02")+"&to="+today.Format("2006-01-02"), nil)
	recent := decode[cases.AreaStats](t, body)
	var received, closed int
	for _, w := range recent.Weeks {
		received, closed = received+w.Received, closed+w.Closed
		if w.Start.In(calendar.Shanghai()).Weekday() != time.Monday {
			t.Errorf("case-stats week %s does not start on a Monday in Shanghai", w.Start)
		}
	}
	if status != 200 || len(recent.Weeks) < 3 || received != 1 || closed != 1 {
		t.Errorf("case-stats weeks: %d %s; want ≥ 3 weeks with 1 received and 1 closed in all", status, body)
	}
	// Without a period: the default weeks up to today on China's calendar, named in the answer.
	status, body = disp.do(t, "GET", "/api/v1/areas/"+sub+"/case-stats", nil)
	def := decode[cases.AreaStats](t, body)
	wantFrom, wantTo := cases.DefaultStatsPeriod(f.store.Machine().Calendar, time.Now())
	if status != 200 || !def.From.Equal(wantFrom) || !def.To.Equal(wantTo) || def.Today != today.Format("2006-01-02") ||
		def.ToDate != def.Today || def.FromDate != wantFrom.In(calendar.Shanghai()).Format("2006-01-02") || len(def.Weeks) != cases.DefaultStatsWeeks {
		t.Errorf("case-stats without from/to: %d %s; want %s–%s, today %s, %d weeks", status, body, wantFrom, wantTo, today.Format("2006-01-02"), cases.DefaultStatsWeeks)
	}
	for _, q := range []string{"from=2026-01-01", "to=2026-01-01", "from=2026-02-01&to=2026-01-01", "from=2026-02-30&to=2026-03-01"} {
		if status, body := disp.do(t, "GET", "/api/v1/areas/"+sub+"/case-stats?"+q, nil); status != 400 {
			t.Errorf("case-stats?%s: %d %s, want 400", q, status, body)
		}
	}
	if status, _ := anon.do(t, "GET", "/api/v1/areas/"+sub+"/case-stats", nil); status != 401 {
		t.Errorf("case-stats without signing in: %d, want 401 (staff only: the counts are exact, privacy rule 7)", status)
	}

	// Admins add working-calendar days.
	adm := f.login(t, "admin")
	if status, body := adm.upload(t, "/api/v1/calendar/days", "text/plain", []byte("2028-01-01 off 元旦\n2028-01-02 off 元旦\n")); status != 200 {
		t.Errorf("calendar days: %d %s", status, body)
	}
	if status, _ := adm.upload(t, "/api/v1/calendar/days", "text/plain", []byte("2028-13-01 off x\n")); status != 400 {
		t.Errorf("a bad calendar day: %d, want 400", status)
	}
	if status, _ := disp.upload(t, "/api/v1/calendar/days", "text/plain", []byte("2028-01-03 off x\n")); status != 403 {
		t.Errorf("an editor changes the calendar: %d, want 403", status)
	}
	if d, ok := f.store.Machine().Calendar.DayInfo(calendar.D(2028, 1, 2)); !ok || d.Kind != calendar.Off {
		t.Errorf("the store's calendar lacks the new day: %+v %v", d, ok)
	}

	// The staff cases layer.
	tile := maptile.At(orb.Point{f.lon, f.lat}, 15)
	tilePath := fmt.Sprintf("/tiles/cases/%d/%d/%d.mvt", tile.Z, tile.X, tile.Y)
	if status, _ := anon.do(t, "GET", tilePath+"?all=true", nil); status != 401 {
		t.Errorf("anonymous cases tile: %d, want 401", status)
	}
	if status, _ := disp.do(t, "GET", "/tiles/cases/3/1/1.mvt", nil); status != 400 {
		t.Errorf("cases tile at z3: %d, want 400", status)
	}
	countFeatures := func(c *client, path string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Cache-Control"), "private") {
			t.Fatalf("%s: %d cache %q %s", path, resp.StatusCode, resp.Header.Get("Cache-Control"), b)
		}
		layers, err := mvt.Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, l := range layers {
			if l.Name == "cases" {
				for _, ft := range l.Features {
					if ft.Properties["state"] != "rated" || ft.Properties["category"] != "exposed_rubbish" {
						t.Errorf("tile feature %v", ft.Properties)
					}
					n++
				}
			}
		}
		return n
	}
	if n := countFeatures(disp, tilePath+"?all=true"); n != 1 {
		t.Errorf("dispatcher's cases tile: %d features, want 1", n)
	}
	if n := countFeatures(disp, tilePath); n != 0 {
		t.Errorf("open cases only: %d features, want 0 (the case is rated)", n)
	}
	if n := countFeatures(out, tilePath+"?all=true"); n != 0 {
		t.Errorf("outsider's cases tile: %d features, want 0", n)
	}
}

// fakeCode returns a valid tracking code other than code.
func fakeCode(code string) string {
	for _, c := range []string{"0000000000", "1111111111"} {
		if err := cases.ValidateTrackingCode(c); err == nil && c != cases.NormalizeTrackingCode(code) {
			return c
		}
	}
	for i := 0; ; i++ {
		c, _ := cases.NewTrackingCode(nil)
		if c != cases.NormalizeTrackingCode(code) {
			return c
		}
	}
}

func (c *client) upload(t *testing.T, path, contentType string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", c.base+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-CSRF-Token", c.csrf)
	res, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

func jpegWithGPS(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	img.Set(1, 1, color.RGBA{1, 2, 3, 255})
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	jpg := buf.Bytes()
	payload := append([]byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08"), []byte("GPSLatitude 30.2958N")...)
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}
