// Package web serves gridmap's browser faces, embedded in the binary: the
// resident lookup (/) and the staff editor (/admin) from the esbuild bundle
// in dist/ (built from src/ by `make build`), their settings at /config.json,
// and the templates and message catalogue of the server-rendered building
// and grid pages.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"mime"
	"net/http"
	"path"
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

// Handler serves the bundle and /config.json. Unknown paths get 404.
func Handler(cfg Config) http.Handler {
	sub := cfg.Bundle
	if sub == nil {
		sub = ProductionBundle()
	}
	conf, err := json.Marshal(map[string]any{"basemap": cfg.Basemap, "attribution": cfg.Attribution})
	if err != nil {
		panic(err)
	}
	return &handler{files: sub, config: conf}
}

type handler struct {
	files  fs.FS
	config []byte
	etags  sync.Map // path → ETag of the embedded file
}

var zeroTime time.Time

// pages maps clean URL paths to the bundle's HTML files.
var pages = map[string]string{"/": "index.html", "/admin": "admin.html", "/admin/": "admin.html"}

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
		h.serveFile(w, r, pages[p], "no-cache")
		return
	case strings.HasPrefix(p, "/assets/"):
		name := path.Clean(strings.TrimPrefix(p, "/"))
		// Chunks carry a content hash in their name; entry points do not.
		cache := "no-cache"
		if strings.HasPrefix(path.Base(name), "chunk-") {
			cache = "public, max-age=31536000, immutable"
		}
		h.serveFile(w, r, name, cache)
		return
	}
	http.NotFound(w, r)
}

func (h *handler) serveFile(w http.ResponseWriter, r *http.Request, name, cache string) {
	body, err := fs.ReadFile(h.files, name)
	if err != nil {
		if _, err := fs.Stat(h.files, "index.html"); err != nil {
			http.Error(w, "gridmap's web bundle is not built: run `make build` (npm ci, then node build.mjs in web/)", http.StatusServiceUnavailable)
			return
		}
		http.NotFound(w, r)
		return
	}
	etag, ok := h.etags.Load(name)
	if !ok {
		sum := sha256.Sum256(body)
		etag = `"` + hex.EncodeToString(sum[:8]) + `"`
		h.etags.Store(name, etag)
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if path.Ext(name) == ".mjs" || ct == "" && path.Ext(name) == ".js" {
		ct = "text/javascript; charset=utf-8"
	}
	if ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.Header().Set("Cache-Control", cache)
	w.Header().Set("ETag", etag.(string))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, name, zeroTime, bytes.NewReader(body))
}
