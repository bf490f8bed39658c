package engine

import (
	"sync"
	"time"
)

// Histogram is a small concurrency-safe latency histogram with
// power-of-two microsecond buckets: coarse, but constant memory and good
// enough to tell a 50 µs p99 from a 5 ms one.
type Histogram struct {
	mu      sync.Mutex
	buckets [40]uint64 // bucket i holds durations < 2^i µs
	n       uint64
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram { return &Histogram{} }

// Observe records one duration.
func (h *Histogram) Observe(d time.Duration) {
	us := d.Microseconds()
	i := 0
	for i < len(h.buckets)-1 && int64(1)<<i <= us {
		i++
	}
	h.mu.Lock()
	h.buckets[i]++
	h.n++
	h.mu.Unlock()
}

// Count is the number of observations.
func (h *Histogram) Count() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// Quantile returns an upper bound of the q-quantile (0 < q <= 1): the upper
// edge of the bucket that holds it. Zero when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.buckets {
		seen += c
		if seen >= rank {
			return time.Duration(int64(1)<<i) * time.Microsecond
		}
	}
	return time.Duration(int64(1)<<(len(h.buckets)-1)) * time.Microsecond
}
