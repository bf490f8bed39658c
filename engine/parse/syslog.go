package parse

import (
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// header is what a syslog header yields.
type header struct {
	time    time.Time
	host    string
	program string
	pid     int
	msg     string
}

// parseSyslog reads a syslog line and, when its program is sshd's, the sshd
// message in it.
func (p *Parser) parseSyslog(ev *engine.Event, line string) bool {
	h, ok := p.parseHeader(line)
	if !ok {
		if p.format != FormatSSHD {
			return false
		}
		// sshd -e and sshd -D write bare messages to stderr.
		h = header{program: "sshd", msg: line}
		if p.clock != nil {
			h.time = p.clock()
		}
	}
	ev.Time = h.time
	ev.Host = h.host
	ev.Program = h.program
	ev.PID = h.pid
	if !IsSSHD(h.program) {
		return false
	}
	return p.sshd(ev, h.msg)
}

// parseHeader recognises the four header forms: RFC 3164, RFC 5424,
// ISO-8601 (rsyslog high precision) and the journal short form without a
// timestamp, each optionally after a <PRI>.
func (p *Parser) parseHeader(line string) (header, bool) {
	var h header
	s := line
	if len(s) > 0 && s[0] == '<' {
		i := 1
		for i < len(s) && i <= 4 && isDigit(s[i]) {
			i++
		}
		if i == 1 || i >= len(s) || s[i] != '>' {
			return h, false
		}
		s = s[i+1:]
	}
	if len(s) >= 2 && s[0] == '1' && s[1] == ' ' {
		return p.parse5424(s[2:])
	}
	switch {
	case len(s) >= 16 && isUpper(s[0]) && s[3] == ' ':
		if t, rest, ok := p.parse3164Time(s); ok {
			h.time = t
			return parseHostTag(h, rest)
		}
	case len(s) >= 20 && isDigit(s[0]) && s[4] == '-':
		if sp := strings.IndexByte(s, ' '); sp > 0 {
			if t, err := time.Parse(time.RFC3339Nano, s[:sp]); err == nil {
				h.time = t
				return parseHostTag(h, s[sp+1:])
			}
		}
	}
	// Journal short form: no timestamp at all.
	if p.clock != nil {
		h.time = p.clock()
	}
	return parseHostTag(h, s)
}

// parseHostTag reads "host prog[pid]: msg", or "prog[pid]: msg" when a
// relay dropped the host name.
func parseHostTag(h header, s string) (header, bool) {
	sp := strings.IndexByte(s, ' ')
	if sp <= 0 {
		return h, false
	}
	if tagEnd(s[:sp]) {
		return parseTag(h, s)
	}
	h.host = s[:sp]
	return parseTag(h, s[sp+1:])
}

// tagEnd reports whether a space-free token is a whole syslog tag
// ("sshd[1]:", "sshd:").
func tagEnd(tok string) bool {
	return len(tok) > 1 && tok[len(tok)-1] == ':'
}

// parseTag reads "prog[pid]: msg" or "prog: msg". The program may carry a
// parenthesised facility ("sshd(pam_unix)").
func parseTag(h header, s string) (header, bool) {
	i := 0
	for i < len(s) && s[i] != '[' && s[i] != ':' && s[i] != ' ' {
		i++
	}
	if i == 0 || i == len(s) || s[i] == ' ' {
		return h, false
	}
	h.program = s[:i]
	if s[i] == '[' {
		j := i + 1
		pid := 0
		for j < len(s) && isDigit(s[j]) && j-i <= 10 {
			pid = pid*10 + int(s[j]-'0')
			j++
		}
		if j == i+1 || j >= len(s) || s[j] != ']' {
			return h, false
		}
		h.pid = pid
		i = j + 1
		if i >= len(s) || s[i] != ':' {
			return h, false
		}
	}
	i++ // ':'
	if i < len(s) && s[i] == ' ' {
		i++
	}
	h.msg = s[i:]
	return h, true
}

// parse5424 reads "TIMESTAMP HOST APP PROCID MSGID SD MSG" (after "<PRI>1 ").
func (p *Parser) parse5424(s string) (header, bool) {
	var h header
	var f [5]string
	for k := range f {
		sp := strings.IndexByte(s, ' ')
		if sp <= 0 {
			return h, false
		}
		f[k], s = s[:sp], s[sp+1:]
	}
	if f[0] != "-" {
		t, err := time.Parse(time.RFC3339Nano, f[0])
		if err != nil {
			return h, false
		}
		h.time = t
	} else if p.clock != nil {
		h.time = p.clock()
	}
	if f[1] != "-" {
		h.host = f[1]
	}
	if f[2] != "-" {
		h.program = f[2]
	}
	if f[3] != "-" {
		pid := 0
		for i := 0; i < len(f[3]) && i < 10; i++ {
			if !isDigit(f[3][i]) {
				pid = 0
				break
			}
			pid = pid*10 + int(f[3][i]-'0')
		}
		h.pid = pid
	}
	rest, ok := skipSD(s)
	if !ok {
		return h, false
	}
	h.msg = strings.TrimPrefix(rest, "\ufeff")
	return h, true
}

// skipSD skips RFC 5424 structured data ("-" or one or more [id k="v"]
// elements, where values escape '"', '\' and ']' with a backslash) and the
// space after it.
func skipSD(s string) (string, bool) {
	if s == "-" {
		return "", true
	}
	if strings.HasPrefix(s, "- ") {
		return s[2:], true
	}
	i := 0
	for i < len(s) && s[i] == '[' {
		i++
		inQuote := false
		for {
			if i >= len(s) {
				return "", false
			}
			c := s[i]
			if inQuote {
				if c == '\\' {
					i += 2
					continue
				}
				if c == '"' {
					inQuote = false
				}
			} else if c == '"' {
				inQuote = true
			} else if c == ']' {
				i++
				break
			}
			i++
		}
	}
	if i == 0 {
		return "", false
	}
	if i == len(s) {
		return "", true
	}
	if s[i] != ' ' {
		return "", false
	}
	return s[i+1:], true
}

// parse3164Time reads "Mmm dd hh:mm:ss " (day possibly space padded, an
// optional fraction) and returns the rest of the line.
func (p *Parser) parse3164Time(s string) (time.Time, string, bool) {
	m := monthOf(s[:3])
	if m == 0 {
		return time.Time{}, "", false
	}
	i := 4
	if s[i] == ' ' {
		i++
	}
	day := 0
	for n := 0; n < 2 && i < len(s) && isDigit(s[i]); n++ {
		day = day*10 + int(s[i]-'0')
		i++
	}
	if day < 1 || day > 31 || i >= len(s) || s[i] != ' ' {
		return time.Time{}, "", false
	}
	i++
	if len(s) < i+9 {
		return time.Time{}, "", false
	}
	hh, ok1 := twoDigits(s[i:])
	mm, ok2 := twoDigits(s[i+3:])
	ss, ok3 := twoDigits(s[i+6:])
	if !ok1 || !ok2 || !ok3 || s[i+2] != ':' || s[i+5] != ':' || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, "", false
	}
	i += 8
	nsec := 0
	if s[i] == '.' {
		i++
		scale := 100000000
		for i < len(s) && isDigit(s[i]) {
			nsec += int(s[i]-'0') * scale
			scale /= 10
			i++
		}
	}
	if i >= len(s) || s[i] != ' ' {
		return time.Time{}, "", false
	}
	year := p.inferYear(m, day)
	t := time.Date(year, m, day, hh, mm, ss, nsec, p.loc)
	if t.Day() != day {
		// Feb 29 in a year that has none: not a date this log can have.
		return time.Time{}, "", false
	}
	return t, s[i+1:], true
}

// inferYear returns the year that puts month/day closest to, but not after,
// the reference (with a day of slack for clock skew), so a December line
// read in January lands in the previous year.
func (p *Parser) inferYear(m time.Month, day int) int {
	if p.year != 0 {
		return p.year
	}
	if m == p.ycMonth && day == p.ycDay {
		return p.ycYear
	}
	if p.live {
		p.ref = time.Now()
	}
	ref := p.ref.In(p.loc)
	limit := ref.Add(24 * time.Hour)
	// Start a year ahead: a sender whose clock runs a little fast at New
	// Year writes January before the reference has left December.
	y := ref.Year() + 1
	for range 9 {
		t := time.Date(y, m, day, 0, 0, 0, 0, p.loc)
		if t.Day() == day && !t.After(limit) {
			break
		}
		y--
	}
	p.ycMonth, p.ycDay, p.ycYear = m, day, y
	return y
}

func monthOf(s string) time.Month {
	switch s {
	case "Jan":
		return time.January
	case "Feb":
		return time.February
	case "Mar":
		return time.March
	case "Apr":
		return time.April
	case "May":
		return time.May
	case "Jun":
		return time.June
	case "Jul":
		return time.July
	case "Aug":
		return time.August
	case "Sep":
		return time.September
	case "Oct":
		return time.October
	case "Nov":
		return time.November
	case "Dec":
		return time.December
	}
	return 0
}

func twoDigits(s string) (int, bool) {
	if len(s) < 2 || !isDigit(s[0]) || !isDigit(s[1]) {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
