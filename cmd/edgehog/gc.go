package main

import "runtime/debug"

// defaultGCPercent is the garbage collector's target when GOGC is not set.
// edgehog's live heap is small (a few MiB: pools, the cache index, route
// tables) while it allocates a few KiB per request, so Go's default of 100
// collects dozens of times a second under load; 200 halves that for a few
// MiB of memory (docs/performance.md has the figures). GOGC and GOMEMLIMIT
// in the environment still decide when set.
const defaultGCPercent = 200

// tuneGC applies defaultGCPercent unless the environment sets GOGC, and
// returns the GC target in force (-1: collection off). lookup is the
// process environment (os.LookupEnv), where the Go runtime itself reads
// GOGC, not a command's injected one.
func tuneGC(lookup func(string) (string, bool)) int {
	if _, set := lookup("GOGC"); set {
		cur := debug.SetGCPercent(100)
		debug.SetGCPercent(cur)
		return cur
	}
	debug.SetGCPercent(defaultGCPercent)
	return defaultGCPercent
}
