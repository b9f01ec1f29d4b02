package main

import (
	"fmt"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"gridmap/data"
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
	if err := durationsFromEnv("500ms", envDuration{"GRIDMAP_FEED_POLL", &cfg.Scale.FeedPoll},
		envDuration{"GRIDMAP_READ_YOUR_WRITES_WAIT", &cfg.Scale.ReadYourWritesWait}); err != nil {
		return cfg, err
	}
	if cfg.Scale.FeedPoll > time.Second {
		return cfg, fmt.Errorf("GRIDMAP_FEED_POLL must be at most 1s (an edit must reach every process within 1 s plus the replay lag), got %s", cfg.Scale.FeedPoll)
	}
	return cfg, nil
}

// envDuration is an environment variable read into a positive duration.
type envDuration struct {
	env string
	dst *time.Duration
}

// durationsFromEnv sets each dst whose variable is set; example goes into
// the error message.
func durationsFromEnv(example string, ds ...envDuration) error {
	for _, d := range ds {
		if v := os.Getenv(d.env); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil || x <= 0 {
				return fmt.Errorf("%s must be a positive duration such as %s, got %q", d.env, example, v)
			}
			*d.dst = x
		}
	}
	return nil
}

// feedCollectors export the change feed's state: the log position this
// process shows, and whether it follows the log now. Compare the position
// across processes (or with the primary's) to see how far one lags.
func feedCollectors(feed *data.ChangeFeed) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gridmap_change_feed_position", Help: "Change log position whose changes this process shows."},
			func() float64 { return float64(feed.Applied()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gridmap_change_feed_connected", Help: "1 when the change feed follows the log of the read server."},
			func() float64 { return b2f(feed.Connected()) }),
	}
}

// readHostCollectors export, per host of GRIDMAP_READ_URL, whether it passed
// its last health check, the public reads sent to it round-robin, and
// whether the change feed (and so the caches) follows it; and the reads
// sent to the primary because every host was behind the floor (data.DB).
func readHostCollectors(db *data.DB) []prometheus.Collector {
	var cs []prometheus.Collector
	for i, h := range db.ReadHosts() {
		labels := prometheus.Labels{"host": h.Addr}
		host := func() data.ReadHost { return db.ReadHosts()[i] }
		cs = append(cs,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gridmap_read_host_up", Help: "1 when the read server passed its last health check.", ConstLabels: labels},
				func() float64 { return b2f(host().Up) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gridmap_read_host_feed", Help: "1 when the change feed and the caches follow this read server.", ConstLabels: labels},
				func() float64 { return b2f(host().Feed) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gridmap_read_host_reads_total", Help: "Public reads sent to this read server round-robin.", ConstLabels: labels},
				func() float64 { return float64(host().Reads) }),
		)
	}
	if len(cs) > 0 {
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gridmap_read_behind_floor_total",
			Help: "Public reads sent to the primary because every read server that was up had replayed less than this process's earlier reads may have seen."},
			func() float64 { _, n := db.ReadFloor(); return float64(n) }))
	}
	return cs
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
