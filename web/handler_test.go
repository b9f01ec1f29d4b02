package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h := Handler(Config{Attribution: "© OpenStreetMap contributors", Basemap: &Basemap{URL: "https://t0.example/{z}/{x}/{y}", CRS: "gcj02"}})
	serve := func(method, path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
		return w
	}
	t.Run("config", func(t *testing.T) {
		w := serve("GET", "/config.json")
		var c struct {
			Basemap     Basemap
			Attribution string
		}
		if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil || c.Basemap.CRS != "gcj02" || c.Attribution == "" {
			t.Errorf("got %d %s (%v)", w.Code, w.Body, err)
		}
	})
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/nothing", http.StatusNotFound},
		{"GET", "/assets/../web.go", http.StatusNotFound},
		{"GET", "/assets/no-such.js", http.StatusNotFound},
		{"POST", "/admin", http.StatusMethodNotAllowed},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			w := serve(c.method, c.path)
			// Without a bundle every file is 503 with the command to build it.
			if w.Code != c.want && !(w.Code == http.StatusServiceUnavailable && strings.Contains(w.Body.String(), "make build")) {
				t.Errorf("got %d, want %d", w.Code, c.want)
			}
		})
	}
	t.Run("page and revalidation", func(t *testing.T) {
		w := serve("GET", "/admin")
		if w.Code == http.StatusServiceUnavailable {
			t.Fatal("the bundle is not built: run make build (make test does)")
		}
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || w.Header().Get("ETag") == "" {
			t.Fatalf("GET /: %d %v", w.Code, w.Header())
		}
		r := httptest.NewRequest("GET", "/admin", nil)
		r.Header.Set("If-None-Match", w.Header().Get("ETag"))
		w2 := httptest.NewRecorder()
		h.ServeHTTP(w2, r)
		if w2.Code != http.StatusNotModified {
			t.Errorf("revalidation: got %d, want 304", w2.Code)
		}
		if !strings.Contains(w.Body.String(), `src="/assets/admin-`) {
			t.Errorf("admin.html does not load the hashed admin-HASH.js:\n%s", w.Body)
		}
		if w := serve("GET", h.(*handler).bundle.Asset("maplibre-gl-worker.mjs")); !strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") {
			t.Errorf("worker Content-Type: %q", w.Header().Get("Content-Type"))
		}
	})
}
