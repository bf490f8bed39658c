package evidence

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// maxLine bounds one log line; a longer one is cut (its offsets stay
// exact).
const maxLine = 64 << 10

// openLog opens path and returns it with the meta every file excerpt
// carries: the path, inode, device, size and modification time read from
// the open descriptor, so a rotation between open and read cannot mix two
// files into one record.
func openLog(path string) (*os.File, map[string]string, int64, error) {
	if path == "" {
		return nil, nil, 0, invalid("file: none given and no default log file configured")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, 0, invalid("file %s: not a regular file", path)
	}
	meta := map[string]string{
		"file":      path,
		"file_size": strconv.FormatInt(fi.Size(), 10),
		"mtime":     fi.ModTime().UTC().Format(time.RFC3339Nano),
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		meta["inode"] = strconv.FormatUint(st.Ino, 10)
		meta["device"] = strconv.FormatUint(uint64(st.Dev), 10)
	}
	return f, meta, fi.Size(), nil
}

// logs takes a raw excerpt: the bytes [Start, End) or, with a window, the
// lines from the first whose time is at or after From to the last at or
// before To. Either is capped at MaxLogBytes and cut at a line end.
func (c *Collector) logs(r Request) (capture, error) {
	file := cmp.Or(r.File, c.o.LogFile)
	f, meta, size, err := openLog(file)
	if err != nil {
		return capture{}, err
	}
	defer f.Close()
	var start, end int64
	window := !r.From.IsZero() || !r.To.IsZero()
	switch {
	case window && (r.Start != 0 || r.End != 0):
		return capture{}, invalid("logs: give a time window or an offset range, not both")
	case window:
		if !r.To.IsZero() && r.To.Before(r.From) {
			return capture{}, invalid("logs: window ends (%s) before it starts (%s)", r.To, r.From)
		}
		start, end, err = c.findWindow(f, size, r.From, r.To)
		if err != nil {
			return capture{}, fmt.Errorf("%s: %w", file, err)
		}
		meta["window_from"] = formatTime(r.From)
		meta["window_to"] = formatTime(r.To)
	default:
		start, end = r.Start, r.End
		if end == 0 || end > size {
			end = size
		}
		if start < 0 || start > end {
			return capture{}, invalid("logs: offsets [%d, %d) outside the file's %d bytes", r.Start, r.End, size)
		}
	}
	truncated := false
	if end-start > c.o.MaxLogBytes {
		end, truncated = start+c.o.MaxLogBytes, true
	}
	buf := make([]byte, end-start)
	if _, err := f.ReadAt(buf, start); err != nil {
		return capture{}, fmt.Errorf("%s: read [%d, %d): %w", file, start, end, err)
	}
	if truncated {
		// Keep whole lines: cut after the last newline within the cap.
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			buf = buf[:i+1]
			end = start + int64(len(buf))
		}
		meta["truncated"] = "true"
	}
	meta["offset_start"] = strconv.FormatInt(start, 10)
	meta["offset_end"] = strconv.FormatInt(end, 10)
	meta["lines"] = strconv.Itoa(bytes.Count(buf, []byte{'\n'}))
	return capture{content: buf, source: file, meta: meta}, nil
}

// findWindow scans f (at most MaxScanBytes) for the byte range of lines
// dated within [from, to]; a zero bound is open. Lines without a
// recognisable time take their predecessor's.
func (c *Collector) findWindow(f *os.File, size int64, from, to time.Time) (start, end int64, err error) {
	ref := from
	if ref.IsZero() {
		ref = to
	}
	start, end = -1, -1
	var off int64
	var last time.Time
	err = scanLines(f, 0, min(size, c.o.MaxScanBytes), func(line []byte) bool {
		if t, ok := lineTime(line, ref); ok {
			last = t
		}
		in := !last.IsZero() && (from.IsZero() || !last.Before(from)) && (to.IsZero() || !last.After(to))
		if in {
			if start < 0 {
				start = off
			}
			end = off + int64(len(line))
		}
		off += int64(len(line))
		// Logs are written in time order: past the window, stop.
		return to.IsZero() || last.IsZero() || !last.After(to)
	})
	if err != nil {
		return 0, 0, err
	}
	if start < 0 {
		return 0, 0, fmt.Errorf("no line dated between %s and %s in the first %d bytes", formatTime(from), formatTime(to), min(size, c.o.MaxScanBytes))
	}
	return start, end, nil
}

// scanLines calls fn with each line (its newline included) of the bytes
// [from, to) of f until fn returns false. A line longer than maxLine is
// handed over in pieces, so offsets still add up.
func scanLines(f *os.File, from, to int64, fn func(line []byte) bool) error {
	br := bufio.NewReaderSize(io.NewSectionReader(f, from, to-from), maxLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 && !fn(line) {
			return nil
		}
		switch err {
		case nil, bufio.ErrBufferFull:
		case io.EOF:
			return nil
		default:
			return err
		}
	}
}

// lineTime reads the time at the start of a log line: RFC 3339 (rsyslog's
// high-precision format, JSON-lines tools) or the classic syslog "Jan _2
// 15:04:05", whose missing year is ref's (the year before when that would
// put the line more than a month after ref).
func lineTime(line []byte, ref time.Time) (time.Time, bool) {
	if i := bytes.IndexByte(line, ' '); i >= 20 && i <= 35 {
		if t, err := time.Parse(time.RFC3339Nano, string(line[:i])); err == nil {
			return t, true
		}
	}
	if len(line) < 15 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.Stamp, string(line[:15]))
	if err != nil {
		return time.Time{}, false
	}
	loc := ref.Location()
	t = time.Date(ref.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, loc)
	if t.After(ref.AddDate(0, 1, 0)) {
		t = t.AddDate(-1, 0, 0)
	}
	return t, true
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// authLine is one sshd line naming a user.
type authLine struct {
	Offset int64  `json:"offset"`
	Text   string `json:"text"`
}

// authSnapshot is the content of an auth-history item.
type authSnapshot struct {
	Users     []string       `json:"users"`
	File      string         `json:"file,omitempty"`
	Since     string         `json:"since,omitempty"`
	ScanStart int64          `json:"scan_start"`
	ScanEnd   int64          `json:"scan_end"`
	Lines     []authLine     `json:"lines"`
	Truncated bool           `json:"truncated,omitempty"`
	Alerts    []alertSummary `json:"alerts,omitempty"`
}

// maxAuthLines bounds the lines of one auth-history item.
const maxAuthLines = 10_000

// authHistory gathers the sshd lines naming each user from the last
// MaxScanBytes of the file (since From when given) and the stored alerts
// naming them.
func (c *Collector) authHistory(r Request) (capture, error) {
	if len(r.Users) == 0 {
		return capture{}, invalid("auth-history: no users")
	}
	users := slices.Clone(r.Users)
	slices.Sort(users)
	users = slices.Compact(users)
	var needles [][]byte
	for _, u := range users {
		if err := CheckUser(u); err != nil {
			return capture{}, err
		}
		for _, pat := range []string{" for %s ", " user %s ", " user %s(", "user=%s "} {
			needles = append(needles, fmt.Appendf(nil, pat, u))
		}
	}
	snap := authSnapshot{Users: users, Since: formatTime(r.From), Lines: []authLine{}}
	meta := map[string]string{}
	if file := cmp.Or(r.File, c.o.LogFile); file != "" {
		f, m, size, err := openLog(file)
		if err != nil {
			return capture{}, err
		}
		defer f.Close()
		meta = m
		snap.File = file
		snap.ScanStart, snap.ScanEnd = max(0, size-c.o.MaxScanBytes), size
		off, first := snap.ScanStart, snap.ScanStart > 0
		var last time.Time
		ref := cmp.Or(r.From, c.o.Now())
		err = scanLines(f, snap.ScanStart, snap.ScanEnd, func(line []byte) bool {
			at := off
			off += int64(len(line))
			if first { // the scan began mid-line
				first = false
				return true
			}
			if t, ok := lineTime(line, ref); ok {
				last = t
			}
			if !r.From.IsZero() && (last.IsZero() || last.Before(r.From)) {
				return true
			}
			if !bytes.Contains(line, []byte("sshd")) || !containsAny(line, needles) {
				return true
			}
			if len(snap.Lines) == maxAuthLines {
				snap.Truncated = true
				return false
			}
			snap.Lines = append(snap.Lines, authLine{Offset: at, Text: string(bytes.TrimRight(line, "\r\n"))})
			return true
		})
		if err != nil {
			return capture{}, fmt.Errorf("%s: %w", file, err)
		}
		meta["offset_start"] = strconv.FormatInt(snap.ScanStart, 10)
		meta["offset_end"] = strconv.FormatInt(snap.ScanEnd, 10)
	}
	if c.o.History != nil {
		alerts, err := c.o.History.UserAlerts(users, historyLimit)
		if err != nil {
			return capture{}, err
		}
		snap.Alerts = summarizeAlerts(alerts)
	}
	if snap.File == "" && c.o.History == nil {
		return capture{}, invalid("auth-history: no log file and no store to read")
	}
	content, err := json.MarshalIndent(&snap, "", "  ")
	if err != nil {
		return capture{}, err
	}
	meta["users"] = fmt.Sprint(users)
	meta["matches"] = strconv.Itoa(len(snap.Lines))
	setIf(meta, "since", snap.Since)
	source := cmp.Or(snap.File, "store")
	return capture{content: append(content, '\n'), source: source, meta: meta}, nil
}

func containsAny(line []byte, needles [][]byte) bool {
	for _, n := range needles {
		if bytes.Contains(line, n) {
			return true
		}
	}
	return false
}

// alertSummary is an alert as a snapshot records it: identity and verdict,
// not its sampled events.
type alertSummary struct {
	ID       string    `json:"id"`
	Time     time.Time `json:"time"`
	Scenario string    `json:"scenario"`
	Source   string    `json:"source,omitempty"`
	Users    []string  `json:"users,omitempty"`
	Count    int       `json:"count"`
	Risk     float64   `json:"risk"`
}

func summarizeAlerts(as []engine.Alert) []alertSummary {
	out := make([]alertSummary, 0, len(as))
	for _, a := range as {
		s := alertSummary{ID: a.ID, Time: a.Time.UTC(), Scenario: a.Scenario, Users: a.Users, Count: a.Count, Risk: a.Risk}
		if a.Source.IsValid() {
			s.Source = a.Source.String()
		}
		out = append(out, s)
	}
	return out
}
