package netlink

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/actions"
	"github.com/phantomsoc/phantomsoc/internal/nstest"
)

// BenchmarkApply adds n block elements in one batch to an empty set, as a
// burst of bans after a scan would.
func BenchmarkApply(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			be, _ := rebuiltB(b)
			batch := actions.Batch{Add: hosts(n, time.Hour)}
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				if err := be.Rebuild(b.Context(), nil); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := be.Apply(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "elements/s")
		})
	}
}

// BenchmarkList reads back a table holding 100,000 block elements.
func BenchmarkList(b *testing.B) {
	// Several sizes: the kernel restarts a set's walk for every dump
	// message, so the cost of reading a set grows faster than its size.
	for _, n := range []int{25_000, 100_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			be, _ := rebuiltB(b, hosts(n, time.Hour)...)
			b.ReportAllocs()
			for b.Loop() {
				st, err := be.List(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				if len(st.Elements) != n {
					b.Fatalf("List: %d elements, want %d", len(st.Elements), n)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "elements/s")
		})
	}
}

// BenchmarkNftProcesses is the peer way, for comparison: one `nft add
// element` process per ban, as fail2ban's nftables action runs them. The
// processes run in the namespace directly (forked from a thread inside it),
// so `ip netns exec` is not measured.
func BenchmarkNftProcesses(b *testing.B) {
	const n = 1000
	be, ns := rebuiltB(b)
	elems := hosts(n, time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		if err := be.Rebuild(b.Context(), nil); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		err := nstest.Do(ns, func() error {
			for _, e := range elems {
				out, err := exec.Command("nft", "add", "element", "inet", "phantomsoc", e.Set,
					"{ "+e.Prefix.Addr().String()+" timeout 1h }").CombinedOutput()
				if err != nil {
					return fmt.Errorf("nft add element %s: %v: %s", e.Prefix, err, out)
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "elements/s")
}

// BenchmarkNftFile is the text backend's way: one `nft -f` process loading
// actions.RenderBatch of n elements.
func BenchmarkNftFile(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			be, ns := rebuiltB(b)
			script := actions.RenderBatch(actions.Batch{Add: hosts(n, time.Hour)})
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				if err := be.Rebuild(b.Context(), nil); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				err := nstest.Do(ns, func() error {
					cmd := exec.Command("nft", "-f", "-")
					cmd.Stdin = strings.NewReader(script)
					if out, err := cmd.CombinedOutput(); err != nil {
						return fmt.Errorf("nft -f: %v: %s", err, out)
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "elements/s")
		})
	}
}

func rebuiltB(b *testing.B, elems ...actions.Element) (*Backend, string) {
	b.Helper()
	ns := emptyNS(b)
	be := open(b, testLayout(), ns)
	if err := be.Rebuild(b.Context(), elems); err != nil {
		b.Fatalf("Rebuild: %v", err)
	}
	return be, ns
}
