package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/phantomsoc/phantomsoc/engine/synth"
)

// classResult is how many sources of one synthetic class each tool acted
// on. For the legit class, acting is a false positive.
type classResult struct {
	Class      string `json:"class"`
	Sources    int    `json:"sources"`
	Phantomsoc int    `json:"phantomsoc"`
	Fail2ban   int    `json:"fail2ban,omitempty"`
}

// fail2banJail is Debian's default [sshd] jail: maxretry 5 within findtime
// 10m bans for bantime 10m.
type fail2banJail struct {
	maxRetry         int
	findTime, banFor float64
}

var debianJail = fail2banJail{maxRetry: 5, findTime: 600, banFor: 600}

// benchDetection replays the synthetic week (ground truth known) through
// phantomsoc and, when f2b is set, through fail2ban-regex with Debian's
// default sshd jail simulated on its matches, and counts per attacker
// class the sources each would have acted on.
func benchDetection(ctx context.Context, dir, f2b string) ([]classResult, error) {
	path := filepath.Join(dir, "week.log")
	o := synth.DefaultOptions()
	var buf bytes.Buffer
	truth, err := synth.Generate(&buf, o)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return nil, err
	}
	mt := o.Start.Add(o.Duration)
	if err := os.Chtimes(path, mt, mt); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	g := &globals{output: outputJSON}
	if _, err := replay(ctx, &out, nil, g, &inputOptions{format: "auto"}, []string{path}, ""); err != nil {
		return nil, err
	}
	var decided []netip.Prefix
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, `{"kind":"decision"`) || strings.Contains(line, `"state":"refused"`) {
			continue
		}
		if p, err := parseTarget(jsonField(line, "source")); err == nil {
			decided = append(decided, p)
		}
	}
	var banned map[netip.Addr]bool
	if f2b != "" {
		_, rows, _, err := runChild(ctx, f2b, "-o", "row", path, "sshd")
		if err != nil {
			return nil, err
		}
		banned = debianJail.simulate(bytes.NewReader(rows))
	}
	var res []classResult
	for _, c := range synth.Classes() {
		r := classResult{Class: string(c), Sources: len(truth.Sources[c])}
		for _, a := range truth.Sources[c] {
			if slices.ContainsFunc(decided, func(p netip.Prefix) bool { return p.Contains(a) }) {
				r.Phantomsoc++
			}
			if banned[a] {
				r.Fail2ban++
			}
		}
		res = append(res, r)
	}
	return res, nil
}

// jsonField pulls a string field out of one of our own JSON records.
func jsonField(line, name string) string {
	key := `"` + name + `":"`
	i := strings.Index(line, key)
	if i < 0 {
		return ""
	}
	rest := line[i+len(key):]
	if j := strings.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return ""
}

// simulate reads fail2ban-regex `-o row` output (['IP', epoch, {...}],)
// and returns the addresses the jail would have banned at least once.
func (j fail2banJail) simulate(r io.Reader) map[netip.Addr]bool {
	type hist struct {
		times    []float64
		bannedTo float64
	}
	byIP := map[netip.Addr]*hist{}
	banned := map[netip.Addr]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		ipPart, rest, ok := strings.Cut(strings.TrimPrefix(line, "['"), "',")
		if !ok {
			continue
		}
		a, err := netip.ParseAddr(ipPart)
		if err != nil {
			continue
		}
		tPart, _, _ := strings.Cut(strings.TrimSpace(rest), ",")
		t, err := strconv.ParseFloat(tPart, 64)
		if err != nil {
			continue
		}
		h := byIP[a]
		if h == nil {
			h = &hist{}
			byIP[a] = h
		}
		if t < h.bannedTo {
			continue
		}
		h.times = append(h.times, t)
		for len(h.times) > 0 && h.times[0] <= t-j.findTime {
			h.times = h.times[1:]
		}
		if len(h.times) >= j.maxRetry {
			banned[a.Unmap()] = true
			h.bannedTo = t + j.banFor
			h.times = h.times[:0]
		}
	}
	return banned
}

func writeDetection(w io.Writer, rs []classResult, f2b bool) {
	fmt.Fprintln(w, "\ndetection on the synthetic week (sources acted on / sources; for legit, any is a false positive):")
	tw := newTable(w)
	if f2b {
		fmt.Fprintln(tw, "CLASS\tSOURCES\tPHANTOMSOC\tFAIL2BAN (Debian default sshd jail)")
	} else {
		fmt.Fprintln(tw, "CLASS\tSOURCES\tPHANTOMSOC")
	}
	for _, r := range rs {
		if f2b {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", r.Class, r.Sources, r.Phantomsoc, r.Fail2ban)
		} else {
			fmt.Fprintf(tw, "%s\t%d\t%d\n", r.Class, r.Sources, r.Phantomsoc)
		}
	}
	tw.Flush()
}
