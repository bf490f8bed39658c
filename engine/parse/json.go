package parse

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// ErrNotObject rejects a JSON line that is valid JSON but not an object.
var ErrNotObject = errors.New("not a JSON object")

// eveRecord is the part of a Suricata EVE record we use. null decodes to
// the zero value, which is what a missing field means too.
type eveRecord struct {
	Timestamp string    `json:"timestamp"`
	EventType string    `json:"event_type"`
	SrcIP     string    `json:"src_ip"`
	SrcPort   int       `json:"src_port"`
	DestIP    string    `json:"dest_ip"`
	DestPort  int       `json:"dest_port"`
	Proto     string    `json:"proto"`
	Host      string    `json:"host"`
	Alert     *eveAlert `json:"alert"`
}

type eveAlert struct {
	Signature   string `json:"signature"`
	SignatureID int64  `json:"signature_id"`
	Category    string `json:"category"`
	Severity    int    `json:"severity"`
}

// probe tells the JSON line kinds apart in one pass. Both spellings of
// message are declared so that encoding/json's case-insensitive matching
// cannot take our "message" for journald's "MESSAGE".
type probe struct {
	EventType *string         `json:"event_type"`
	Type      *string         `json:"type"`
	Message   json.RawMessage `json:"MESSAGE"`
	OwnMsg    json.RawMessage `json:"message"`
}

// journalRecord is `journalctl -o json` output. Every value is a string,
// except MESSAGE, which journald writes as an array of bytes when it is not
// valid UTF-8.
type journalRecord struct {
	Message    journalString   `json:"MESSAGE"`
	Identifier journalString   `json:"SYSLOG_IDENTIFIER"`
	PID        journalString   `json:"_PID"`
	SyslogPID  journalString   `json:"SYSLOG_PID"`
	Hostname   journalString   `json:"_HOSTNAME"`
	Realtime   journalString   `json:"__REALTIME_TIMESTAMP"`
	OwnMsg     json.RawMessage `json:"message"`
}

type journalString string

func (s *journalString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '[' {
		var bs []byte
		var ints []int
		if err := json.Unmarshal(b, &ints); err != nil {
			return err
		}
		bs = make([]byte, len(ints))
		for i, v := range ints {
			bs[i] = byte(v)
		}
		*s = journalString(bs)
		return nil
	}
	var v *string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v != nil {
		*s = journalString(*v)
	}
	return nil
}

// parseEVELine parses a line that must be an EVE record.
func (p *Parser) parseEVELine(line string) (engine.Event, bool, error) {
	if firstNonSpace(line) != '{' {
		return engine.Event{}, false, fmt.Errorf("eve: %w", ErrNotObject)
	}
	var r eveRecord
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		return engine.Event{}, false, fmt.Errorf("eve: %w", err)
	}
	if r.EventType == "" {
		return engine.Event{}, false, nil
	}
	return p.eveEvent(&r)
}

// parseJSONLine parses a JSON object line: EVE, our event schema, or
// journalctl JSON.
func (p *Parser) parseJSONLine(line string) (engine.Event, bool, error) {
	if firstNonSpace(line) != '{' {
		return engine.Event{}, false, fmt.Errorf("json: %w", ErrNotObject)
	}
	b := []byte(line)
	var pr probe
	if err := json.Unmarshal(b, &pr); err != nil {
		return engine.Event{}, false, fmt.Errorf("json: %w", err)
	}
	switch {
	case pr.EventType != nil:
		var r eveRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return engine.Event{}, false, fmt.Errorf("eve: %w", err)
		}
		return p.eveEvent(&r)
	case pr.Type != nil:
		return p.ownEvent(b)
	case pr.Message != nil:
		return p.journalEvent(b)
	}
	return engine.Event{}, false, nil
}

func (p *Parser) eveEvent(r *eveRecord) (engine.Event, bool, error) {
	var ev engine.Event
	if r.Timestamp != "" {
		t, err := parseEVETime(r.Timestamp)
		if err != nil {
			return ev, false, fmt.Errorf("eve: timestamp %q: %w", r.Timestamp, err)
		}
		ev.Time = t
	} else if p.clock != nil {
		ev.Time = p.clock()
	}
	var err error
	if ev.Source, err = eveAddr(r.SrcIP); err != nil {
		return engine.Event{}, false, fmt.Errorf("eve: src_ip: %w", err)
	}
	if ev.Dest, err = eveAddr(r.DestIP); err != nil {
		return engine.Event{}, false, fmt.Errorf("eve: dest_ip: %w", err)
	}
	ev.SourcePort = evePort(r.SrcPort)
	ev.DestPort = evePort(r.DestPort)
	ev.Proto = r.Proto
	ev.Host = r.Host
	ev.Program = "suricata"
	ev.Pattern = "eve." + r.EventType
	switch r.EventType {
	case "alert":
		ev.Type = engine.TypeIDSAlert
		if a := r.Alert; a != nil {
			ev.Signature = a.Signature
			ev.SignatureID = a.SignatureID
			ev.Category = a.Category
			if a.Severity >= 1 && a.Severity <= 3 {
				ev.Severity = a.Severity
			}
		}
		// An alert without a source cannot be acted on.
		ev.Indicator = ev.Source.IsValid()
	case "flow":
		ev.Type = engine.TypeIDSFlow
	case "stats":
		ev.Type = engine.TypeIDSStats
	case "dns":
		ev.Type = engine.TypeIDSDNS
	case "http":
		ev.Type = engine.TypeIDSHTTP
	case "tls":
		ev.Type = engine.TypeIDSTLS
	default:
		ev.Type = engine.TypeIDSOther
		ev.Pattern = "eve.other"
	}
	return ev, true, nil
}

// parseEVETime accepts Suricata's "+0000" offsets and RFC 3339's "+00:00".
func parseEVETime(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02T15:04:05.999999999-0700", s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

func eveAddr(s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, err
	}
	if a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("zoned address %q", s)
	}
	return a.Unmap(), nil
}

func evePort(n int) uint16 {
	if n < 0 || n > 65535 {
		return 0
	}
	return uint16(n)
}

// ownEvent decodes our own schema: an engine.Event as `parse --output json`
// prints it.
func (p *Parser) ownEvent(b []byte) (engine.Event, bool, error) {
	var ev engine.Event
	if err := json.Unmarshal(b, &ev); err != nil {
		return engine.Event{}, false, fmt.Errorf("json event: %w", err)
	}
	if strings.TrimSpace(ev.Type) == "" {
		return engine.Event{}, false, errors.New("json event: empty type")
	}
	if ev.Source.Zone() != "" || ev.Dest.Zone() != "" {
		return engine.Event{}, false, errors.New("json event: zoned address")
	}
	ev.Source = ev.Source.Unmap()
	ev.Dest = ev.Dest.Unmap()
	if ev.Indicator && !ev.Source.IsValid() && ev.SourceHost == "" {
		return engine.Event{}, false, errors.New("json event: indicator without source or source_host")
	}
	if ev.Time.IsZero() && p.clock != nil {
		ev.Time = p.clock()
	}
	if ev.Pattern == "" {
		ev.Pattern = "json.event"
	}
	return ev, true, nil
}

// journalEvent runs the sshd matcher on a journalctl JSON record.
func (p *Parser) journalEvent(b []byte) (engine.Event, bool, error) {
	var r journalRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return engine.Event{}, false, fmt.Errorf("journal json: %w", err)
	}
	var ev engine.Event
	if r.Realtime != "" {
		us, err := strconv.ParseInt(string(r.Realtime), 10, 64)
		if err != nil {
			return engine.Event{}, false, fmt.Errorf("journal json: __REALTIME_TIMESTAMP %q: %w", r.Realtime, err)
		}
		ev.Time = time.UnixMicro(us).UTC()
	} else if p.clock != nil {
		ev.Time = p.clock()
	}
	ev.Host = string(r.Hostname)
	ev.Program = string(r.Identifier)
	pid := r.SyslogPID
	if pid == "" {
		pid = r.PID
	}
	if pid != "" {
		n, err := strconv.Atoi(string(pid))
		if err != nil || n < 0 {
			return engine.Event{}, false, fmt.Errorf("journal json: pid %q: not a number", pid)
		}
		ev.PID = n
	}
	if !IsSSHD(ev.Program) {
		return ev, false, nil
	}
	return ev, p.sshd(&ev, string(r.Message)), nil
}
