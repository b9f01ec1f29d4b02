package main

import (
	"fmt"
	"os"
	"time"
)

// ScaleConfig configures replicas and read-your-writes (docs/scale.md).
type ScaleConfig struct {
	// ReadURL (GRIDMAP_READ_URL) is the server of the public reads and of
	// the change feed, e.g. a streaming replica; a multi-host URL with
	// target_session_attrs (prefer-standby, any) is allowed. "": the primary.
	ReadURL string
	// FeedPoll (GRIDMAP_FEED_POLL) is how often the change feed reads the log
	// when no NOTIFY wakes it (always, on a replica); default 200ms.
	FeedPoll time.Duration
	// ReadYourWritesWait (GRIDMAP_READ_YOUR_WRITES_WAIT) bounds how long a
	// client's read waits for this process to show its last write; past it,
	// its database reads go to the primary. Default 2s.
	ReadYourWritesWait time.Duration
}

func scaleConfigFromEnv(cfg Config) (Config, error) {
	cfg.Scale.ReadURL = os.Getenv("GRIDMAP_READ_URL")
	for _, d := range []struct {
		name string
		to   *time.Duration
	}{{"GRIDMAP_FEED_POLL", &cfg.Scale.FeedPoll}, {"GRIDMAP_READ_YOUR_WRITES_WAIT", &cfg.Scale.ReadYourWritesWait}} {
		if v := os.Getenv(d.name); v != "" {
			t, err := time.ParseDuration(v)
			if err != nil || t <= 0 {
				return cfg, fmt.Errorf("%s must be a duration such as 500ms, got %q", d.name, v)
			}
			*d.to = t
		}
	}
	if cfg.Scale.FeedPoll > time.Second {
		return cfg, fmt.Errorf("GRIDMAP_FEED_POLL must be at most 1s (an edit must reach every process within 1 s plus the replay lag), got %s", cfg.Scale.FeedPoll)
	}
	return cfg, nil
}
