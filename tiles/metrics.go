package tiles

import "github.com/prometheus/client_golang/prometheus"

// metrics are the cache's Prometheus collectors.
type metrics struct {
	hits, misses, queries, invalidations prometheus.Counter
	bytes                                prometheus.Gauge
}

func newMetrics(c *Cache, reg prometheus.Registerer) *metrics {
	m := &metrics{
		hits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridmap_tile_cache_hits_total", Help: "Tile requests answered from the in-process cache."}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridmap_tile_cache_misses_total", Help: "Tile requests not in the cache (their own query or one shared with concurrent requests)."}),
		queries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridmap_tile_queries_total", Help: "Tile queries sent to the database."}),
		invalidations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridmap_tile_cache_invalidations_total", Help: "Cached tiles removed because a change or a feed reset made them stale."}),
		bytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gridmap_tile_cache_bytes", Help: "Bytes the tile cache holds (gzip bytes plus a fixed overhead per tile)."}),
	}
	if reg != nil {
		entries := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gridmap_tile_cache_entries", Help: "Tiles the cache holds.",
		}, func() float64 { return float64(c.Stats().Entries) })
		reg.MustRegister(m.hits, m.misses, m.queries, m.invalidations, m.bytes, entries)
	}
	return m
}
