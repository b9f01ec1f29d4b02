package api

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"gridmap/geo"
	"gridmap/tiles"
)

// Tiles configures the public map routes: vector tiles, TileJSON, the default
// MapLibre style and its glyphs (docs/tiles.md). A nil Server.Tiles serves none.
type Tiles struct {
	Service tiles.Service
	// CacheControl is sent with every tile; default DefaultTileCacheControl.
	CacheControl string
	// PublicURL is the scheme, host and any path prefix that clients reach
	// gridmap at (e.g. "https://maps.example.org"), for the URLs in TileJSON
	// and the style; "" takes them from each request.
	PublicURL string
}

// DefaultTileCacheControl lets browsers and proxies keep a tile for a minute.
const DefaultTileCacheControl = "public, max-age=60"

// Content types of the map routes.
const (
	contentTypeMVT      = "application/vnd.mapbox-vector-tile"
	contentTypeProtobuf = "application/x-protobuf"
)

// tileRoutes registers the map routes on r; each also answers CORS preflights.
func (s *Server) tileRoutes(r *mux.Router) {
	if s.Tiles == nil || s.Tiles.Service == nil {
		return
	}
	s.tileCacheHeader = []string{DefaultTileCacheControl}
	if s.Tiles.CacheControl != "" {
		s.tileCacheHeader = []string{s.Tiles.CacheControl}
	}
	for _, route := range []struct {
		path string
		h    http.HandlerFunc
	}{
		{tileRoute, s.handle(s.handleTile)},
		{"/tiles/{layers}.json", s.handle(s.handleTileJSON)},
		{"/styles/default.json", s.handle(s.handleStyle)},
		{"/fonts/{fontstack}/{range}.pbf", s.handle(s.handleGlyphs)},
	} {
		r.HandleFunc(route.path, route.h).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc(route.path, handlePreflight).Methods(http.MethodOptions)
		if route.path == tileRoute {
			s.tileHandler = route.h
		}
	}
}

// tileRoute is the template of the tile route.
const tileRoute = "/tiles/{layers}/{z}/{x}/{tile}"

// otherTileLayers names the first segments after /tiles/ that routes of
// their own take (the staff cases layer, /tiles/cases/…): ServeHTTP leaves
// those paths to mux, which matches routes in the order they were added. It
// answers false when such a route starts with a variable, which no list of
// names can leave out.
func otherTileLayers(r *mux.Router) (map[string]bool, bool) {
	others, ok := map[string]bool{}, true
	_ = r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil || tpl == tileRoute {
			return nil
		}
		if rest, found := strings.CutPrefix(tpl, "/tiles/"); found {
			if first, _, more := strings.Cut(rest, "/"); more {
				others[first] = true
				ok = ok && !strings.Contains(first, "{")
			}
		}
		return nil
	})
	return others, ok
}

// tilePathVars gives the path values of the tile route for a path it
// matches (four segments after /tiles/, each non-empty, as mux's default
// pattern [^/]+ wants) and nil for every other path. Paths mux would clean
// and redirect ("." or ".." segments) are nil too, and left to mux.
func tilePathVars(path string) map[string]string {
	rest, ok := strings.CutPrefix(path, "/tiles/")
	if !ok {
		return nil
	}
	var seg [4]string
	for i := range seg {
		var s string
		if i < 3 {
			if s, rest, ok = strings.Cut(rest, "/"); !ok {
				return nil
			}
		} else if s = rest; strings.IndexByte(s, '/') >= 0 {
			return nil
		}
		if s == "" || s == "." || s == ".." {
			return nil
		}
		seg[i] = s
	}
	return map[string]string{"layers": seg[0], "z": seg[1], "x": seg[2], "tile": seg[3]}
}

// tileOfRequest is "z/x/tile" of a tile request for its log line: the end
// of its path when that spells it (every request of the tile route, without
// allocating), else made from the path values.
func tileOfRequest(r *http.Request) string {
	v := mux.Vars(r)
	z, x, t, p := v["z"], v["x"], v["tile"], r.URL.Path
	if i := len(p) - len(z) - len(x) - len(t) - 2; i > 0 && p[i-1] == '/' &&
		p[i:i+len(z)] == z && p[i+len(z)] == '/' && p[i+len(z)+1:len(p)-len(t)-1] == x && p[len(p)-len(t)-1] == '/' && p[len(p)-len(t):] == t {
		return p[i:]
	}
	return z + "/" + x + "/" + t
}

// Header values of the map routes, made once: a header set from one of these
// costs no allocation (the slices have len == cap, so an Add elsewhere
// copies instead of writing into them). Keys are in canonical form.
var (
	hdrAnyOrigin     = []string{"*"}
	hdrExposeHeaders = []string{"ETag, X-Tile-Cache, X-Data-Stale, Content-Length"}
	hdrMVT           = []string{contentTypeMVT}
	hdrVaryEncoding  = []string{"Accept-Encoding"}
	hdrGzip          = []string{"gzip"}
	hdrCacheHit      = []string{"hit"}
	hdrCacheMiss     = []string{"miss"}
)

// allowAnyOrigin lets maps on other sites use the public map routes.
func allowAnyOrigin(w http.ResponseWriter) {
	h := w.Header()
	h["Access-Control-Allow-Origin"] = hdrAnyOrigin
	h["Access-Control-Expose-Headers"] = hdrExposeHeaders
}

// handlePreflight answers a CORS preflight for the map routes.
func handlePreflight(w http.ResponseWriter, r *http.Request) {
	allowAnyOrigin(w)
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
	}
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// GET /tiles/{layers}/{z}/{x}/{y}.mvt (or .pbf): one vector tile with the
// comma-separated layers. An empty tile is 200 with an empty body. The
// X-Tile-Cache header says hit or miss; the request log shows it with z/x/y.
func (s *Server) handleTile(w http.ResponseWriter, r *http.Request) error {
	allowAnyOrigin(w)
	v := mux.Vars(r)
	layers, err := tiles.ParseLayers(v["layers"])
	if err != nil {
		return err
	}
	y, err := tiles.ParseTileName(v["tile"])
	if err != nil {
		return err
	}
	t, err := tiles.ParseTile(v["z"], v["x"], y)
	if err != nil {
		return err
	}
	res, err := s.Tiles.Service.Tile(r.Context(), layers, t)
	if err != nil {
		return err
	}
	// The headers go straight into the map under their canonical keys: a
	// cache hit is the hottest path of the server (docs/scale.md).
	h := w.Header()
	h["Content-Type"] = hdrMVT
	h["Cache-Control"] = s.tileCacheControl()
	h["Vary"] = hdrVaryEncoding
	if res.Hit {
		h["X-Tile-Cache"] = hdrCacheHit
	} else {
		h["X-Tile-Cache"] = hdrCacheMiss
	}
	gz := !res.Empty() && acceptsGzip(r.Header.Get("Accept-Encoding"))
	// A strong validator names one representation: the gzip one differs.
	// The header values come made with the tile (tiles.Tile) when it has them.
	etag, etagHeader, length := res.ETag, res.ETagHeader, res.LengthHeader
	if gz {
		etag, etagHeader, length = res.GzipETag, res.GzipETagHeader, res.GzipLengthHeader
	}
	if etagHeader == nil {
		etagHeader = []string{etag}
	}
	h["Etag"] = etagHeader
	if ifNoneMatch(r.Header.Get("If-None-Match"), res.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	body := res.Gzip
	if gz {
		h["Content-Encoding"] = hdrGzip
	} else if !res.Empty() {
		if body, err = gunzip(res.Gzip, res.Size); err != nil {
			return geo.Internal("api.handleTile", err)
		}
	}
	if length == nil {
		length = []string{strconv.Itoa(len(body))}
	}
	h["Content-Length"] = length
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return nil
}

// tileCacheControl is the Cache-Control header value of tiles, made once by
// tileRoutes.
func (s *Server) tileCacheControl() []string { return s.tileCacheHeader }

// GET /tiles/{layers}.json: TileJSON 3.0.0 for the comma-separated layers,
// with the data version in the tile URLs.
func (s *Server) handleTileJSON(w http.ResponseWriter, r *http.Request) error {
	allowAnyOrigin(w)
	layers, err := tiles.ParseLayers(mux.Vars(r)["layers"])
	if err != nil {
		return err
	}
	tj, err := s.Tiles.Service.TileJSON(r.Context(), layers, s.publicBase(r))
	if err != nil {
		return err
	}
	body, err := json.Marshal(tj)
	if err != nil {
		return geo.Internal("api.handleTileJSON", err)
	}
	writeRevalidated(w, r, "application/json; charset=utf-8", body)
	return nil
}

// GET /styles/default.json: the default MapLibre style.
func (s *Server) handleStyle(w http.ResponseWriter, r *http.Request) error {
	allowAnyOrigin(w)
	body, err := s.Tiles.Service.Style(r.Context(), s.publicBase(r))
	if err != nil {
		return err
	}
	writeRevalidated(w, r, "application/json; charset=utf-8", body)
	return nil
}

var glyphRange = regexp.MustCompile(`^([0-9]{1,5})-([0-9]{1,5})$`)

// GET /fonts/{fontstack}/{start}-{end}.pbf: glyphs for the style. gridmap
// ships no font: every range is an empty glyph set (an empty protobuf
// message). Chinese text is drawn from the browser's fonts through MapLibre's
// localIdeographFontFamily; other characters do not render (docs/tiles.md).
func (s *Server) handleGlyphs(w http.ResponseWriter, r *http.Request) error {
	allowAnyOrigin(w)
	rg := mux.Vars(r)["range"]
	m := glyphRange.FindStringSubmatch(rg)
	if m == nil {
		return geo.Errorf(geo.EInvalid, "a glyph range is START-END with START a multiple of 256 and END = START+255, got %q", rg)
	}
	start, _ := strconv.Atoi(m[1])
	end, _ := strconv.Atoi(m[2])
	if start%256 != 0 || end != start+255 || end > 65535 {
		return geo.Errorf(geo.EInvalid, "a glyph range is START-END with START a multiple of 256 and END = START+255 up to 65535, got %q", rg)
	}
	h := w.Header()
	h.Set("Content-Type", contentTypeProtobuf)
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

// writeRevalidated writes a small document that clients must revalidate on
// every use (it carries the data version), with an ETag and 304s.
func writeRevalidated(w http.ResponseWriter, r *http.Request, contentType string, body []byte) {
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", etag)
	if ifNoneMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// publicBase is the base of absolute URLs in TileJSON and the style.
func (s *Server) publicBase(r *http.Request) string {
	if s.Tiles.PublicURL != "" {
		return strings.TrimRight(s.Tiles.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// acceptsGzip reads an Accept-Encoding header (RFC 9110 §12.5.3): gzip is
// acceptable when listed (or covered by *) with a q-value above 0.
func acceptsGzip(header string) bool {
	gzipQ, anyQ := -1.0, -1.0
	for rest := header; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		name, params, _ := strings.Cut(part, ";")
		q := 1.0
		for params != "" {
			var p string
			p, params, _ = strings.Cut(params, ";")
			k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
					q = f
				}
			}
		}
		name = strings.TrimSpace(name)
		switch {
		case strings.EqualFold(name, "gzip"), strings.EqualFold(name, "x-gzip"):
			gzipQ = q
		case name == "*":
			anyQ = q
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return anyQ > 0
}

// ifNoneMatch reports whether an If-None-Match header matches etag (weak
// comparison, RFC 9110 §13.1.2), counting the gzip variant of etag as the
// same content.
func ifNoneMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == want || strings.Replace(tag, `-gzip"`, `"`, 1) == want {
			return true
		}
	}
	return false
}

func gunzip(gz []byte, size int) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	out := bytes.NewBuffer(make([]byte, 0, size))
	if _, err := io.Copy(out, zr); err != nil {
		return nil, err
	}
	return out.Bytes(), zr.Close()
}
