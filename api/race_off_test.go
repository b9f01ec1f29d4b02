//go:build !race

package api_test

const raceEnabled = false

// raceAllocs is how many allocations per request the race detector adds at most.
const raceAllocs = 0
