//go:build race

package api_test

// raceEnabled: the race detector changes allocation counts (TestTileHitAllocations).
const raceEnabled = true
