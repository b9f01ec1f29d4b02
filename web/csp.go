package web

import (
	"net/url"
	"strings"
)

// ContentSecurityPolicy is the Content-Security-Policy of gridmap's pages
// (/, /admin, the building and grid pages, posters) for cfg. What they need:
// scripts, styles and fonts from the bundle only (no inline script or style
// attribute anywhere); MapLibre's worker, a module under /assets/ (blob: too,
// in case MapLibre makes one); images from the server, data: (avatars, icons)
// and blob: (MapLibre's rendering); and the raster basemap's origin, when one
// is configured, for images and fetches (MapLibre fetches tiles in its worker,
// which gets the same header). No page may be framed: frame-ancestors 'none'.
func ContentSecurityPolicy(cfg Config) string {
	remote := ""
	if cfg.Basemap != nil {
		if o := basemapOrigin(cfg.Basemap.URL); o != "" {
			remote = " " + o
		}
	}
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self' data: blob:" + remote,
		"connect-src 'self'" + remote,
		"worker-src 'self' blob:",
		"font-src 'self' data:",
		"object-src 'none'",
		"base-uri 'self'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}

// basemapOrigin is the scheme and host of a tile URL template, as a CSP
// source: "https://t0.tianditu.gov.cn". A placeholder in the host
// ("https://webrd0{s}.is.autonavi.com/…") widens it to the parent domain
// ("https://*.is.autonavi.com"). "" when the template is not an absolute
// http(s) URL (a path on this server is covered by 'self').
func basemapOrigin(template string) string {
	scheme, rest, ok := strings.Cut(template, "://")
	scheme = strings.ToLower(scheme)
	if !ok || scheme != "http" && scheme != "https" {
		return ""
	}
	host := rest
	if i := strings.IndexAny(host, "/?#"); i >= 0 {
		host = host[:i]
	}
	if i := strings.LastIndex(host, "@"); i >= 0 {
		host = host[i+1:] // user info is no part of an origin
	}
	if strings.ContainsAny(host, "{}") {
		first, parent, ok := strings.Cut(host, ".")
		if !ok || strings.ContainsAny(parent, "{}") || !strings.ContainsAny(first, "{}") {
			return ""
		}
		host = "*." + parent
	}
	if host == "" || strings.ContainsAny(host, " ;,'\"") {
		return ""
	}
	if _, err := url.Parse(scheme + "://" + strings.Replace(host, "*.", "x.", 1)); err != nil {
		return ""
	}
	return scheme + "://" + host
}
