//go:build race

package memory

// raceEnabled reports whether the tests run under the race detector,
// which makes every write many times slower.
const raceEnabled = true
