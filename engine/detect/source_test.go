package detect

import (
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// TestSourcelessEvents: a source known only by host name is watched under
// its name; events with neither address nor name are nobody's and never
// pool into a phantom source.
func TestSourcelessEvents(t *testing.T) {
	scs, err := LoadDefaults()
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(scs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	var alerts []engine.Alert
	for i := range 30 {
		named := engine.Event{Time: t0.Add(time.Duration(i) * time.Second), Type: engine.TypeSSHAuthFailure, Indicator: true,
			SourceHost: "dsl-7.example.net", User: "root", Host: "gw1"}
		nobody := engine.Event{Time: named.Time, Type: engine.TypeSSHNegotiation, Indicator: true, Host: "gw1"}
		alerts = append(alerts, d.Observe(&named, nil)...)
		alerts = append(alerts, d.Observe(&nobody, nil)...)
	}
	var named int
	for _, a := range alerts {
		if a.Source.IsValid() {
			t.Errorf("alert %s blames address %s", a.Scenario, a.Source)
		}
		switch a.Key {
		case "dsl-7.example.net":
			named++
		case "":
			t.Errorf("alert %s for a source with neither address nor name", a.Scenario)
		}
	}
	if named == 0 {
		t.Errorf("no alert for the brute force from dsl-7.example.net: %+v", alerts)
	}
}
