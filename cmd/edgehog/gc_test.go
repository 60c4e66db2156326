package main

import (
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)

	unset := func(string) (string, bool) { return "", false }
	if got := tuneGC(unset); got != defaultGCPercent {
		t.Errorf("GOGC unset: tuneGC = %d, want %d", got, defaultGCPercent)
	}
	if got := debug.SetGCPercent(100); got != defaultGCPercent {
		t.Errorf("GOGC unset: GC target %d in force, want %d", got, defaultGCPercent)
	}

	// As if the runtime had read GOGC=50 at start: the operator's choice
	// stays.
	debug.SetGCPercent(50)
	set := func(k string) (string, bool) { return "50", k == "GOGC" }
	if got := tuneGC(set); got != 50 {
		t.Errorf("GOGC=50: tuneGC = %d, want 50", got)
	}
	if got := debug.SetGCPercent(100); got != 50 {
		t.Errorf("GOGC=50: GC target %d in force, want 50 (left alone)", got)
	}
}
