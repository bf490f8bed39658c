// Package synth generates deterministic, realistic OpenSSH auth logs (classic
// RFC 3164 syslog lines) together with their ground truth: which addresses
// attacked in which way and which belong to legitimate users.
//
// Every address it writes is a documentation address (192.0.2.0/24,
// 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32), so a generated log can be
// shipped, shown and acted on without touching a real network.
package synth

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Class names a kind of traffic in the ground truth.
type Class string

// The classes of traffic a log contains.
const (
	// ClassFast is a brute-forcer firing dozens of attempts within minutes.
	ClassFast Class = "fast"
	// ClassSlow is a brute-forcer staying under rate limits: one attempt
	// every 10–45 minutes for hours.
	ClassSlow Class = "slow"
	// ClassDistributed is a campaign of many sources making 1–3 attempts
	// each, partly packed into dense address ranges.
	ClassDistributed Class = "distributed"
	// ClassEnumeration is a source trying many distinct invalid users.
	ClassEnumeration Class = "enumeration"
	// ClassScanner is a source probing the SSH port without authenticating.
	ClassScanner Class = "scanner"
	// ClassCompromise is a source whose password guessing succeeded.
	ClassCompromise Class = "compromise"
	// ClassLegit is a legitimate user, typos included.
	ClassLegit Class = "legit"
)

// Classes returns every class in a stable order.
func Classes() []Class {
	return []Class{ClassFast, ClassSlow, ClassDistributed, ClassEnumeration, ClassScanner, ClassCompromise, ClassLegit}
}

// Options control a generated log. The zero value of a knob means its
// default; a negative count or IPv6Share disables it.
type Options struct {
	Seed uint64
	// Start is the time of the first line, taken to the second. Syslog
	// timestamps carry no year, so a log spanning New Year is ambiguous to
	// readers: keep Start+Duration inside one year.
	Start time.Time
	// Duration is the span the log covers; lines fall in [Start, Start+Duration).
	Duration time.Duration
	// Host is the syslog HOSTNAME; default "gw1".
	Host string
	// Lines, when positive, makes the log exactly this many lines: the
	// attack and user mix is scaled (more sources, more attempts per source)
	// to fill about 97% of them and background noise fills the rest.
	Lines int
	// Repeat, when above one, writes the whole log that many times, each
	// copy Duration after the one before, PIDs going on increasing: the
	// same sources and users come back every period, so the lines grow
	// and the population does not. Lines counts one copy. The copies span
	// Repeat×Duration from Start, which should stay inside one year.
	Repeat int

	// FastSources is the number of fast brute-forcers (default 4).
	FastSources int
	// SlowSources is the number of slow brute-forcers (default 3).
	SlowSources int
	// CampaignSources is the size of the distributed campaign (default 60).
	CampaignSources int
	// DenseGroups is how many dense address groups the campaign has
	// (default 3); the rest of its sources are scattered singletons.
	DenseGroups int
	// Enumerators is the number of user-enumerating sources (default 2).
	Enumerators int
	// Scanners is the number of port scanners and banner grabbers (default 4).
	Scanners int
	// Compromised is the number of sources that succeed after guessing
	// (default 1).
	Compromised int
	// LegitUsers is the number of legitimate users (default 8).
	LegitUsers int
	// IPv6Share is the probability that an attacker uses IPv6 (default 0.2).
	IPv6Share float64
}

// Truth is what a generated log contains.
type Truth struct {
	// Sources lists the addresses of each class, sorted. Legit holds the
	// addresses of legitimate users only; no address is in two classes.
	Sources map[Class][]netip.Addr
	// DensePrefixes are the smallest prefixes covering each dense group of
	// the distributed campaign: what a good detector should propose.
	DensePrefixes []netip.Prefix
	// Lines is the number of lines written.
	Lines int
}

// DefaultOptions returns the mix others build on: seed 1, a week from
// Monday 2026-11-16 00:00 UTC on host gw1, every knob at its default.
func DefaultOptions() Options {
	return Options{
		Seed:            1,
		Start:           time.Date(2026, time.November, 16, 0, 0, 0, 0, time.UTC),
		Duration:        7 * 24 * time.Hour,
		Host:            "gw1",
		FastSources:     4,
		SlowSources:     3,
		CampaignSources: 60,
		DenseGroups:     3,
		Enumerators:     2,
		Scanners:        4,
		Compromised:     1,
		LegitUsers:      8,
		IPv6Share:       0.2,
	}
}

// withDefaults fills zero knobs from DefaultOptions and turns negative ones
// into zero.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Start.IsZero() {
		o.Start = d.Start
	}
	if o.Duration == 0 {
		o.Duration = d.Duration
	}
	if o.Host == "" {
		o.Host = d.Host
	}
	knob := func(v *int, def int) {
		switch {
		case *v == 0:
			*v = def
		case *v < 0:
			*v = 0
		}
	}
	knob(&o.FastSources, d.FastSources)
	knob(&o.SlowSources, d.SlowSources)
	knob(&o.CampaignSources, d.CampaignSources)
	knob(&o.DenseGroups, d.DenseGroups)
	knob(&o.Enumerators, d.Enumerators)
	knob(&o.Scanners, d.Scanners)
	knob(&o.Compromised, d.Compromised)
	knob(&o.LegitUsers, d.LegitUsers)
	switch {
	case o.IPv6Share == 0:
		o.IPv6Share = d.IPv6Share
	case o.IPv6Share < 0:
		o.IPv6Share = 0
	}
	return o
}

// validate checks options after defaults were applied.
func (o Options) validate() error {
	var errs []error
	if o.Duration < time.Minute {
		errs = append(errs, fmt.Errorf("duration %v: want at least a minute", o.Duration))
	}
	if o.Lines < 0 {
		errs = append(errs, fmt.Errorf("lines %d: want zero or more", o.Lines))
	}
	switch {
	case o.Repeat < 0:
		errs = append(errs, fmt.Errorf("repeat %d: want zero or more", o.Repeat))
	case o.Repeat > 1 && time.Duration(o.Repeat) > maxSpan/o.Duration:
		// Yearless syslog timestamps cannot tell the copies apart.
		errs = append(errs, fmt.Errorf("repeat %d of %v: spans more than %v", o.Repeat, o.Duration, maxSpan))
	}
	if strings.ContainsAny(o.Host, " \t\r\n") {
		errs = append(errs, fmt.Errorf("host %q: contains white space", o.Host))
	}
	if o.IPv6Share > 1 || math.IsNaN(o.IPv6Share) {
		errs = append(errs, fmt.Errorf("ipv6 share %v: want 0 to 1", o.IPv6Share))
	}
	if o.LegitUsers > 10000 {
		errs = append(errs, fmt.Errorf("legit users %d: want at most 10000", o.LegitUsers))
	}
	return errors.Join(errs...)
}

// maxSpan is the longest span Repeat may make.
const maxSpan = 365 * 24 * time.Hour

// fillerShare is the part of a Lines-mode log left to background noise.
const fillerShare = 0.03

// Generate writes a log in time order, every line '\n'-terminated, and
// returns its ground truth, built from the lines actually written. The same
// Options always give the same bytes.
//
// With Lines so small that even the smallest mix (one source per class, two
// legit users) does not fit, the log is the earliest Lines lines of that mix
// and the truth lists only the sources those lines show.
func Generate(w io.Writer, o Options) (Truth, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return Truth{}, fmt.Errorf("synth options: %w", err)
	}
	var g *gen
	if o.Lines == 0 {
		g = build(o, 1)
		g.naturalNoise()
	} else {
		g = fit(o)
	}
	g.sort()
	if o.Lines > 0 {
		if len(g.events) > o.Lines {
			// Even the smallest mix does not fit: keep the earliest lines.
			g.events = g.events[:o.Lines]
		} else if n := o.Lines - len(g.events); n > 0 {
			g.filler(n)
			g.sort()
		}
	}
	return g.write(w)
}

// fit searches for the scale whose mix fills Lines minus the filler share.
// Each build is cheap (structured events, nothing formatted), so a few
// deterministic iterations are fine.
func fit(o Options) *gen {
	target := o.Lines - int(float64(o.Lines)*fillerShare)
	lo := target - int(float64(o.Lines)*fillerShare)
	var best, smallest *gen
	s := 1.0
	for range 12 {
		g := build(o, s)
		n := len(g.events)
		if n <= o.Lines && (best == nil || n > len(best.events)) {
			best = g
		}
		if smallest == nil || n < len(smallest.events) {
			smallest = g
		}
		if n <= o.Lines && n >= lo {
			break
		}
		s *= float64(max(target, 1)) / float64(n)
		s = max(s, 1e-4)
	}
	if best != nil {
		return best
	}
	return smallest
}

// round rounds to the nearest int.
func round(x float64) int {
	return int(math.Round(x))
}

// coverPrefix returns the smallest prefix holding every address in addrs,
// which must be non-empty and of one family.
func coverPrefix(addrs []netip.Addr) netip.Prefix {
	lo, hi := addrs[0], addrs[0]
	for _, a := range addrs[1:] {
		if a.Less(lo) {
			lo = a
		}
		if hi.Less(a) {
			hi = a
		}
	}
	for bits := lo.BitLen(); bits >= 0; bits-- {
		p, _ := lo.Prefix(bits)
		if p.Contains(hi) {
			return p
		}
	}
	return netip.Prefix{}
}

// sortedAddrs returns the keys of set in address order.
func sortedAddrs(set map[netip.Addr]struct{}) []netip.Addr {
	out := make([]netip.Addr, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}
