package route

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// benchTree is a 50-route tree: the root, 7 routes by scenario family and
// 6 children each by risk, role, country and gateway.
func benchTree(tb testing.TB) *Router {
	tb.Helper()
	cfg := Config{Route: Route{Receiver: "r0", GroupBy: []string{"scenario", "host"}}}
	cfg.Receivers = []string{"r0"}
	families := []string{"ssh", "ids", "web", "dns", "smtp", "vpn", "db"}
	kids := [][]string{
		{"risk>=9", "role!=lab"},
		{"risk>=7", "country!~FR|DE|NL"},
		{"role=~web|api"},
		{"gateway=~(.*,)?gw-edge(,.*)?"},
		{"severity>5", "asn=~4134|4837"},
		{"host=~db.*"},
	}
	for i, f := range families {
		top := Route{Matchers: []string{"scenario=~" + f + "-.*"}, Receiver: fmt.Sprintf("r%d", i+1)}
		cfg.Receivers = append(cfg.Receivers, top.Receiver)
		for j, ms := range kids {
			name := fmt.Sprintf("r%d-%d", i+1, j)
			cfg.Receivers = append(cfg.Receivers, name)
			top.Routes = append(top.Routes, Route{Matchers: ms, Receiver: name, Continue: j%2 == 0})
		}
		cfg.Route.Routes = append(cfg.Route.Routes, top)
	}
	r, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if n := len(r.nodes); n != 50 {
		tb.Fatalf("bench tree has %d routes, want 50", n)
	}
	return r
}

// benchAlerts returns n distinct alerts spread over the families, hosts
// and sources; the last family ("other") falls through to the root.
func benchAlerts(n int) []*engine.Alert {
	families := []string{"ssh", "ids", "web", "dns", "smtp", "vpn", "db", "other"}
	roles := []string{"web", "api", "lab", "db", "mail"}
	countries := []string{"CN", "FR", "US", "RU", "DE", "BR"}
	out := make([]*engine.Alert, n)
	for i := range out {
		src := netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})
		out[i] = &engine.Alert{
			Scenario: families[i%len(families)] + "-bruteforce",
			Key:      src.String(), Source: src,
			Host:     fmt.Sprintf("host%d", i%500),
			Severity: float64(i % 11), Risk: float64(i%101) / 10,
			Labels: map[string]string{
				"role": roles[i%len(roles)], "country": countries[i%len(countries)],
				"asn": fmt.Sprint(4134 + i%4), "gateway": "gw-core,gw-edge",
			},
		}
	}
	return out
}

func BenchmarkMatch(b *testing.B) {
	r := benchTree(b)
	as := benchAlerts(1000)
	labels := make([]map[string]string, len(as))
	for i, a := range as {
		labels[i] = Labels(a)
	}
	var dst []*node
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		dst = r.match(labels[i%len(labels)], dst[:0])
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
}

func BenchmarkLabelsMatch(b *testing.B) {
	r := benchTree(b)
	as := benchAlerts(1000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Match(Labels(as[i%len(as)]))
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
}

// BenchmarkDispatcherAddTick adds one alert and ticks, 1ms of fake time
// apart: 10,000 distinct alerts cycle, so most adds are deduplicated
// updates of active alerts, with group flushes every group_interval.
func BenchmarkDispatcherAddTick(b *testing.B) {
	r := benchTree(b)
	as := benchAlerts(10000)
	now := wed
	d, err := NewDispatcher(r, Options{Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i, sent := 0, 0
	for b.Loop() {
		now = now.Add(time.Millisecond)
		d.Add(as[i%len(as)])
		sent += len(d.Tick(now))
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
	b.ReportMetric(float64(len(d.groups)), "groups")
	b.ReportMetric(float64(sent)/float64(b.N), "notifications/alert")
}

// BenchmarkActiveGroupMemory measures the heap held per active group
// holding one alert (alert copy, labels, group, queue and index entries).
func BenchmarkActiveGroupMemory(b *testing.B) {
	r := benchTree(b)
	const n = 10000
	as := benchAlerts(n)
	for i, a := range as {
		a.Host = fmt.Sprintf("host%d", i) // one group per alert
	}
	var perGroup float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		d, err := NewDispatcher(r, Options{Now: func() time.Time { return wed }})
		if err != nil {
			b.Fatal(err)
		}
		for _, a := range as {
			d.Add(a)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if len(d.groups) < n {
			b.Fatalf("%d groups, want at least %d", len(d.groups), n)
		}
		perGroup = float64(after.HeapAlloc-before.HeapAlloc) / float64(len(d.groups))
		runtime.KeepAlive(d)
	}
	b.ReportMetric(perGroup, "B/group")
}
