package synth

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// generated caches logs by Lines so the expensive ones are built once.
var (
	generatedMu sync.Mutex
	generated   = map[int]genResult{}
)

type genResult struct {
	out   string
	truth Truth
	// addrs maps every address in the log to the first line showing it.
	addrs map[netip.Addr]string
}

func generate(t testing.TB, lines int) (string, Truth) {
	t.Helper()
	generatedMu.Lock()
	defer generatedMu.Unlock()
	if r, ok := generated[lines]; ok {
		return r.out, r.truth
	}
	o := DefaultOptions()
	o.Lines = lines
	var b bytes.Buffer
	tr, err := Generate(&b, o)
	if err != nil {
		t.Fatalf("Generate(Lines=%d): %v", lines, err)
	}
	addrs := map[netip.Addr]string{}
	for line := range strings.Lines(b.String()) {
		for _, a := range addrsIn(line) {
			if _, ok := addrs[a]; !ok {
				addrs[a] = line
			}
		}
	}
	generated[lines] = genResult{b.String(), tr, addrs}
	return b.String(), tr
}

// logged returns the addresses in the log of generate(t, lines), each with
// the first line showing it.
func logged(t testing.TB, lines int) map[netip.Addr]string {
	generate(t, lines)
	generatedMu.Lock()
	defer generatedMu.Unlock()
	return generated[lines].addrs
}

// sizes are the logs most tests check: the default week, a tiny and the
// bench-sized one.
var sizes = []struct {
	name  string
	lines int
}{
	{"default", 0},
	{"1k", 1000},
	{"200k", 200000},
}

func TestDeterministic(t *testing.T) {
	for _, lines := range []int{0, 5000} {
		o := DefaultOptions()
		o.Lines = lines
		var a, b bytes.Buffer
		ta, err := Generate(&a, o)
		if err != nil {
			t.Fatal(err)
		}
		tb, err := Generate(&b, o)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("Lines=%d: two runs differ", lines)
		}
		for c, s := range ta.Sources {
			if !slices.Equal(s, tb.Sources[c]) {
				t.Errorf("Lines=%d: truth for %s differs", lines, c)
			}
		}
		o.Seed = 2
		var c bytes.Buffer
		if _, err := Generate(&c, o); err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(a.Bytes(), c.Bytes()) {
			t.Errorf("Lines=%d: seeds 1 and 2 give the same log", lines)
		}
	}
}

// addrTokens returns the runs of hex digits, colons and dots in line that
// hold a colon or a dot: everything that could be an address.
func addrTokens(line string) []string {
	var out []string
	start, sep := -1, false
	for i := 0; i <= len(line); i++ {
		c := byte(' ')
		if i < len(line) {
			c = line[i]
		}
		if c == ':' || c == '.' || '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' {
			if start < 0 {
				start, sep = i, false
			}
			sep = sep || c == ':' || c == '.'
			continue
		}
		if start >= 0 && sep {
			out = append(out, line[start:i])
		}
		start = -1
	}
	return out
}

// addrsIn returns every token of line that parses as an address, trying
// with trailing punctuation removed as well.
func addrsIn(line string) []netip.Addr {
	var out []netip.Addr
	for _, tok := range addrTokens(line) {
		for s := tok; s != ""; s = s[:len(s)-1] {
			if a, err := netip.ParseAddr(s); err == nil {
				out = append(out, a)
				break
			}
			if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, ":") {
				break
			}
		}
	}
	return out
}

var docNets = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("2001:db8::/32"),
}

func isDoc(a netip.Addr) bool {
	for _, p := range docNets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func TestOnlyDocumentationAddresses(t *testing.T) {
	for _, tc := range sizes {
		t.Run(tc.name, func(t *testing.T) {
			_, tr := generate(t, tc.lines)
			addrs := logged(t, tc.lines)
			for a, line := range addrs {
				// sshd's own listening addresses are the wildcards.
				if !isDoc(a) && !(a.IsUnspecified() && strings.Contains(line, "Server listening on")) {
					t.Errorf("non-documentation address %v in %q", a, line)
				}
			}
			if len(addrs) == 0 {
				t.Fatal("no addresses found: the tokenizer is broken")
			}
			for c, srcs := range tr.Sources {
				for _, a := range srcs {
					if !isDoc(a) {
						t.Errorf("truth %s: non-documentation address %v", c, a)
					}
				}
			}
		})
	}
}

func TestTimeOrder(t *testing.T) {
	for _, tc := range sizes {
		t.Run(tc.name, func(t *testing.T) {
			out, _ := generate(t, tc.lines)
			o := DefaultOptions()
			var prev time.Time
			for line := range strings.Lines(out) {
				if len(line) < len(stamp) {
					t.Fatalf("short line %q", line)
				}
				ts, err := time.Parse(stamp+" 2006", line[:len(stamp)]+" 2026")
				if err != nil {
					t.Fatalf("time.Parse(%q) = %v", line[:len(stamp)], err)
				}
				if ts.Before(prev) {
					t.Fatalf("%q goes back in time from %v", line, prev)
				}
				if ts.Before(o.Start) || !ts.Before(o.Start.Add(o.Duration)) {
					t.Fatalf("%q is outside [%v, %v)", line, o.Start, o.Start.Add(o.Duration))
				}
				prev = ts
			}
		})
	}
}

func TestLinesExact(t *testing.T) {
	for _, n := range []int{1, 10, 100, 1000, 4321, 200000} {
		out, tr := generate(t, n)
		if got := strings.Count(out, "\n"); got != n {
			t.Errorf("Lines=%d: wrote %d lines", n, got)
		}
		if tr.Lines != n {
			t.Errorf("Lines=%d: Truth.Lines = %d", n, tr.Lines)
		}
		if !strings.HasSuffix(out, "\n") {
			t.Errorf("Lines=%d: last line not terminated", n)
		}
	}
}

func TestEveryClassPresent(t *testing.T) {
	for _, tc := range sizes {
		t.Run(tc.name, func(t *testing.T) {
			_, tr := generate(t, tc.lines)
			addrs := logged(t, tc.lines)
			for _, c := range Classes() {
				srcs := tr.Sources[c]
				if len(srcs) == 0 {
					t.Errorf("class %s: no sources in truth", c)
				}
				for _, a := range srcs {
					if _, ok := addrs[a]; !ok {
						t.Errorf("class %s: %v not in the log", c, a)
					}
				}
			}
			if len(tr.DensePrefixes) == 0 {
				t.Fatal("no dense prefixes")
			}
			dist := tr.Sources[ClassDistributed]
			for _, p := range tr.DensePrefixes {
				n := 0
				for _, a := range dist {
					if p.Contains(a) {
						n++
					}
				}
				if n < 8 {
					t.Errorf("dense prefix %v covers %d campaign sources, want at least 8", p, n)
				}
				for c, srcs := range tr.Sources {
					if c == ClassDistributed {
						continue
					}
					for _, a := range srcs {
						if p.Contains(a) {
							t.Errorf("dense prefix %v covers %s source %v", p, c, a)
						}
					}
				}
			}
		})
	}
}

func TestDefaultMix(t *testing.T) {
	_, tr := generate(t, 0)
	want := map[Class]int{ClassFast: 4, ClassSlow: 3, ClassDistributed: 60, ClassEnumeration: 2,
		ClassScanner: 4, ClassCompromise: 1, ClassLegit: 8}
	for c, n := range want {
		if got := len(tr.Sources[c]); got != n {
			t.Errorf("default %s sources = %d, want %d", c, got, n)
		}
	}
	want3 := []netip.Prefix{netip.MustParsePrefix("203.0.113.16/28"), netip.MustParsePrefix("198.51.100.96/28"),
		netip.MustParsePrefix("2001:db8:bad::/120")}
	if len(tr.DensePrefixes) != len(want3) {
		t.Fatalf("DensePrefixes = %v, want %d inside %v", tr.DensePrefixes, len(want3), want3)
	}
	for i, p := range tr.DensePrefixes {
		if !want3[i].Overlaps(p) || p.Bits() < want3[i].Bits() {
			t.Errorf("DensePrefixes[%d] = %v, want inside %v", i, p, want3[i])
		}
	}
}

func TestPoolsDisjoint(t *testing.T) {
	legitNets := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8:cafe::/48")}
	inLegit := func(a netip.Addr) bool {
		return legitNets[0].Contains(a) || legitNets[1].Contains(a)
	}
	for _, tc := range sizes {
		t.Run(tc.name, func(t *testing.T) {
			_, tr := generate(t, tc.lines)
			owner := map[netip.Addr]Class{}
			for c, srcs := range tr.Sources {
				for _, a := range srcs {
					if prev, ok := owner[a]; ok {
						t.Errorf("%v is both %s and %s", a, prev, c)
					}
					owner[a] = c
					if (c == ClassLegit) != inLegit(a) {
						t.Errorf("%s source %v: legit pool membership %v", c, a, inLegit(a))
					}
				}
			}
			// at least one legit user is in 192.0.2.0/24
			if !slices.ContainsFunc(tr.Sources[ClassLegit], legitNets[0].Contains) {
				t.Error("no legit user in 192.0.2.0/24")
			}
		})
	}
}

// failures returns, per source address, the times of its Failed password lines.
func failures(t *testing.T, out string) map[netip.Addr][]time.Time {
	t.Helper()
	m := map[netip.Addr][]time.Time{}
	for line := range strings.Lines(out) {
		if !strings.Contains(line, "]: Failed password for ") {
			continue
		}
		_, rest, _ := strings.Cut(line, " from ")
		as, _, _ := strings.Cut(rest, " ")
		a, err := netip.ParseAddr(as)
		if err != nil {
			t.Fatalf("ParseAddr(%q) from %q: %v", as, line, err)
		}
		ts, err := time.Parse(stamp+" 2006", line[:len(stamp)]+" 2026")
		if err != nil {
			t.Fatal(err)
		}
		m[a] = append(m[a], ts)
	}
	return m
}

func TestSlowSpacing(t *testing.T) {
	for _, tc := range sizes {
		t.Run(tc.name, func(t *testing.T) {
			out, tr := generate(t, tc.lines)
			fails := failures(t, out)
			for _, a := range tr.Sources[ClassSlow] {
				ts := fails[a]
				if len(ts) < 3 {
					t.Errorf("slow %v: %d failures, want several", a, len(ts))
				}
				for i := 1; i < len(ts); i++ {
					if gap := ts[i].Sub(ts[i-1]); gap < 10*time.Minute {
						t.Errorf("slow %v: failures %v apart at %v", a, gap, ts[i])
					}
				}
			}
		})
	}
}

func TestLegitTypos(t *testing.T) {
	out, tr := generate(t, 0)
	fails := failures(t, out)
	legit := tr.Sources[ClassLegit]
	typoDays := 0
	for _, a := range legit {
		days := map[int]int{}
		for _, ts := range fails[a] {
			days[ts.YearDay()]++
		}
		for d, n := range days {
			if n > 4 {
				t.Errorf("legit %v: %d failures on day %d", a, n, d)
			}
		}
		if len(days) == 7 {
			typoDays++
		}
	}
	if typoDays == 0 {
		t.Error("no legit user mistypes on every day of the week")
	}
	// Every legit connection with failures ends in an accepted login.
	pending := map[string]bool{}
	for line := range strings.Lines(out) {
		pid, _, _ := strings.Cut(line[len(stamp)+1:], ": ")
		switch {
		case strings.Contains(line, "Failed password for ") && slices.ContainsFunc(legit, func(a netip.Addr) bool {
			return strings.Contains(line, " "+a.String()+" port ")
		}):
			pending[pid] = true
		case strings.Contains(line, "Accepted "):
			delete(pending, pid)
		}
	}
	if len(pending) > 0 {
		t.Errorf("legit connections failing without a login: %v", pending)
	}
}

// TestRepeat: each copy is the first with its stamps a period later and
// its PIDs new, in time order, with the same population.
func TestRepeat(t *testing.T) {
	const lines, copies = 4321, 3
	once, truth1 := generate(t, lines)
	o := DefaultOptions()
	o.Lines, o.Repeat = lines, copies
	o.Start = o.Start.Add(-o.Duration * (copies - 1))
	var b bytes.Buffer
	truth, err := Generate(&b, o)
	if err != nil {
		t.Fatal(err)
	}
	if truth.Lines != lines*copies || strings.Count(b.String(), "\n") != lines*copies {
		t.Fatalf("Truth.Lines = %d, %d lines written; want %d", truth.Lines, strings.Count(b.String(), "\n"), lines*copies)
	}
	if !reflect.DeepEqual(truth.Sources, truth1.Sources) || !slices.Equal(truth.DensePrefixes, truth1.DensePrefixes) {
		t.Errorf("the repeated log's population differs from one copy's")
	}
	// With the same end, the last copy's stamps are the single log's.
	first := strings.SplitAfter(once, "\n")
	all := strings.SplitAfter(b.String(), "\n")
	pid := regexp.MustCompile(`sshd\[([0-9]+)\]`)
	// Logind sessions are numbered on too.
	anyPID := regexp.MustCompile(`\[[0-9]+\]|(?i:session) [0-9]+`)
	// Every copy's connections are new processes: their PIDs come after
	// all of the copy before's (804 is sshd itself).
	minPID, maxPID := make([]int, copies), make([]int, copies)
	for i, line := range all[:len(all)-1] {
		k, want := i/lines, first[i%lines]
		ts, err := time.Parse(stamp+" 2006", line[:len(stamp)]+" 2026")
		if err != nil {
			t.Fatal(err)
		}
		ts0, _ := time.Parse(stamp+" 2006", want[:len(stamp)]+" 2026")
		if shift := ts0.Sub(ts); shift != o.Duration*time.Duration(copies-1-k) {
			t.Fatalf("line %d %q: %v before the single log's %q, want %v", i+1, line, shift, want, o.Duration*time.Duration(copies-1-k))
		}
		if got, w := anyPID.ReplaceAllString(line[len(stamp):], "[]"), anyPID.ReplaceAllString(want[len(stamp):], "[]"); got != w {
			t.Fatalf("line %d = %q, want %q up to stamp and PID", i+1, line, want)
		}
		if m := pid.FindStringSubmatch(line); m != nil && m[1] != "804" {
			n, _ := strconv.Atoi(m[1])
			if minPID[k] == 0 || n < minPID[k] {
				minPID[k] = n
			}
			maxPID[k] = max(maxPID[k], n)
		}
	}
	for k := 1; k < copies; k++ {
		if minPID[k] <= maxPID[k-1] {
			t.Errorf("copy %d reuses PIDs: lowest %d, copy %d's highest %d", k, minPID[k], k-1, maxPID[k-1])
		}
	}
}

func TestOptionsErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Options)
	}{
		{"negative lines", func(o *Options) { o.Lines = -1 }},
		{"negative duration", func(o *Options) { o.Duration = -time.Hour }},
		{"host with space", func(o *Options) { o.Host = "gw 1" }},
		{"ipv6 share above one", func(o *Options) { o.IPv6Share = 1.5 }},
		{"negative repeat", func(o *Options) { o.Repeat = -1 }},
		{"repeat past a year", func(o *Options) { o.Repeat = 53 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			tc.edit(&o)
			if _, err := Generate(io.Discard, o); err == nil {
				t.Errorf("Generate(%s) = nil error, want one", tc.name)
			}
		})
	}
}

func TestZeroOptionsAreDefaults(t *testing.T) {
	var a, b bytes.Buffer
	if _, err := Generate(&a, Options{Seed: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(&b, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("Options{Seed: 1} and DefaultOptions() differ")
	}
}

func TestDisabledClass(t *testing.T) {
	o := DefaultOptions()
	o.Scanners = -1
	o.IPv6Share = -1
	var b bytes.Buffer
	tr, err := Generate(&b, o)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tr.Sources[ClassScanner]); n != 0 {
		t.Errorf("Scanners=-1: %d scanner sources", n)
	}
	for c, srcs := range tr.Sources {
		for _, a := range srcs {
			if c != ClassLegit && c != ClassDistributed && a.Is6() {
				t.Errorf("IPv6Share=-1: %s source %v", c, a)
			}
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	if _, err := Generate(failWriter{}, DefaultOptions()); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Generate(failing writer) = %v, want the write error", err)
	}
}

func BenchmarkGenerate200k(b *testing.B) {
	o := DefaultOptions()
	o.Lines = 200000
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Generate(io.Discard, o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(o.Lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

func TestAddrsIn(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{"Nov 16 03:12:45 gw1 sshd[1]: Failed password for root from 203.0.113.7 port 51234 ssh2", []string{"203.0.113.7"}},
		{"x: authentication failure; rhost=2001:db8:bad::e  user=root", []string{"2001:db8:bad::e"}},
		{"sshd[804]: Server listening on :: port 22.", []string{"::"}},
		{"Received disconnect from 2001:db8::1 port 5:11: Bye Bye [preauth]", []string{"2001:db8::1"}},
	}
	for _, tc := range tests {
		var got []string
		for _, a := range addrsIn(tc.line) {
			got = append(got, a.String())
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("addrsIn(%q) = %v, want %v", tc.line, got, tc.want)
		}
	}
}
