package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// TestAssetEncoding serves the embedded bundle's assets with the encodings a
// client accepts: the .br or .gz sibling build.mjs made, with its
// Content-Encoding, the original's Content-Type, an ETag of its own and
// Vary: Accept-Encoding; hashed names are cached for a year, the rest revalidated.
func TestAssetEncoding(t *testing.T) {
	h := Handler(Config{}).(*handler)
	if len(h.bundle.manifest.Files) == 0 {
		t.Fatal("no bundle embedded: run make build")
	}
	get := func(path string, header ...string) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest("GET", path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	raw := func(name string) []byte {
		t.Helper()
		b, err := fs.ReadFile(h.bundle.files, name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	js := h.bundle.Asset("resident.js")
	for _, c := range []struct {
		name, accept, want string // want: the Content-Encoding
	}{
		{"no header: identity", "", ""},
		{"chromium prefers br", "gzip, deflate, br, zstd", "br"},
		{"gzip only", "gzip", "gzip"},
		{"br refused with q=0", "br;q=0, gzip", "gzip"},
		{"both refused", "gzip;q=0, br;q=0", ""},
		{"star", "*", "br"},
		{"star but not br", "*, br;q=0", "gzip"},
		{"upper case token", "GZIP", "gzip"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := get(js, "Accept-Encoding", c.accept)
			if w.Code != 200 {
				t.Fatalf("got %d", w.Code)
			}
			if got := w.Header().Get("Content-Encoding"); got != c.want {
				t.Errorf("Content-Encoding %q, want %q", got, c.want)
			}
			if got := w.Header().Get("Content-Length"); got != strconv.Itoa(w.Body.Len()) {
				t.Errorf("Content-Length %q for %d bytes", got, w.Body.Len())
			}
			if got := w.Header().Get("Vary"); got != "Accept-Encoding" {
				t.Errorf("Vary %q, want Accept-Encoding", got)
			}
			if got := w.Header().Get("Content-Type"); got != "text/javascript; charset=utf-8" {
				t.Errorf("Content-Type %q", got)
			}
			if got := w.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
				t.Errorf("Cache-Control %q for hashed %s", got, js)
			}
			body := w.Body.Bytes()
			switch c.want {
			case "gzip":
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err == nil {
					body, err = io.ReadAll(zr)
				}
				if err != nil {
					t.Fatal(err)
				}
			case "br":
				if !bytes.Equal(body, raw(strings.TrimPrefix(js, "/")+".br")) {
					t.Fatal("br body is not the .br file")
				}
				return
			}
			if !bytes.Equal(body, raw(strings.TrimPrefix(js, "/"))) {
				t.Errorf("decoded body differs from %s", js)
			}
		})
	}

	t.Run("an ETag per encoding, each revalidates", func(t *testing.T) {
		br, gz, id := get(js, "Accept-Encoding", "br"), get(js, "Accept-Encoding", "gzip"), get(js)
		tags := map[string]bool{br.Header().Get("ETag"): true, gz.Header().Get("ETag"): true, id.Header().Get("ETag"): true}
		if len(tags) != 3 || tags[""] {
			t.Errorf("ETags %v, want three different ones", tags)
		}
		if w := get(js, "Accept-Encoding", "br", "If-None-Match", br.Header().Get("ETag")); w.Code != http.StatusNotModified {
			t.Errorf("revalidating br: %d, want 304", w.Code)
		}
		if w := get(js, "Accept-Encoding", "gzip", "If-None-Match", br.Header().Get("ETag")); w.Code != 200 {
			t.Errorf("br's ETag for a gzip client: %d, want 200 (a different representation)", w.Code)
		}
	})

	t.Run("types and caching of every entry", func(t *testing.T) {
		for name, want := range map[string]string{
			"resident.css": "text/css; charset=utf-8", "page.js": "text/javascript; charset=utf-8",
			"maplibre-gl-worker.mjs": "text/javascript; charset=utf-8", "favicon.svg": "image/svg+xml",
		} {
			w := get(h.bundle.Asset(name), "Accept-Encoding", "br, gzip")
			if w.Code != 200 || w.Header().Get("Content-Type") != want || w.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" {
				t.Errorf("%s (%s): %d %q %q", name, h.bundle.Asset(name), w.Code, w.Header().Get("Content-Type"), w.Header().Get("Cache-Control"))
			}
		}
		if w := get("/admin", "Accept-Encoding", "br"); w.Header().Get("Cache-Control") != "no-cache" {
			t.Errorf("/admin: Cache-Control %q, want no-cache (its name has no hash)", w.Header().Get("Cache-Control"))
		}
		if w := get("/assets/manifest.json"); w.Code != http.StatusNotFound {
			t.Errorf("/assets/manifest.json: %d, want 404", w.Code)
		}
	})

	t.Run("a range of an encoded file is the whole file", func(t *testing.T) {
		w := get(js, "Accept-Encoding", "br", "Range", "bytes=0-9")
		if w.Code != 200 || w.Body.Len() != len(raw(strings.TrimPrefix(js, "/")+".br")) {
			t.Errorf("got %d with %d bytes, want 200 and the whole .br", w.Code, w.Body.Len())
		}
		if w := get(js, "Range", "bytes=0-9"); w.Code != http.StatusPartialContent || w.Body.Len() != 10 {
			t.Errorf("identity range: got %d with %d bytes, want 206 and 10", w.Code, w.Body.Len())
		}
	})

	t.Run("compressed sizes", func(t *testing.T) {
		for _, name := range []string{"resident.js", "resident.css", "maplibre-gl-worker.mjs"} {
			f := strings.TrimPrefix(h.bundle.Asset(name), "/")
			n, br := len(raw(f)), len(raw(f+".br"))
			t.Logf("%s: %d bytes, br %d", f, n, br)
			if br*2 > n {
				t.Errorf("%s: br %d of %d bytes", f, br, n)
			}
		}
	})
}

func TestAcceptsEncoding(t *testing.T) {
	for _, c := range []struct {
		header, token string
		want          bool
	}{
		{"", "gzip", false},
		{"gzip", "gzip", true},
		{"gzip;q=0", "gzip", false},
		{"gzip; q=0.5", "gzip", true},
		{"deflate, br", "gzip", false},
		{"*;q=0", "br", false},
		{"identity", "br", false},
	} {
		if got := acceptsEncoding(c.header, c.token); got != c.want {
			t.Errorf("acceptsEncoding(%q, %q) = %v, want %v", c.header, c.token, got, c.want)
		}
	}
}
