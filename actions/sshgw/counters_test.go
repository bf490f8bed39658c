package sshgw

import (
	"encoding/json"
	"testing"

	"github.com/phantomsoc/phantomsoc/actions"
)

// TestParseElemReadsItsCounter: nft -j lists an element of a set with
// counters as below (nft 1.0.6); the counter is what Enforcer.Drops reads.
func TestParseElemReadsItsCounter(t *testing.T) {
	spec := actions.ActionSets()[0]
	raw := json.RawMessage(`{"elem": {"val": {"prefix": {"addr": "10.0.0.0", "len": 24}}, "timeout": 3600, "expires": 3599, "counter": {"packets": 5, "bytes": 300}}}`)
	e, err := parseElem(spec, raw)
	if err != nil {
		t.Fatal(err)
	}
	if want := (actions.Counter{Packets: 5, Bytes: 300}); e.Counter != want {
		t.Errorf("parseElem(%s).Counter = %+v, want %+v", raw, e.Counter, want)
	}
}
