package detect

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/phantomsoc/phantomsoc/engine"
)

// fieldSet is a set of event fields a key is made of.
type fieldSet uint8

const (
	fieldSource fieldSet = 1 << iota
	fieldHost
	fieldUser
	fieldDest
	fieldSignature
)

// fieldOrder is the order fields appear in a key string.
var fieldOrder = []struct {
	f    fieldSet
	name string
}{
	{fieldSource, "source"}, {fieldHost, "host"}, {fieldUser, "user"},
	{fieldDest, "dest"}, {fieldSignature, "signature"},
}

// parseFields parses "source+user".
func parseFields(s string) (fieldSet, error) {
	if s == "" {
		return 0, fmt.Errorf("want source, host, user, dest or signature, joined with +")
	}
	var out fieldSet
	for part := range strings.SplitSeq(s, "+") {
		var f fieldSet
		for _, fo := range fieldOrder {
			if fo.name == part {
				f = fo.f
			}
		}
		if f == 0 {
			return 0, fmt.Errorf("unknown field %q (want source, host, user, dest or signature, joined with +)", part)
		}
		if out&f != 0 {
			return 0, fmt.Errorf("field %q repeated", part)
		}
		out |= f
	}
	return out, nil
}

// key identifies one state of a scenario. Fields outside the scenario's
// group_by stay zero, so the key is cheap to build and hash, and a map
// lookup allocates nothing.
type key struct {
	src, dest netip.Addr
	// srcHost is the source's host name when sshd logged one instead of
	// an address (UseDNS): such a source is still watched, never acted on.
	srcHost string
	host    string
	user    string
	sig     string
}

func makeKey(ev *engine.Event, g fieldSet) key {
	var k key
	if g&fieldSource != 0 {
		k.src = ev.Source
		if !ev.Source.IsValid() {
			k.srcHost = ev.SourceHost
		}
	}
	if g&fieldDest != 0 {
		k.dest = ev.Dest
	}
	if g&fieldHost != 0 {
		k.host = ev.Host
	}
	if g&fieldUser != 0 {
		k.user = ev.User
	}
	if g&fieldSignature != 0 {
		k.sig = ev.Signature
	}
	return k
}

// clone detaches the key's strings from the event they came from, so that
// a stored key does not pin a parser's line buffer.
func (k key) clone() key {
	k.srcHost = strings.Clone(k.srcHost)
	k.host = strings.Clone(k.host)
	k.user = strings.Clone(k.user)
	k.sig = strings.Clone(k.sig)
	return k
}

// format renders the key for alerts: the bare address for a per-source
// key, else "field=value" pairs ("host=gw1", "source=192.0.2.1 user=root").
func (k key) format(g fieldSet) string {
	if g == fieldSource {
		return k.source()
	}
	var b strings.Builder
	for _, fo := range fieldOrder {
		if g&fo.f == 0 {
			continue
		}
		var v string
		switch fo.f {
		case fieldSource:
			v = k.source()
		case fieldDest:
			v = addrString(k.dest)
		case fieldHost:
			v = k.host
		case fieldUser:
			v = k.user
		case fieldSignature:
			v = k.sig
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(fo.name)
		b.WriteByte('=')
		if v == "" || strings.ContainsAny(v, " \t\"=\\") || !strconv.CanBackquote(v) {
			v = strconv.Quote(v)
		}
		b.WriteString(v)
	}
	return b.String()
}

// source is the key's source: its address, else its host name.
func (k key) source() string {
	if k.src.IsValid() {
		return k.src.String()
	}
	return k.srcHost
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// fieldValue returns the value of one field of ev for distinct counting;
// "" when the event has none.
func fieldValue(ev *engine.Event, f fieldSet) string {
	switch f {
	case fieldUser:
		return ev.User
	case fieldHost:
		return ev.Host
	case fieldSignature:
		return ev.Signature
	case fieldSource:
		return addrString(ev.Source)
	case fieldDest:
		return addrString(ev.Dest)
	}
	return ""
}
