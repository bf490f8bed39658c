package actions

import (
	"strings"
	"testing"

	"github.com/phantomsoc/phantomsoc/engine"
)

func TestNeedsApproval(t *testing.T) {
	policy := map[string]Approval{
		engine.ActionIsolate: {Always: true},
		engine.ActionBlock:   {AutoMinRisk: 6},
	}
	for _, tc := range []struct {
		policy map[string]Approval
		action string
		risk   float64
		want   string // substring; "" = applies unasked
	}{
		{policy, engine.ActionIsolate, 10, "always needs approval"},
		{policy, engine.ActionBlock, 5.9, "below 6.0"},
		{policy, engine.ActionBlock, 6, ""},
		{policy, engine.ActionRateLimit, 0, ""},
		{nil, engine.ActionQuarantine, 10, "always needs approval"}, // the defaults
		{nil, engine.ActionBlock, 0, ""},
	} {
		got := NeedsApproval(tc.policy, tc.action, tc.risk)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("NeedsApproval(%s, %.1f) = %q, want %q", tc.action, tc.risk, got, tc.want)
		}
	}
}
