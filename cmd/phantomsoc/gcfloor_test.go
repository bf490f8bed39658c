package main

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// gcPercent reads GOGC without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestGCFloor: with a live heap far below the floor, GOGC is raised after a
// collection so that the next goal is the floor; stop puts back 100; a GOGC
// from the environment is left as it is.
func TestGCFloor(t *testing.T) {
	const floor = 1 << 30 // far above this test's live heap
	stop := startGCFloor(floor)
	deadline := time.Now().Add(10 * time.Second)
	for gcPercent() <= 100 {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC = %d after collections, want it raised", gcPercent())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if p := gcPercent(); p > 1000 {
		t.Errorf("GOGC = %d, want at most 1000", p)
	}
	stop()
	runtime.GC()
	time.Sleep(50 * time.Millisecond)
	if p := gcPercent(); p != 100 {
		t.Errorf("after stop, GOGC = %d, want 100", p)
	}

	t.Setenv("GOGC", "100")
	debug.SetGCPercent(80)
	defer debug.SetGCPercent(100)
	stop = startGCFloor(floor)
	runtime.GC()
	time.Sleep(50 * time.Millisecond)
	if p := gcPercent(); p != 80 {
		t.Errorf("with GOGC set, GOGC = %d, want 80 untouched", p)
	}
	stop()
	if p := gcPercent(); p != 80 {
		t.Errorf("with GOGC set, stop changed GOGC to %d", p)
	}
}
