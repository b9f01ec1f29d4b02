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
			t.Setenv("GRIDMAP_MIN_PUBLIC_COUNT", c.min)
			t.Setenv("GRIDMAP_PUBLIC_BUILDING_COUNTS", c.perBuilding)
			cfg, err := configFromEnv(DefaultConfig())
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Counts != c.want {
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
			t.Setenv("GRIDMAP_READ_URL", c.url)
			t.Setenv("GRIDMAP_FEED_POLL", c.poll)
			t.Setenv("GRIDMAP_READ_YOUR_WRITES_WAIT", c.wait)
			cfg, err := configFromEnv(DefaultConfig())
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Scale != c.want {
				t.Errorf("got %+v, want %+v", cfg.Scale, c.want)
			}
		})
	}
}
