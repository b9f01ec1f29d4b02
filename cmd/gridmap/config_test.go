package main

import (
	"strings"
	"testing"
	"time"

	"gridmap/geo"
)

// TestConfigReadsSmallCountRule: GRIDMAP_MIN_PUBLIC_COUNT and
// GRIDMAP_PUBLIC_BUILDING_COUNTS are read once, here, into Config.Counts.
func TestConfigReadsSmallCountRule(t *testing.T) {
	for _, c := range []struct {
		name, min, perBuilding string
		want                   geo.CountPolicy
		wantErr                string
	}{
		{"defaults: 5, per grid only", "", "", geo.CountPolicy{MinPublicCount: 5}, ""},
		{"a higher threshold", "10", "", geo.CountPolicy{MinPublicCount: 10}, ""},
		{"per building too", "", "1", geo.CountPolicy{MinPublicCount: 5, PublicBuildingCounts: true}, ""},
		{"zero is refused", "0", "", geo.CountPolicy{}, "GRIDMAP_MIN_PUBLIC_COUNT must be a whole number >= 1"},
		{"text is refused", "five", "", geo.CountPolicy{}, "GRIDMAP_MIN_PUBLIC_COUNT must be a whole number >= 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, ok := configWith(t, c.wantErr, map[string]string{
				"GRIDMAP_MIN_PUBLIC_COUNT": c.min, "GRIDMAP_PUBLIC_BUILDING_COUNTS": c.perBuilding})
			if ok && cfg.Counts != c.want {
				t.Errorf("got %+v, want %+v", cfg.Counts, c.want)
			}
		})
	}
}

// TestConfigReadsScale: GRIDMAP_READ_URL, GRIDMAP_FEED_POLL and
// GRIDMAP_READ_YOUR_WRITES_WAIT are read into Config.Scale; a poll slower
// than the 1 s bound is refused.
func TestConfigReadsScale(t *testing.T) {
	for _, c := range []struct {
		name, url, poll, wait string
		want                  ScaleConfig
		wantErr               string
	}{
		{"defaults: everything on the primary", "", "", "", ScaleConfig{}, ""},
		{"a replica", "postgres://r1,r2/gridmap?target_session_attrs=prefer-standby", "500ms", "1s",
			ScaleConfig{ReadURL: "postgres://r1,r2/gridmap?target_session_attrs=prefer-standby", FeedPoll: 500 * time.Millisecond, ReadYourWritesWait: time.Second}, ""},
		{"a poll over the bound is refused", "", "2s", "", ScaleConfig{}, "GRIDMAP_FEED_POLL must be at most 1s"},
		{"a wait that is not a duration is refused", "", "", "soon", ScaleConfig{}, "GRIDMAP_READ_YOUR_WRITES_WAIT must be a positive duration"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, ok := configWith(t, c.wantErr, map[string]string{
				"GRIDMAP_READ_URL": c.url, "GRIDMAP_FEED_POLL": c.poll, "GRIDMAP_READ_YOUR_WRITES_WAIT": c.wait})
			if ok && cfg.Scale != c.want {
				t.Errorf("got %+v, want %+v", cfg.Scale, c.want)
			}
		})
	}
}

// configWith reads the configuration with env set. With wantErr it requires
// an error containing it and answers ok false; otherwise it requires none.
func configWith(t *testing.T, wantErr string, env map[string]string) (Config, bool) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg, err := configFromEnv(DefaultConfig())
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("got error %v, want %q", err, wantErr)
		}
		return cfg, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return cfg, true
}
