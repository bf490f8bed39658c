package store

import (
	"bytes"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/phantomsoc/phantomsoc/engine"
)

// jsonWriter appends the JSON of the records every commit writes (alerts,
// decisions, offenders, audit records) byte for byte as encoding/json
// writes them, HTML escaping included. Reflection made encoding the largest
// cost of a replay's store; the stored bytes, and so the audit hashes over
// them, must not change. TestJSONWriterMatchesEncodingJSON holds the two
// together.
type jsonWriter struct {
	b []byte
	// arena, when set, holds the values value returns.
	arena *valueArena
	// bad is set by a value encoding/json refuses (NaN, infinity, a year
	// outside 0–9999): the caller then encodes with encoding/json, which
	// returns its own error.
	bad bool
	// lastAddr and lastText are the address addr wrote last and its text:
	// an alert and its evidence name the same source over and over, and
	// IPv6 text took a thousand instructions each time.
	lastAddr netip.Addr
	lastText []byte
}

func (w *jsonWriter) reset() {
	w.b, w.bad = w.b[:0], false
}

// startValue resets w for a stored value: the schema byte, then JSON.
func (w *jsonWriter) startValue() {
	w.reset()
	w.b = append(w.b, schemaV1)
}

// value returns what w wrote as a slice of its own, since bbolt holds on to
// values until the transaction ends; ok is false when w met a value
// encoding/json refuses.
func (w *jsonWriter) value() (v []byte, ok bool) {
	if w.bad {
		return nil, false
	}
	if w.arena != nil {
		return w.arena.copy(w.b), true
	}
	return bytes.Clone(w.b), true
}

// valueArena hands out the values of one write transaction from large
// chunks: bbolt holds on to every value until the transaction ends, and a
// slice of its own per stored value was most of a commit's garbage. Only a
// transaction that owns it may use it, and reset it before it starts, when
// the previous one is over.
type valueArena struct {
	buf []byte
	// chunks are kept for the next transactions: bbolt has copied every
	// value into its pages by the time one ends, and fresh chunks per
	// commit were a replay's largest garbage after the input lines.
	chunks [][]byte
	next   int // chunks[next] is the next one to fill
}

const (
	arenaChunk = 64 << 10
	// arenaKeep bounds the chunks kept between transactions: a commit
	// far larger than usual should not pin its memory for good.
	arenaKeep = 8
)

func (a *valueArena) reset() { a.buf, a.next = nil, 0 }

func (a *valueArena) copy(b []byte) []byte {
	if len(a.buf)+len(b) > cap(a.buf) {
		// The full chunk stays alive through the values already handed
		// out, until the transaction is over.
		a.buf = a.chunk(len(b))
	}
	n := len(a.buf)
	a.buf = append(a.buf, b...)
	return a.buf[n:len(a.buf):len(a.buf)]
}

// chunk returns an empty chunk with room for n bytes, reusing one an
// earlier transaction filled when it can.
func (a *valueArena) chunk(n int) []byte {
	if n > arenaChunk {
		return make([]byte, 0, n)
	}
	if a.next < len(a.chunks) {
		a.next++
		return a.chunks[a.next-1][:0]
	}
	c := make([]byte, 0, arenaChunk)
	if len(a.chunks) < arenaKeep {
		a.chunks = append(a.chunks, c)
		a.next++
	}
	return c
}

func (w *jsonWriter) raw(s string) { w.b = append(w.b, s...) }

// str is encoding/json's appendString with escapeHTML.
func (w *jsonWriter) str(s string) {
	const hex = "0123456789abcdef"
	b := append(w.b, '"')
	safe := [4]uint64{htmlSafeLo, htmlSafeHi} // no byte from 0x80 up is safe alone
	start := 0
	for i := 0; i < len(s); {
		// Most of what is stored is log lines with nothing to escape:
		// eight bytes at a time until a word holds something.
		if len(s)-i >= 8 && safe8(le64(s[i:])) {
			i += 8
			continue
		}
		c := s[i]
		if safe[c>>6]>>(c&63)&1 != 0 {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	w.b = append(b, '"')
}

// safe8 reports whether all eight bytes of x are printable ASCII that
// str writes as they are. (y-ones)&^y has a top bit set if and only if a
// byte of y is zero, so each y = x^c*ones tests for byte c; with no byte
// from 0x80 up, x-0x20*ones sets a top bit only if a byte is below 0x20.
func safe8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q, bs, lt, gt, amp := x^'"'*ones, x^'\\'*ones, x^'<'*ones, x^'>'*ones, x^'&'*ones
	z := (q-ones)&^q | (bs-ones)&^bs | (lt-ones)&^lt | (gt-ones)&^gt | (amp-ones)&^amp
	return (z|x|(x-0x20*ones))&highs == 0
}

// le64 reads the first eight bytes of s little-endian, in one load.
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// The ASCII bytes encoding/json writes unescaped with HTML escaping on,
// one bit each: printable ones except the quote, the backslash, <, > and &.
const (
	htmlSafeLo uint64 = 0xffffffff_00000000 &^ (1<<'"' | 1<<'&' | 1<<'<' | 1<<'>')
	htmlSafeHi uint64 = math.MaxUint64 &^ (1 << ('\\' - 64))
)

func (w *jsonWriter) strs(ss []string) {
	w.b = append(w.b, '[')
	for i, s := range ss {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.str(s)
	}
	w.b = append(w.b, ']')
}

func (w *jsonWriter) int(n int64) { w.b = strconv.AppendInt(w.b, n, 10) }

func (w *jsonWriter) uint(n uint64) { w.b = strconv.AppendUint(w.b, n, 10) }

func (w *jsonWriter) bool(v bool) { w.b = strconv.AppendBool(w.b, v) }

// float is encoding/json's float64 encoder: ES6 number formatting.
func (w *jsonWriter) float(f float64) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		w.bad = true
		return
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b := strconv.AppendFloat(w.b, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9, as encoding/json does
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	w.b = b
}

// time is time.Time.MarshalJSON: RFC 3339 with nanoseconds in t's own
// zone, refusing what RFC 3339 cannot express.
func (w *jsonWriter) time(t time.Time) {
	w.b = append(w.b, '"')
	n0 := len(w.b)
	w.b = t.AppendFormat(w.b, time.RFC3339Nano)
	b := w.b
	num2 := func(b []byte) byte { return 10*(b[0]-'0') + (b[1] - '0') }
	switch {
	case b[n0+len("9999")] != '-': // a year outside 0–9999
		w.bad = true
	case b[len(b)-1] != 'Z':
		if c := b[len(b)-len("Z07:00")]; ('0' <= c && c <= '9') || num2(b[len(b)-len("07:00"):]) >= 24 {
			w.bad = true
		}
	}
	w.b = append(w.b, '"')
}

// addr is netip.Addr's MarshalText as a JSON string ("" for the zero Addr).
func (w *jsonWriter) addr(a netip.Addr) {
	if a.Zone() != "" {
		w.str(a.String()) // a zone is free text and may need escaping
		return
	}
	w.b = append(w.b, '"')
	if a == w.lastAddr && a.IsValid() {
		w.b = append(w.b, w.lastText...)
	} else {
		n := len(w.b)
		w.b = a.AppendTo(w.b)
		w.lastAddr, w.lastText = a, append(w.lastText[:0], w.b[n:]...)
	}
	w.b = append(w.b, '"')
}

// prefix is netip.Prefix's MarshalText as a JSON string; a prefix carries
// no zone, so nothing in it needs escaping.
func (w *jsonWriter) prefix(p netip.Prefix) {
	w.b = append(w.b, '"')
	w.b = p.AppendTo(w.b)
	w.b = append(w.b, '"')
}

// storedAlert writes storedAlert(a) without copying its evidence.
func (w *jsonWriter) storedAlert(a *engine.Alert) {
	w.raw(`{"id":`)
	w.str(a.ID)
	w.raw(`,"time":`)
	w.time(a.Time)
	w.raw(`,"first":`)
	w.time(a.First)
	w.raw(`,"scenario":`)
	w.str(a.Scenario)
	if a.Description != "" {
		w.raw(`,"description":`)
		w.str(a.Description)
	}
	w.raw(`,"severity":`)
	w.float(a.Severity)
	w.raw(`,"key":`)
	w.str(a.Key)
	if a.Source.IsValid() {
		w.raw(`,"source":`)
		w.addr(a.Source)
	}
	if len(a.Prefixes) > 0 {
		w.raw(`,"prefixes":[`)
		for i, p := range a.Prefixes {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.prefix(p)
		}
		w.b = append(w.b, ']')
	}
	w.raw(`,"sources":`)
	w.int(int64(a.Sources))
	if a.Host != "" {
		w.raw(`,"host":`)
		w.str(a.Host)
	}
	if a.Dest.IsValid() {
		w.raw(`,"dest":`)
		w.addr(a.Dest)
	}
	if len(a.Users) > 0 {
		w.raw(`,"users":`)
		w.strs(a.Users)
	}
	w.raw(`,"count":`)
	w.int(int64(a.Count))
	if len(a.Evidence) > 0 {
		w.raw(`,"evidence":[`)
		for i := range a.Evidence {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.storedEvent(&a.Evidence[i])
		}
		w.b = append(w.b, ']')
	}
	w.raw(`,"propose":`)
	w.str(a.Propose)
	if len(a.Labels) > 0 {
		w.raw(`,"labels":{`)
		keys := make([]string, 0, len(a.Labels))
		for k := range a.Labels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.str(k)
			w.b = append(w.b, ':')
			w.str(a.Labels[k])
		}
		w.b = append(w.b, '}')
	}
	w.raw(`,"risk":`)
	w.float(a.Risk)
	w.raw(`,"confidence":`)
	w.float(a.Confidence)
	if len(a.Factors) > 0 {
		w.raw(`,"factors":`)
		w.factors(a.Factors)
	}
	if len(a.Reasons) > 0 {
		w.raw(`,"reasons":`)
		w.factors(a.Reasons)
	}
	w.raw(`,"blast":{`)
	if bl := &a.Blast; len(bl.Assets) > 0 {
		w.raw(`"assets":`)
		w.strs(bl.Assets)
		w.b = append(w.b, ',')
	}
	if bl := &a.Blast; len(bl.Users) > 0 {
		w.raw(`"users":`)
		w.strs(bl.Users)
		w.b = append(w.b, ',')
	}
	if bl := &a.Blast; len(bl.Gateways) > 0 {
		w.raw(`"gateways":`)
		w.strs(bl.Gateways)
		w.b = append(w.b, ',')
	}
	w.raw(`"addresses":`)
	w.uint(a.Blast.Addresses)
	w.raw(`}}`)
}

// storedEvent writes the fields of ev that storedAlert keeps; every other
// field of engine.Event is omitempty or omitzero, so leaving it out is
// what encoding/json writes for the cut copy.
func (w *jsonWriter) storedEvent(ev *engine.Event) {
	w.raw(`{"time":`)
	w.time(ev.Time)
	w.raw(`,"type":`)
	w.str(ev.Type)
	w.raw(`,"indicator":`)
	w.bool(ev.Indicator)
	if ev.Source.IsValid() {
		w.raw(`,"source":`)
		w.addr(ev.Source)
	}
	if ev.SourceHost != "" {
		w.raw(`,"source_host":`)
		w.str(ev.SourceHost)
	}
	if ev.Host != "" {
		w.raw(`,"host":`)
		w.str(ev.Host)
	}
	if ev.User != "" {
		w.raw(`,"user":`)
		w.str(ev.User)
	}
	if ev.Signature != "" {
		w.raw(`,"signature":`)
		w.str(ev.Signature)
	}
	if ev.Severity != 0 {
		w.raw(`,"severity":`)
		w.int(int64(ev.Severity))
	}
	if ev.Origin != "" {
		w.raw(`,"origin":`)
		w.str(ev.Origin)
	}
	if ev.Line != 0 {
		w.raw(`,"line":`)
		w.int(ev.Line)
	}
	if ev.Raw != "" {
		w.raw(`,"raw":`)
		w.str(ev.Raw)
	}
	if ev.Count != 0 {
		w.raw(`,"count":`)
		w.int(int64(ev.Count))
	}
	w.b = append(w.b, '}')
}

func (w *jsonWriter) factors(fs []engine.Factor) {
	w.b = append(w.b, '[')
	for i := range fs {
		f := &fs[i]
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.raw(`{"name":`)
		w.str(f.Name)
		w.raw(`,"value":`)
		w.float(f.Value)
		w.raw(`,"why":`)
		w.str(f.Why)
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, ']')
}

// alertDetail writes what an alert's audit record says about it: scenario,
// key, source, prefixes, severity, risk, confidence, count, propose, first.
func (w *jsonWriter) alertDetail(a *engine.Alert) {
	w.raw(`{"scenario":`)
	w.str(a.Scenario)
	w.raw(`,"key":`)
	w.str(a.Key)
	if a.Source.IsValid() {
		w.raw(`,"source":`)
		w.addr(a.Source)
	}
	if len(a.Prefixes) > 0 {
		// engine.PrefixString: a single-address prefix as the bare address
		w.raw(`,"prefixes":[`)
		for i, p := range a.Prefixes {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			switch {
			case !p.IsValid():
				w.raw(`""`)
			case p.IsSingleIP():
				w.addr(p.Addr())
			default:
				w.prefix(p)
			}
		}
		w.b = append(w.b, ']')
	}
	w.raw(`,"severity":`)
	w.float(a.Severity)
	w.raw(`,"risk":`)
	w.float(a.Risk)
	w.raw(`,"confidence":`)
	w.float(a.Confidence)
	w.raw(`,"count":`)
	w.int(int64(a.Count))
	w.raw(`,"propose":`)
	w.str(a.Propose)
	w.raw(`,"first":`)
	w.time(a.First)
	w.b = append(w.b, '}')
}

func (w *jsonWriter) decision(d *engine.Decision) {
	w.raw(`{"id":`)
	w.str(d.ID)
	w.raw(`,"time":`)
	w.time(d.Time)
	w.raw(`,"alert_id":`)
	w.str(d.AlertID)
	w.raw(`,"scenario":`)
	w.str(d.Scenario)
	w.raw(`,"action":`)
	w.str(d.Action)
	w.raw(`,"target":`)
	w.prefix(d.Target)
	if d.Proto != "" {
		w.raw(`,"proto":`)
		w.str(d.Proto)
	}
	if d.Port != 0 {
		w.raw(`,"port":`)
		w.uint(uint64(d.Port))
	}
	if d.Iface != "" {
		w.raw(`,"iface":`)
		w.str(d.Iface)
	}
	w.raw(`,"ttl":`)
	w.int(int64(d.TTL))
	w.raw(`,"expires":`)
	w.time(d.Expires)
	w.raw(`,"auto":`)
	w.bool(d.Auto)
	w.raw(`,"state":`)
	w.str(d.State)
	w.raw(`,"offense":`)
	w.int(int64(d.Offense))
	w.raw(`,"risk":`)
	w.float(d.Risk)
	w.raw(`,"reason":`)
	w.str(d.Reason)
	if len(d.Gateways) > 0 {
		w.raw(`,"gateways":`)
		w.strs(d.Gateways)
	}
	w.b = append(w.b, '}')
}

func (w *jsonWriter) offender(o *engine.Offender) {
	w.raw(`{"target":`)
	w.prefix(o.Target)
	w.raw(`,"count":`)
	w.int(int64(o.Count))
	w.raw(`,"last":`)
	w.time(o.Last)
	w.raw(`,"expires":`)
	w.time(o.Expires)
	w.b = append(w.b, '}')
}

// auditRecord writes r, whose Detail must already be canonical (see
// canonicalDetail): encoding/json writes a canonical RawMessage unchanged.
func (w *jsonWriter) auditRecord(r *AuditRecord) {
	w.raw(`{"seq":`)
	w.uint(r.Seq)
	w.raw(`,"time":`)
	w.time(r.Time)
	w.raw(`,"actor":`)
	w.str(r.Actor)
	w.raw(`,"action":`)
	w.str(r.Action)
	w.raw(`,"subject":`)
	w.str(r.Subject)
	if len(r.Detail) > 0 {
		w.raw(`,"detail":`)
		w.b = append(w.b, r.Detail...)
	}
	w.raw(`,"prev":`)
	w.str(r.Prev)
	w.raw(`,"hash":`)
	w.str(r.Hash)
	w.b = append(w.b, '}')
}
