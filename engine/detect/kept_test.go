package detect

import (
	"net/netip"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/phantomsoc/phantomsoc/engine"
)

// everyField is an event with every field set to a non-zero value, found by
// reflection: a field added to engine.Event that keep drops fails
// TestKeptEventRoundTrip.
func everyField(t *testing.T) engine.Event {
	t.Helper()
	var ev engine.Event
	v := reflect.ValueOf(&ev).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Interface().(type) {
		case time.Time:
			f.Set(reflect.ValueOf(time.Date(2026, 11, 16, 0, 47, 50, 123, time.FixedZone("X", 3600))))
		case netip.Addr:
			f.Set(reflect.ValueOf(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})))
		case *engine.Asset:
			f.Set(reflect.ValueOf(&engine.Asset{Name: "gw1", Criticality: 4}))
		case *engine.Geo:
			f.Set(reflect.ValueOf(&engine.Geo{Country: "NL", ASN: 64500}))
		default:
			switch f.Kind() {
			case reflect.String:
				f.SetString(v.Type().Field(i).Name + "-value")
			case reflect.Bool:
				f.SetBool(true)
			case reflect.Int, reflect.Int64:
				f.SetInt(int64(1000 + i))
			case reflect.Uint16, reflect.Uint64:
				f.SetUint(uint64(2000 + i))
			default:
				t.Fatalf("engine.Event.%s: kind %s not covered by this test", v.Type().Field(i).Name, f.Kind())
			}
		}
		if f.IsZero() {
			t.Fatalf("engine.Event.%s left zero", v.Type().Field(i).Name)
		}
	}
	return ev
}

func TestKeptEventRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 16, 0, 47, 50, 0, time.UTC)
	tests := []struct {
		name string
		ev   engine.Event
		rare bool // whether the fields sshd leaves zero need the extra struct
	}{
		{name: "zero", ev: engine.Event{}},
		{name: "sshd", ev: engine.Event{
			Time: at, Type: engine.TypeSSHInvalidUser, Indicator: true,
			Source: netip.MustParseAddr("2001:db8::af"), SourcePort: 46538, Host: "gw1", Program: "sshd", PID: 1371,
			User: "ubnt", Method: "password", Pattern: "invalid_user", Origin: "/var/log/auth.log", Line: 19,
			Raw: "Nov 16 00:47:50 gw1 sshd[1371]: Invalid user ubnt from 2001:db8::af port 46538", Count: 3, Ident: 42,
		}},
		{name: "enriched", ev: engine.Event{
			Time: at, Type: engine.TypeSSHAuthFailure, Source: netip.MustParseAddr("198.51.100.7"),
			Asset: &engine.Asset{Name: "web1", Criticality: 5}, Geo: &engine.Geo{Country: "DE"},
		}},
		{name: "host name source", rare: true, ev: engine.Event{
			Time: at, Type: engine.TypeSSHAuthFailure, SourceHost: "scanner.example", Host: "gw1",
		}},
		{name: "ids", rare: true, ev: engine.Event{
			Time: at, Type: engine.TypeIDSAlert, Indicator: true, Source: netip.MustParseAddr("203.0.113.9"),
			SourcePort: 4444, Dest: netip.MustParseAddr("192.0.2.10"), DestPort: 22, Proto: "TCP",
			Signature: "ET SCAN", SignatureID: 2001219, Category: "Attempted Recon", Severity: 2,
		}},
		{name: "dest port only", rare: true, ev: engine.Event{DestPort: 443}},
		{name: "every field", rare: true, ev: everyField(t)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := keep(&tc.ev)
			if got := k.event(); got != tc.ev {
				t.Errorf("keep(%+v).event() = %+v, want it unchanged", tc.ev, got)
			}
			if got := k.rare != nil; got != tc.rare {
				t.Errorf("keep(%s): rare fields allocated = %v, want %v", tc.name, got, tc.rare)
			}
		})
	}
}

// TestKeptEventCost holds what keptEvent is for: an sshd event kept as
// evidence costs one allocation smaller than an engine.Event, and an event
// that needs the rare fields costs no more bytes than one.
func TestKeptEventCost(t *testing.T) {
	full, kept, rare := unsafe.Sizeof(engine.Event{}), unsafe.Sizeof(keptEvent{}), unsafe.Sizeof(rareFields{})
	if kept >= full || kept+rare > full {
		t.Errorf("keptEvent %d bytes + rareFields %d, want less than engine.Event's %d without the rare fields and at most it with them", kept, rare, full)
	}
	ev := engine.Event{
		Time: time.Date(2026, 11, 16, 0, 47, 50, 0, time.UTC), Type: engine.TypeSSHAuthFailure, Indicator: true,
		Source: netip.MustParseAddr("198.51.100.7"), Host: "gw1", User: "root", Raw: "Failed password for root",
	}
	if n := testing.AllocsPerRun(100, func() { _ = keep(&ev) }); n != 1 {
		t.Errorf("keep(sshd event) = %v allocations, want 1", n)
	}
}
