package detect

import (
	"net/netip"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// keptEvent is an event held as evidence until its key fires or clears.
// Kept events were a tenth of a replay's allocated bytes as whole
// engine.Events (352 bytes): this form holds inline what an sshd event
// fills and moves the fields only IDS and host-name events set behind one
// pointer, nil for most, so it takes 240 bytes and never more than
// before. event gives back the engine.Event unchanged.
type keptEvent struct {
	Time       time.Time
	Source     netip.Addr
	Type       string
	Host       string
	Program    string
	User       string
	Method     string
	Pattern    string
	Origin     string
	Raw        string
	PID        int
	Line       int64
	Count      int
	Ident      uint64
	Asset      *engine.Asset
	Geo        *engine.Geo
	rare       *rareFields
	SourcePort uint16
	Indicator  bool
}

// rareFields are the fields of an engine.Event that sshd events leave
// zero.
type rareFields struct {
	Dest        netip.Addr
	SourceHost  string
	Proto       string
	Signature   string
	Category    string
	SignatureID int64
	Severity    int
	DestPort    uint16
}

// keep returns a heap copy of ev in kept form.
func keep(ev *engine.Event) *keptEvent {
	k := &keptEvent{
		Time: ev.Time, Source: ev.Source, Type: ev.Type, Host: ev.Host, Program: ev.Program,
		User: ev.User, Method: ev.Method, Pattern: ev.Pattern, Origin: ev.Origin, Raw: ev.Raw,
		PID: ev.PID, Line: ev.Line, Count: ev.Count, Ident: ev.Ident, Asset: ev.Asset, Geo: ev.Geo,
		SourcePort: ev.SourcePort, Indicator: ev.Indicator,
	}
	r := rareFields{
		Dest: ev.Dest, SourceHost: ev.SourceHost, Proto: ev.Proto, Signature: ev.Signature,
		Category: ev.Category, SignatureID: ev.SignatureID, Severity: ev.Severity, DestPort: ev.DestPort,
	}
	if r != (rareFields{}) {
		// Not &r: taking its address moves r to the heap for every
		// event, rare fields or not.
		k.rare = new(rareFields)
		*k.rare = r
	}
	return k
}

// event returns the engine.Event k was kept from.
func (k *keptEvent) event() engine.Event {
	ev := engine.Event{
		Time: k.Time, Type: k.Type, Indicator: k.Indicator, Source: k.Source, SourcePort: k.SourcePort,
		Host: k.Host, Program: k.Program, PID: k.PID, User: k.User, Method: k.Method, Pattern: k.Pattern,
		Origin: k.Origin, Line: k.Line, Raw: k.Raw, Count: k.Count, Ident: k.Ident, Asset: k.Asset, Geo: k.Geo,
	}
	if r := k.rare; r != nil {
		ev.SourceHost, ev.Dest, ev.DestPort, ev.Proto = r.SourceHost, r.Dest, r.DestPort, r.Proto
		ev.Signature, ev.SignatureID, ev.Category, ev.Severity = r.Signature, r.SignatureID, r.Category, r.Severity
	}
	return ev
}
