//go:build race

package api_test

// raceEnabled: the race detector changes allocation counts (TestTileHitAllocations).
const raceEnabled = true

// raceAllocs is how many allocations per request the race detector adds at
// most: one of its own, and one more at times because under the race
// detector sync.Pool drops a quarter of what is put back (slog's buffers).
const raceAllocs = 2
