//go:build !race

package e2e

// raceEnabled reports whether the tests run under the race detector; the
// edgehog binary the SDK tests talk to is then built with -race as well.
const raceEnabled = false
