package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/control"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/internal/nstest"
)

// TestDaemonEnforcesInANamespace runs the daemon with a local gateway in a
// network namespace: a brute force in the followed log becomes a dropped
// connection, and the remediation commands work through the daemon.
func TestDaemonEnforcesInANamespace(t *testing.T) {
	tp := nstest.New(t)
	svc := net.JoinHostPort(nstest.GatewayOut, "8022")
	nstest.Listen(t, tp.Gateway, svc)
	reachable := func(from string) bool { return nstest.Blocked(tp.Attacker, from, svc) != nil }

	dir := t.TempDir()
	logPath := filepath.Join(dir, "auth.log")
	dbPath := filepath.Join(dir, "d.db")
	cfgPath := filepath.Join(dir, "phantomsoc.yaml")
	cfg := fmt.Sprintf(`dry_run: false
sources:
  - {name: auth, type: file, path: %s}
enforcement:
  reconcile_every: 1s
  ruleset_evidence: true
  management: [%s]
  gateways:
    - {name: gw, type: local, netns: %s}
`, logPath, nstest.Mgmt, tp.Gateway)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, "", "--config", cfgPath, "config", "check"); !strings.Contains(out, "OK") {
		t.Fatalf("config check: %s", out)
	}
	now := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	if err := os.WriteFile(logPath, []byte(attackLines(now, nstest.Attacker2, 12, 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	if !reachable(nstest.Attacker2) {
		t.Fatal("attacker cannot reach the gateway before the daemon runs")
	}
	g := &globals{db: dbPath, config: cfgPath, output: outputTable, logFormat: "json", logLevel: "error"}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- runEngine(ctx, io.Discard, io.Discard, g, newRunOptions(), "daemon") }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("daemon: %v", err)
		}
	}()
	st := waitStatus(t, socketPath(dbPath), errc, func(s control.Status) bool { return s.Lines == 12 && s.Decisions > 0 })
	if st.DryRun {
		t.Fatal("daemon runs dry although the config says dry_run: false")
	}
	deadline := time.Now().Add(10 * time.Second)
	for reachable(nstest.Attacker2) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if reachable(nstest.Attacker2) {
		t.Fatal("the brute-forcer's automatic block never reached the kernel")
	}

	args := func(a ...string) []string { return append([]string{"--db", dbPath, "--config", cfgPath}, a...) }
	// The automatic block's table, before and after, is evidence of the
	// brute force's incident.
	var items []engine.EvidenceItem
	for line := range strings.Lines(mustRun(t, "", args("evidence", "list", "--incident", "in-00000001", "-o", "json")...)) {
		var it engine.EvidenceItem
		if err := json.Unmarshal([]byte(line), &it); err != nil {
			t.Fatalf("evidence list line %q: %v", line, err)
		}
		items = append(items, it)
	}
	phases := map[string]string{}
	for _, it := range items {
		if it.Type == engine.EvidenceRuleset && it.Collector == "policy" {
			phases[it.Meta["phase"]] = it.ID
		}
	}
	if phases["before"] == "" || phases["after"] == "" || phases["before"] == phases["after"] {
		t.Errorf("ruleset evidence of in-00000001 = %+v; want a before and an after of the block", items)
	}
	if out := mustRun(t, "", args("evidence", "verify", "in-00000001")...); !strings.Contains(out, "OK") && !strings.Contains(out, "ok") {
		t.Errorf("evidence verify: %s", out)
	}
	out := mustRun(t, "", args("block", nstest.Attacker, "--ttl", "1h", "--reason", "test", "-o", "json")...)
	var res struct {
		Decision     engine.Decision      `json:"decision"`
		Enforcements []engine.Enforcement `json:"enforcements"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Enforcements) != 1 || res.Enforcements[0].State != engine.EnforceApplied {
		t.Fatalf("block through the daemon = %s (%v)", out, err)
	}
	if reachable(nstest.Attacker) {
		t.Fatal("manual block did not drop")
	}
	ext := mustRun(t, "", args("decisions", "extend", res.Decision.ID, "--by", "2h", "-o", "json")...)
	var extended struct {
		Decision engine.Decision `json:"decision"`
	}
	if err := json.Unmarshal([]byte(ext), &extended); err != nil || extended.Decision.Expires.Sub(res.Decision.Expires) != 2*time.Hour {
		t.Errorf("decisions extend = %s (%v); want the expiry 2h later", ext, err)
	}
	list := mustRun(t, "", args("decisions", "list", "-o", "json")...)
	if !strings.Contains(list, `"gateway":"gw","state":"applied"`) || !strings.Contains(list, `"remaining_seconds":`) {
		t.Errorf("decisions list lacks per-gateway state or time left:\n%s", list)
	}
	if st := mustRun(t, "", args("status")...); !strings.Contains(st, "gateway gw: up") || !strings.Contains(st, "queues: process") {
		t.Errorf("status lacks gateway health or queues:\n%s", st)
	}
	gws := mustRun(t, "", args("gateways", "list", "-o", "json")...)
	if !strings.Contains(gws, `"table":true`) || !strings.Contains(gws, `"intact":true`) || !strings.Contains(gws, `"block4":2`) {
		t.Errorf("gateways list = %s", gws)
	}
	if _, err := run(t, "", args("block", nstest.Mgmt)...); err == nil || !strings.Contains(err.Error(), "management") {
		t.Errorf("blocking the management address = %v, want refused", err)
	}
	dry := mustRun(t, "", args("remediate", "firewall-rule", "--port", "tcp/8022", "--dry-run")...)
	if !strings.Contains(dry, "add element inet phantomsoc firewall4 { 0.0.0.0/0 . tcp . 8022") || !reachable(nstest.Mgmt) {
		t.Errorf("dry-run firewall rule = %q (or it applied)", dry)
	}
	mustRun(t, "", args("unblock", nstest.Attacker)...)
	if !reachable(nstest.Attacker) {
		t.Fatal("unblock did not lift the block")
	}
	// Drift: a flush behind phantomsoc's back is repaired by the loop.
	if out, err := tp.Exec(tp.Gateway, "nft", "flush", "ruleset"); err != nil {
		t.Fatalf("flush: %v: %s", err, out)
	}
	deadline = time.Now().Add(5 * time.Second)
	for reachable(nstest.Attacker2) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if reachable(nstest.Attacker2) {
		t.Fatal("reconcile did not restore the flushed table within its interval")
	}
	audit := mustRun(t, "", args("audit", "list", "-o", "json")...)
	for _, a := range []string{"enforcement.applied", "enforcement.refused", "enforcement.rolled_back", "enforcement.repaired"} {
		if !strings.Contains(audit, a) {
			t.Errorf("audit trail lacks %s", a)
		}
	}
}

func TestGatewaysAddValidatesBeforeWriting(t *testing.T) {
	p := filepath.Join(t.TempDir(), "phantomsoc.yaml")
	if err := os.WriteFile(p, []byte("policy:\n  allowlist: [192.0.2.0/28]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "", "--config", p, "gateways", "add", "edge1", "--address", "203.0.113.1:22", "--known-hosts", "/etc/phantomsoc/known_hosts", "--management", "203.0.113.1")
	if out := mustRun(t, "", "config", "check", p); !strings.Contains(out, "1 gateways") {
		t.Fatalf("config check after add = %q", out)
	}
	before, _ := os.ReadFile(p)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"edge1", "--address", "203.0.113.2:22", "--known-hosts", "/k"}, "already exists"},
		{[]string{"edge2", "--type", "bogus"}, `gateways[1].type: "bogus"`},
		{[]string{"edge2", "--address", "203.0.113.2:22"}, "known_hosts"},
		{[]string{"Edge;rm", "--address", "203.0.113.2:22", "--known-hosts", "/k"}, "name"},
	} {
		_, err := run(t, "", append([]string{"--config", p, "gateways", "add"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("gateways add %v = %v, want an error mentioning %q", c.args, err, c.want)
		}
	}
	if after, _ := os.ReadFile(p); string(after) != string(before) {
		t.Errorf("a refused add changed the file:\n%s", after)
	}
	if shown := mustRun(t, "", "--config", p, "config", "show"); !strings.Contains(shown, "192.0.2.0/28") || !strings.Contains(shown, "edge1") {
		t.Errorf("the file lost settings:\n%s", shown)
	}
}

func TestConfigErrorsNameEnforcementFields(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.yaml")
	bad := "enforcement:\n  min_prefix_v4: 40\n  quarantine_allow: [\"198.51.100.53\"]\n  gateways:\n    - name: edge1\n      type: sshh\n"
	if err := os.WriteFile(p, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := run(t, "", "config", "check", p)
	for _, want := range []string{"bad.yaml:2:", "enforcement.min_prefix_v4", "enforcement.quarantine_allow", "bad.yaml:6:", `enforcement.gateways[0].type: "sshh"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config check = %v, want it to mention %q", err, want)
		}
	}
}
