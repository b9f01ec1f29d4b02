package api

import (
	"net/http"
	"strings"
)

// securityHeaders sets the headers every response carries, and those only a
// document needs. Every response: no MIME sniffing. Every response but a
// tile's (/tiles/…: a vector tile is data a map script fetches, never a
// document a browser shows or frames): the configured
// Content-Security-Policy (it includes frame-ancestors 'none') and no framing
// for browsers that predate frame-ancestors. A tile's CORS and cache headers
// are its handler's.
// hdrNosniff is the value every response carries, made once (see the map
// routes' header values in tiles.go).
var hdrNosniff = []string{"nosniff"}

func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = hdrNosniff
		if !strings.HasPrefix(r.URL.Path, "/tiles/") {
			if s.cfg.ContentSecurityPolicy != "" {
				h.Set("Content-Security-Policy", s.cfg.ContentSecurityPolicy)
			}
			h.Set("X-Frame-Options", "DENY")
		}
		next.ServeHTTP(w, r)
	})
}
