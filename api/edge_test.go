package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"gridmap/api"
	"gridmap/web"
)

// textPlainWeb stands in for the web handler: it answers every path it gets
// with a text/plain 404, as http.FileServer does.
var textPlainWeb = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "404 page not found", http.StatusNotFound)
})

func newEdgeFixture(t *testing.T, name string, cfg api.Config) *editFixture {
	t.Helper()
	pages, err := web.NewPages()
	if err != nil {
		t.Fatal(err)
	}
	return newEditFixture(t, name, cfg, func(s *api.Server) { s.Web = textPlainWeb; s.Pages = pages })
}

type apiError struct {
	Error struct{ Code, Message string } `json:"error"`
}

// doRaw sends body as is (nil: none) with the client's cookies and CSRF token.
func (c *client) doRaw(t *testing.T, method, path, ctype string, body []byte) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res, out
}

// wantJSONError checks a response is status with the JSON error shape and a
// message containing msg.
func wantJSONError(t *testing.T, what string, res *http.Response, body []byte, status int, msg string) {
	t.Helper()
	var e apiError
	if res.StatusCode != status || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") || json.Unmarshal(body, &e) != nil ||
		e.Error.Code == "" || !strings.Contains(e.Error.Message, msg) {
		t.Errorf("%s: %d %s %.300q, want %d JSON error with %q", what, res.StatusCode, res.Header.Get("Content-Type"), body, status, msg)
	}
}

// TestBytesThatAreNotTextAre400 pins SQLSTATE 22021/22P05 answered 500: NUL,
// lone 0xFF, a broken sequence and a UTF-16 surrogate in path values, query
// parameters and JSON strings are a 400 naming the field.
func TestBytesThatAreNotTextAre400(t *testing.T) {
	f := newEdgeFixture(t, "api_text", api.Config{})
	admin := f.login(t, "admin")
	bad := []string{"%00", "%FF", "%C3%28", "%ED%A0%80"}
	paths := []string{
		"/api/v1/areas/X", "/api/v1/areas/X/children", "/api/v1/areas/X/versions", "/api/v1/areas/X/responsible",
		"/api/v1/areas/X.geojson", "/api/v1/areas/X/stats", "/api/v1/buildings/X",
		"/b/X", "/b/X/poster", "/g/X", "/g/X/poster",
		"/api/v1/areas?parent=X", "/api/v1/areas?q=X", "/api/v1/areas?under=X", "/api/v1/changes?area=X", "/api/v1/buildings?q=X", "/api/v1/lookup?address=X",
		"/api/v1/areas.geojson?parent=X",
	}
	for _, p := range paths {
		for _, b := range bad {
			path := strings.Replace(p, "X", "33"+b+"01", 1)
			res, body := admin.doRaw(t, "GET", path, "", nil)
			wantJSONError(t, "GET "+path, res, body, 400, "")
		}
	}
	for _, b := range bad {
		path := "/api/v1/areas/" + f.grid.Code + b
		res, body := admin.doRaw(t, "PATCH", path, "application/json", []byte(`{"name":"x","reason":"r"}`))
		wantJSONError(t, "PATCH "+path, res, body, 400, "{key}")
	}
	nul := `a\u0000b`
	bodies := []struct{ path, body, field string }{
		{"/api/v1/tokens", `{"name":"` + nul + `","ttl_hours":1}`, "name"},
		{"/api/v1/edits/preview", `{"op":"retire","areas":[{"id":1,"version":1}],"reason":"` + nul + `"}`, "reason"},
		{"/api/v1/edits", `{"op":"create","name":"` + nul + `","reason":"r"}`, "name"},
		{"/api/v1/edits", `{"op":"merge","names":["ok","` + nul + `"],"reason":"r"}`, "names[1]"},
		{"/api/v1/areas/" + f.grid.Code, `{"name":"` + nul + `","reason":"r"}`, "name"},
		{"/api/v1/people", `{"name":"` + nul + `","phone":"140","reason":"r"}`, "name"},
		{"/api/v1/duties", `{"person_id":1,"area":"` + nul + `","role":"grid_leader","reason":"r"}`, "area"},
		{"/api/v1/duties/1/end", `{"valid_to":"` + nul + `","reason":"r"}`, "valid_to"},
		{"/api/v1/changes/1/revert", `{"reason":"` + nul + `"}`, "reason"},
	}
	for _, b := range bodies {
		method := "POST"
		if strings.HasPrefix(b.path, "/api/v1/areas/") {
			method = "PATCH"
		}
		res, body := admin.doRaw(t, method, b.path, "application/json", []byte(b.body))
		wantJSONError(t, method+" "+b.path+" "+b.body, res, body, 400, b.field+" must not contain the NUL")
	}
	anon := f.login(t, "")
	res, body := anon.doRaw(t, "POST", "/api/v1/login", "application/json", []byte(`{"name":"`+nul+`","password":"x"}`))
	wantJSONError(t, "login with NUL", res, body, 400, "name must not contain the NUL")
	res, body = anon.doRaw(t, "POST", "/api/v1/login", "application/json", []byte("{\"name\":\"a\xffb\",\"password\":\"x\"}"))
	if res.StatusCode != 400 && res.StatusCode != 401 {
		t.Errorf("login with a raw 0xFF byte: %d %s, want 400 or 401 (encoding/json turns it into U+FFFD)", res.StatusCode, body)
	}
}

// TestUnknownAPIPathsAndMethodsAnswerJSON pins the web handler answering
// text/plain for /api/v1 paths it does not know and for wrong methods.
func TestUnknownAPIPathsAndMethodsAnswerJSON(t *testing.T) {
	f := newEdgeFixture(t, "api_unknown", api.Config{})
	c := f.login(t, "")
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/api/v1/nothing", 404},
		{"GET", "/api/v2/lookup", 404},
		{"DELETE", "/api/v1/lookup", 405},
		{"PUT", "/api/v1/areas/330199001001", 405},
		{"POST", "/api/v1/levels", 405},
	} {
		res, body := c.doRaw(t, tc.method, tc.path, "", nil)
		wantJSONError(t, fmt.Sprint(tc.method, " ", tc.path), res, body, tc.status, "")
	}
	res, _ := c.doRaw(t, "GET", "/some/page", "", nil)
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("a non-API path went to %s, want the web handler", ct)
	}
}

// TestBatchBodyFarOverTheLimitIs413 pins a batch body far over its limit
// resetting the connection instead of answering 413. The client here is one
// that writes its whole request before it reads (as Python's http.client
// does); with a declared length and without one (chunked).
func TestBatchBodyFarOverTheLimitIs413(t *testing.T) {
	f := newEdgeFixture(t, "api_toolarge", api.Config{MaxBodyBytes: 1 << 10, MaxBatchBodyBytes: 64 << 10})
	body := []byte(`{"points":[` + strings.Repeat(`{"lon":120.13,"lat":30.28},`, (32<<20)/27) + `{"lon":120.13,"lat":30.28}]}`)
	host := strings.TrimPrefix(f.srv.URL, "http://")
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprint("chunked=", chunked), func(t *testing.T) {
			conn, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(time.Minute))
			w := bufio.NewWriter(conn)
			fmt.Fprintf(w, "POST /api/v1/lookup/batch HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n", host)
			if chunked {
				fmt.Fprintf(w, "Transfer-Encoding: chunked\r\n\r\n%x\r\n", len(body))
				w.Write(body)
				w.WriteString("\r\n0\r\n\r\n")
			} else {
				fmt.Fprintf(w, "Content-Length: %d\r\n\r\n", len(body))
				w.Write(body)
			}
			if err := w.Flush(); err != nil {
				t.Fatalf("sending %d MB: %v, want the server to take the body and answer 413", len(body)>>20, err)
			}
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("reading the answer: %v", err)
			}
			out, _ := io.ReadAll(res.Body)
			wantJSONError(t, "batch far over the limit", res, out, 413, "limit")
		})
	}
}

// TestTokenTTLOverflowIs400 pins ttl_hours of 2,562,048 or more (where
// time.Duration overflows) making a token that never expires, answered 201.
func TestTokenTTLOverflowIs400(t *testing.T) {
	f := newEditFixture(t, "api_ttl", api.Config{})
	admin := f.login(t, "admin")
	for _, tc := range []struct {
		ttl    string
		status int
	}{
		{"1", 201}, {"0", 201}, {"87840", 201},
		{"87841", 400}, {"2562047", 400}, {"2562048", 400}, {"9223372036854775807", 400}, {"-1", 400},
	} {
		res, body := admin.doRaw(t, "POST", "/api/v1/tokens", "application/json", []byte(`{"name":"t","ttl_hours":`+tc.ttl+`}`))
		if res.StatusCode != tc.status {
			t.Errorf("ttl_hours %s: %d %s, want %d", tc.ttl, res.StatusCode, body, tc.status)
		}
		if tc.status == 400 {
			wantJSONError(t, "ttl_hours "+tc.ttl, res, body, 400, "ttl_hours")
		}
	}
	var never int
	if err := f.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM api_token WHERE expires_at IS NULL`).Scan(&never); err != nil {
		t.Fatal(err)
	}
	if never != 1 {
		t.Errorf("%d tokens never expire, want 1 (the one asked for with ttl_hours 0)", never)
	}
}
