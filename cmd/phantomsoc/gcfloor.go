package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// replayHeapFloor is the heap a replay lets grow before collecting. It is
// below the goal GOGC=100 reaches anyway late in a 200,000-line replay
// (12 MB), so the peak does not move, while the collections drop from 22
// to 19 on two cores and from 23 to 17 on one, where the instructions of
// the whole replay drop by 9 % (docs/BENCHMARKS.md; on two cores the CPU
// saved is 2–4 %, within the host's noise). A 12 MB floor saved more and
// cost 1.2 MB of peak RSS.
const replayHeapFloor = 10 << 20

// startGCFloor keeps the collector's heap goal at floor bytes or more
// until stop is called.
//
// GOGC=100 sets the goal at twice the live heap, and a replay's live heap
// is a few megabytes that grows with the sources it tracks: early on it
// collected every 2–4 MB allocated, while its peak came from the last,
// largest cycles anyway. After each cycle this sets GOGC so that the next
// goal is floor, never below 100: once the live heap passes half the
// floor it is collected exactly as by default. A GOGC the user set is left
// alone, so GOGC=100 in the environment turns this off.
func startGCFloor(floor uint64) (stop func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	f := &gcFloor{floor: floor, pct: 100, live: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	f.tune()
	f.arm()
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.stopped = true
		debug.SetGCPercent(100)
	}
}

type gcFloor struct {
	floor uint64
	// mu keeps a cleanup's tune from setting GOGC after stop restored it.
	mu      sync.Mutex
	stopped bool
	pct     int
	live    []metrics.Sample
}

// arm has tune run after the next collection: the cleanup of an object
// nothing references runs once a cycle has found it unreachable.
func (f *gcFloor) arm() {
	runtime.AddCleanup(new([32]byte), func(f *gcFloor) {
		if f.tune() {
			f.arm()
		}
	}, f)
}

// tune sets GOGC for the live heap now; false once stopped.
func (f *gcFloor) tune() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return false
	}
	metrics.Read(f.live)
	live := f.live[0].Value.Uint64()
	pct := 100
	switch {
	case live == 0:
		// Before the first cycle the goal is the runtime's 4 MB
		// minimum, which GOGC scales.
		pct = int(f.floor * 100 / (4 << 20))
	case live < f.floor/2:
		pct = int((f.floor - live) * 100 / live)
	}
	pct = min(pct, 1000) // a nearly empty heap must not make it unbounded
	if pct != f.pct {
		f.pct = pct
		debug.SetGCPercent(pct)
	}
	return true
}
