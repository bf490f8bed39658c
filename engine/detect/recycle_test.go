package detect

import (
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/phantomsoc/phantomsoc/engine"
)

// TestRecycledStatesStartClean runs every case after a burst of other keys
// that a day of quiet swept away: the new keys get the swept keys' states,
// and must alert exactly as fresh ones do.
func TestRecycledStatesStartClean(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/input.jsonl")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, in := range dirs {
		t.Run(filepath.Base(filepath.Dir(in)), func(t *testing.T) {
			evs := readEvents(t, in)
			if len(evs) == 0 {
				t.Skip("no events")
			}
			start := slices.MinFunc(evs, func(a, b engine.Event) int { return a.Time.Compare(b.Time) }).Time
			want := summarize(run(defaultDetector(t), slices.Clone(evs)))

			d := defaultDetector(t)
			burst := start.Add(-48 * time.Hour)
			for i := range 2000 {
				ev := engine.Event{
					Time: burst.Add(time.Duration(i) * time.Second), Type: engine.TypeSSHInvalidUser,
					Indicator: true, Source: netip.AddrFrom4([4]byte{100, 64, byte(i / 250), byte(i % 250)}),
					Host: "burst", User: "u" + string(rune('a'+i%26)),
				}
				d.Observe(&ev, nil)
			}
			var got []engine.Alert
			for _, a := range run(d, slices.Clone(evs)) {
				if !a.Time.Before(start) {
					got = append(got, a)
				}
			}
			if diff := cmp.Diff(want, summarize(got), cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
				cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Errorf("alerts after recycling (-fresh +recycled):\n%s", diff)
			}
		})
	}
}
