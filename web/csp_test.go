package web

import (
	"strings"
	"testing"
)

func TestBasemapOriginMissingFromCSP(t *testing.T) {
	for _, tc := range []struct{ name, url, want string }{
		{"tianditu", "https://t0.tianditu.gov.cn/img_w/wmts?SERVICE=WMTS&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=KEY", "https://t0.tianditu.gov.cn"},
		{"port", "http://tiles.local:8081/{z}/{x}/{y}.png", "http://tiles.local:8081"},
		{"placeholder in the host", "https://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}", "https://*.is.autonavi.com"},
		{"user info dropped", "https://user:pw@tiles.example.cn/{z}/{x}/{y}.png", "https://tiles.example.cn"},
		{"path on this server", "/basemap/{z}/{x}/{y}.png", ""},
		{"injection attempt", "https://a.example; script-src *", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := basemapOrigin(tc.url); got != tc.want {
				t.Errorf("basemapOrigin(%q) = %q, want %q", tc.url, got, tc.want)
			}
			csp := ContentSecurityPolicy(Config{Basemap: &Basemap{URL: tc.url}})
			for _, dir := range strings.Split(csp, "; ") {
				if tc.want != "" && (strings.HasPrefix(dir, "img-src ") || strings.HasPrefix(dir, "connect-src ")) && !strings.HasSuffix(dir, " "+tc.want) {
					t.Errorf("%q lacks %s", dir, tc.want)
				}
			}
			if strings.Count(csp, "script-src") != 1 || !strings.Contains(csp, "script-src 'self';") {
				t.Errorf("script-src changed by the basemap URL: %s", csp)
			}
		})
	}
	if csp := ContentSecurityPolicy(Config{}); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "http") {
		t.Errorf("without a basemap: %s", csp)
	}
}
