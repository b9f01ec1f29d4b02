// Package web serves gridmap's browser faces, embedded in the binary: the
// esbuild bundle in dist/ (built from src/ by `make build`) with the staff
// editor (/admin), the pages' settings at /config.json, and the templates and
// message catalogue of the server-rendered pages (the resident lookup /, the
// building and grid pages, posters).
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// dist is the bundle; in a checkout where it was never built it holds only
// .gitkeep, and the handler says how to build it.
//
//go:embed all:dist
var dist embed.FS

// Basemap is a raster basemap drawn under gridmap's layers.
type Basemap struct {
	// URL is an XYZ template with {z}, {x}, {y}, e.g. a Tianditu WMTS GetTile URL with
	// TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=KEY, or an AMap/Tencent tile URL.
	URL string `json:"url"`
	// CRS is the basemap's coordinate system: "wgs84" (also for CGCS2000, e.g. Tianditu)
	// or "gcj02" (AMap, Tencent), in which case gridmap's geometry is shifted for display.
	CRS         string `json:"crs"`
	Attribution string `json:"attribution,omitempty"`
	TileSize    int    `json:"tile_size,omitempty"` // pixels; default 256
}

// Config is what the browser pages need to know about this deployment.
type Config struct {
	Basemap *Basemap // nil: no basemap, works offline
	// Attribution is shown on every map, e.g. "© OpenStreetMap contributors"
	// when the data was imported from OpenStreetMap.
	Attribution string
	// Bundle is the built browser code to serve; nil: the production bundle
	// embedded from dist/. The browser tests set os.DirFS("dist-test"), the
	// same code with their hooks (build.mjs).
	Bundle fs.FS
}

// ProductionBundle is the embedded bundle that Handler serves by default
// (dist/, without the browser tests' hooks).
func ProductionBundle() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed pattern guarantees the folder
	}
	return sub
}

// Handler serves the bundle, /config.json and /admin. Unknown paths get 404.
// Assets are sent pre-compressed (NAME.br, NAME.gz made by build.mjs) to
// clients that accept it; names with a content hash are cached for a year.
func Handler(cfg Config) http.Handler {
	conf, err := json.Marshal(map[string]any{"basemap": cfg.Basemap, "attribution": cfg.Attribution})
	if err != nil {
		panic(err)
	}
	return &handler{bundle: openBundle(cfg), config: conf}
}

type handler struct {
	bundle *bundle
	config []byte
}

// pages maps clean URL paths to the bundle's static HTML files. The resident
// page (/) is rendered by the server from templates/resident.html (Pages).
var pages = map[string]string{"/admin": "admin.html", "/admin/": "admin.html",
	"/work":        "work.html", // the grid worker's phone page
	"/admin/stats": "stats.html",
	"/admin/cases": "desk.html", // the dispatch desk
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	switch {
	case p == "/config.json":
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(h.config)
		return
	case pages[p] != "":
		h.bundle.serveFile(w, r, pages[p], "no-cache")
		return
	case p == "/favicon.ico":
		// For clients that ask before reading the pages' <link rel="icon">.
		h.bundle.serveFile(w, r, strings.TrimPrefix(h.bundle.Asset("favicon.svg"), "/"), "public, max-age=86400")
		return
	case strings.HasPrefix(p, "/assets/"):
		name := path.Clean(strings.TrimPrefix(p, "/"))
		cache := "no-cache"
		if hashedName.MatchString(path.Base(name)) {
			cache = "public, max-age=31536000, immutable"
		}
		h.bundle.serveFile(w, r, name, cache)
		return
	}
	http.NotFound(w, r)
}

// hashedName matches the file names build.mjs gives assets: NAME-HASH.EXT,
// HASH being esbuild's 8 (or build.mjs's 10) upper-case letters and digits.
var hashedName = regexp.MustCompile(`^[\w.-]+-[A-Z0-9]{8,10}\.(js|mjs|css|svg)$`)

// bundle is the built browser code and its manifest (dist/manifest.json,
// written by build.mjs).
type bundle struct {
	files    fs.FS
	manifest manifest
	etags    sync.Map // file name → ETag
}

type manifest struct {
	Files   map[string]string   `json:"files"`   // entry name ("resident.js") → file ("assets/resident-HASH.js")
	Preload map[string][]string `json:"preload"` // entry name → the chunk files it imports statically
}

func openBundle(cfg Config) *bundle {
	files := cfg.Bundle
	if files == nil {
		files = ProductionBundle()
	}
	b := &bundle{files: files}
	if raw, err := fs.ReadFile(files, "manifest.json"); err == nil {
		if err := json.Unmarshal(raw, &b.manifest); err != nil {
			panic(fmt.Sprintf("web: the bundle's manifest.json: %v", err)) // build.mjs wrote it
		}
	}
	return b
}

// Asset is the URL path of the bundle's file for an entry name:
// "resident.js" → "/assets/resident-HASH.js". A name the manifest does not
// know (a bundle that was never built) is "/assets/NAME", which answers 503
// with the command to build.
func (b *bundle) Asset(name string) string {
	if f, ok := b.manifest.Files[name]; ok {
		return "/" + f
	}
	return "/assets/" + name
}

// Preload are the URL paths of the chunks the entry name imports
// statically, for <link rel="modulepreload">: the browser fetches them with
// the entry instead of one round trip later.
func (b *bundle) Preload(name string) []string {
	var out []string
	for _, f := range b.manifest.Preload[name] {
		out = append(out, "/"+f)
	}
	return out
}

// encodings are the pre-compressed siblings build.mjs writes, best first.
var encodings = []struct{ token, ext string }{{"br", ".br"}, {"gzip", ".gz"}}

// acceptsEncoding reports whether an Accept-Encoding header allows token
// (explicitly or by *, with a q-value above 0).
func acceptsEncoding(header, token string) bool {
	star := false
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		switch name {
		case token:
			return q > 0
		case "*":
			star = q > 0
		}
	}
	return star
}

// serveFile sends the file name with cache as its Cache-Control, as its
// .br or .gz sibling when there is one and the client accepts it.
func (b *bundle) serveFile(w http.ResponseWriter, r *http.Request, name, cache string) {
	body, err := fs.ReadFile(b.files, name)
	if err != nil {
		if _, err := fs.Stat(b.files, "manifest.json"); err != nil {
			http.Error(w, "gridmap's web bundle is not built: run `make build` (npm ci, then node build.mjs in web/)", http.StatusServiceUnavailable)
			return
		}
		http.NotFound(w, r)
		return
	}
	file, encoding, compressed := name, "", false
	for _, e := range encodings {
		enc, err := fs.ReadFile(b.files, name+e.ext)
		if err != nil {
			continue
		}
		compressed = true
		if acceptsEncoding(r.Header.Get("Accept-Encoding"), e.token) {
			file, encoding, body = name+e.ext, e.token, enc
			break
		}
	}
	etag, ok := b.etags.Load(file)
	if !ok {
		sum := sha256.Sum256(body)
		etag = `"` + hex.EncodeToString(sum[:8]) + `"`
		b.etags.Store(file, etag)
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if path.Ext(name) == ".mjs" || ct == "" && path.Ext(name) == ".js" {
		ct = "text/javascript; charset=utf-8"
	}
	h := w.Header()
	if ct != "" {
		h.Set("Content-Type", ct)
	}
	if compressed {
		h.Add("Vary", "Accept-Encoding")
	}
	if encoding != "" {
		// http.ServeContent leaves out Content-Length for an encoded body (its
		// ranges would be of the encoded bytes); these are sent whole, with it.
		h.Set("Content-Encoding", encoding)
		h.Set("Content-Length", strconv.Itoa(len(body)))
		r = r.Clone(r.Context())
		r.Header.Del("Range")
	}
	h.Set("Cache-Control", cache)
	h.Set("ETag", etag.(string))
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, name, zeroTime, bytes.NewReader(body))
}

var zeroTime time.Time
