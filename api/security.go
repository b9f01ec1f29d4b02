package api

import "net/http"

// securityHeaders sets the headers every response carries: the configured
// Content-Security-Policy (the browser applies it to the HTML pages; it
// includes frame-ancestors 'none'), no framing for browsers that predate
// frame-ancestors, and no MIME sniffing.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if s.cfg.ContentSecurityPolicy != "" {
			h.Set("Content-Security-Policy", s.cfg.ContentSecurityPolicy)
		}
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}
