// Package parse turns one input line (sshd syslog, Suricata EVE JSON, our own
// JSON lines, journalctl JSON) into an engine.Event.
//
// It is the hot path of every file and syslog source: the syslog header and
// the sshd messages are matched by hand-written scanning and literal
// dispatch, never by regular expressions, and a parsed event refers to
// substrings of the input line instead of copying them.
//
// Addresses are taken only from the positions sshd itself writes them in.
// Every user name, client banner and key ID in an sshd line is attacker
// controlled, so each rule anchors on the fixed text around the address
// (usually the tail of the line) and never trusts the first " from ".
package parse

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// Format selects how lines are read.
type Format string

// Input formats.
const (
	// FormatAuto decides per line: a line starting with '{' is JSON (EVE,
	// our JSON lines or journalctl JSON), anything else syslog.
	FormatAuto Format = "auto"
	// FormatSSHD is sshd's log as written to a file (auth.log, secure) or
	// by `sshd -e`: syslog headers, and bare sshd messages when the line
	// has no header.
	FormatSSHD Format = "sshd"
	// FormatEVE is Suricata EVE JSON, one object per line.
	FormatEVE Format = "eve"
	// FormatSyslog is a syslog payload (RFC 3164, RFC 5424, ISO-8601
	// headers); sshd messages in it are recognised.
	FormatSyslog Format = "syslog"
	// FormatJSON is one JSON object per line: our event schema, EVE, or
	// journalctl -o json.
	FormatJSON Format = "json"
)

// ParseFormat validates a format name; "" means FormatAuto.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case "":
		return FormatAuto, nil
	case FormatAuto, FormatSSHD, FormatEVE, FormatSyslog, FormatJSON:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q (want auto, sshd, eve, syslog or json)", s)
}

// Options configure a Parser.
type Options struct {
	// Format is the input format; "" means FormatAuto.
	Format Format
	// Origin is stored in every event's Origin.
	Origin string
	// Year forces the year of yearless (RFC 3164) timestamps; 0 infers it
	// from Ref.
	Year int
	// Location is the zone of zone-less timestamps; nil means UTC.
	Location *time.Location
	// Ref is the reference for year inference (the file's mtime, or now).
	// Zero means the wall clock: read at New and again whenever a new
	// month/day needs inferring, so a long-running receiver crosses New
	// Year correctly.
	Ref time.Time
	// Clock gives the time of lines that carry none (journal short form);
	// nil leaves their time zero.
	Clock func() time.Time
}

// Parser parses lines of one input stream. It keeps state across lines (the
// sshd pid → peer table, the year cache), so use one per stream; it is not
// safe for concurrent use.
type Parser struct {
	format Format
	origin string
	year   int
	loc    *time.Location
	ref    time.Time
	live   bool
	clock  func() time.Time

	// One-entry year cache: logs are in time order, so the month/day of a
	// line is almost always the previous line's.
	ycMonth time.Month
	ycDay   int
	ycYear  int

	pids pidTable
}

// New validates opts and returns a Parser.
func New(opts Options) (*Parser, error) {
	f, err := ParseFormat(string(opts.Format))
	if err != nil {
		return nil, err
	}
	if opts.Year < 0 || opts.Year > 9999 {
		return nil, fmt.Errorf("year %d out of range 0–9999", opts.Year)
	}
	p := &Parser{
		format: f,
		origin: opts.Origin,
		year:   opts.Year,
		loc:    opts.Location,
		ref:    opts.Ref,
		clock:  opts.Clock,
	}
	if p.loc == nil {
		p.loc = time.UTC
	}
	if p.ref.IsZero() {
		p.live = true
		p.ref = time.Now()
	}
	p.pids.init(pidTableMax, pidTableTTL)
	return p, nil
}

// Parse parses one line (without its trailing newline). recognized is false
// when the line is not one the parser knows; ev then still carries the time,
// host, program and raw line when they could be read. err is non-nil for
// malformed input that must be rejected (truncated JSON, a JSON event with
// an invalid source); ev is then zero.
func (p *Parser) Parse(line string, lineno int64) (ev engine.Event, recognized bool, err error) {
	recognized, err = p.ParseTo(&ev, line, lineno)
	return ev, recognized, err
}

// ParseTo is Parse into *ev, which must be zero: a source parses straight
// into its batch, since copying every event twice on its way there was a
// visible share of reading. On error *ev is zero again.
func (p *Parser) ParseTo(ev *engine.Event, line string, lineno int64) (recognized bool, err error) {
	switch p.format {
	case FormatEVE:
		*ev, recognized, err = p.parseEVELine(line)
	case FormatJSON:
		*ev, recognized, err = p.parseJSONLine(line)
	case FormatSSHD, FormatSyslog:
		recognized = p.parseSyslog(ev, line)
	default:
		if firstNonSpace(line) == '{' {
			*ev, recognized, err = p.parseJSONLine(line)
		} else {
			recognized = p.parseSyslog(ev, line)
		}
	}
	if err != nil {
		*ev = engine.Event{}
		return false, err
	}
	ev.Raw = line
	ev.Line = lineno
	ev.Origin = p.origin
	return recognized, nil
}

// Patterns returns the names of all sshd (and sshd PAM) patterns, for
// hit-count reports.
func (p *Parser) Patterns() []string {
	return slices.Clone(sshdPatterns)
}

// IsSSHD reports whether a syslog program name is sshd's: sshd itself, the
// sshd-session and sshd-auth binaries of OpenSSH ≥ 9.8, and the old
// "sshd(pam_unix)" style.
func IsSSHD(program string) bool {
	if !strings.HasPrefix(program, "sshd") {
		return false
	}
	rest := program[4:]
	return rest == "" || rest == "-session" || rest == "-auth" || rest[0] == '('
}

func firstNonSpace(s string) byte {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return s[i]
	}
	return 0
}
