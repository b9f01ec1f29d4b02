//go:build race

package api_test

// raceEnabled: the race detector changes allocation counts (TestTileHitAllocations).
const raceEnabled = true

// raceAllocs is how many allocations per request the race detector adds at most.
const raceAllocs = 1
