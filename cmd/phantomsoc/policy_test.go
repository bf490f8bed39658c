package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// burst is a fast brute force from src starting at start.
func burst(start time.Time, src string, n int) string {
	return attackLines(start, src, n, 5000)
}

func TestAllowlistedSourceIsRefusedAndAudited(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", "policy:\n  allowlist: [203.0.113.0/28]\n")
	log := writeFile(t, dir, "auth.log", burst(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), "203.0.113.7", 12))
	db := filepath.Join(dir, "x.db")
	out := mustRun(t, "", "--config", cfg, "--db", db, "replay", "--year", "2026", "-o", "json", log)
	recs := decodeRecords(t, []byte(out))
	var refused int
	for _, r := range recs {
		if r.Kind == "decision" {
			if r.State != "refused" {
				t.Errorf("decision on allowlisted 203.0.113.7 is %q, want refused: %+v", r.State, r)
			}
			refused++
		}
	}
	if refused == 0 {
		t.Fatalf("no refused decision recorded:\n%s", out)
	}
	audit := mustRun(t, "", "--db", db, "audit", "list", "-o", "json", "--limit", "0")
	if !strings.Contains(audit, `"action":"decision.refused"`) {
		t.Errorf("audit trail lacks the refusal:\n%s", audit)
	}
}

func TestHostnameSourcesAreNeverDecidedAgainst(t *testing.T) {
	var b strings.Builder
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for i := range 12 {
		fmt.Fprintf(&b, "%s gw1 sshd[%d]: Failed password for root from dsl-7.example.net port %d ssh2\n",
			start.Add(time.Duration(i)*time.Second).Format(time.Stamp), 100+i, 40000+i)
	}
	log := writeFile(t, t.TempDir(), "auth.log", b.String())
	out := mustRun(t, "", "replay", "--year", "2026", "-o", "json", log)
	alerted := false
	for _, r := range decodeRecords(t, []byte(out)) {
		if r.Kind == "decision" {
			t.Errorf("decision against a host name without an address: %+v", r)
		}
		if r.Kind == "alert" && r.Key == "dsl-7.example.net" && r.Source == "" {
			alerted = true
		}
	}
	if !alerted {
		t.Errorf("the brute force from dsl-7.example.net raised no alert:\n%s", out)
	}
}

// TestEscalationSurvivesRestart replays two attacks by one source, a day
// apart, in two runs on one database: the second decision must know the
// first.
func TestEscalationSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "x.db")
	day1 := writeFile(t, dir, "day1.log", burst(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), "198.51.100.77", 12))
	day2 := writeFile(t, dir, "day2.log", burst(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC), "198.51.100.77", 12))
	first := decodeRecords(t, []byte(mustRun(t, "", "--db", db, "replay", "--year", "2026", "-o", "json", day1)))
	second := decodeRecords(t, []byte(mustRun(t, "", "--db", db, "replay", "--year", "2026", "-o", "json", day2)))
	ttl := func(recs []record) (time.Duration, int) {
		for _, r := range recs {
			if r.Kind == "decision" {
				d, err := time.ParseDuration(r.TTL)
				if err != nil {
					t.Fatal(err)
				}
				return d, r.Offense
			}
		}
		t.Fatal("no decision")
		return 0, 0
	}
	t1, o1 := ttl(first)
	t2, o2 := ttl(second)
	if o1 != 1 || o2 != 2 {
		t.Errorf("offenses = %d then %d, want 1 then 2", o1, o2)
	}
	if t2 < t1*3/2 {
		t.Errorf("second TTL %v is not escalated from %v", t2, t1)
	}
	if first[0].ID == second[0].ID {
		t.Errorf("IDs repeat across runs on one database: %s", first[0].ID)
	}
}

func TestIngestJSONLinesFromStdin(t *testing.T) {
	var b strings.Builder
	for i := range 12 {
		fmt.Fprintf(&b, `{"time":"2026-11-20T10:00:%02dZ","type":"ssh.auth.failure","source":"203.0.113.99","user":"root","host":"gw1","indicator":true}`+"\n", i)
	}
	b.WriteString("{broken json\n")
	b.WriteString("Nov 20 10:00:00 gw1 sshd[1]: Failed password for root from 203.0.113.5 port 22 ssh2\n") // not JSON: ingest's default
	db := filepath.Join(t.TempDir(), "x.db")
	out := mustRun(t, b.String(), "--db", db, "ingest", "-o", "json", "-")
	if !strings.Contains(out, `"kind":"decision"`) || !strings.Contains(out, `"source":"203.0.113.99"`) {
		t.Errorf("ingest made no decision on 203.0.113.99:\n%s", out)
	}
	st := mustRun(t, "", "--db", db, "status", "-o", "json")
	if !strings.Contains(st, `"rejected":2`) || !strings.Contains(st, `"lines":14`) {
		t.Errorf("status after ingest = %s, want 14 lines with 2 rejected (broken JSON, a syslog line)", st)
	}
}

func TestPruneCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "x.db")
	log := writeFile(t, dir, "auth.log", burst(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC), "203.0.113.8", 12))
	mustRun(t, "", "--db", db, "replay", "--year", "2025", log)
	before := mustRun(t, "", "--db", db, "alerts", "list", "-o", "json", "--limit", "0")
	if before == "" {
		t.Fatal("no alerts to prune")
	}
	out := mustRun(t, "", "--db", db, "prune", "--older-than", "720h")
	if !strings.Contains(out, "pruned before") {
		t.Errorf("prune = %q", out)
	}
	if after := mustRun(t, "", "--db", db, "alerts", "list", "-o", "json", "--limit", "0"); after != "" {
		t.Errorf("alerts left after pruning everything older than 30 days:\n%s", after)
	}
	if v := mustRun(t, "", "--db", db, "audit", "verify"); !strings.Contains(v, "audit chain OK") {
		t.Errorf("audit after prune: %q", v)
	}
	audit := mustRun(t, "", "--db", db, "audit", "list", "-o", "json", "--limit", "0")
	if !strings.Contains(audit, `"action":"retention.pruned"`) || !strings.Contains(audit, `"action":"alert.raised"`) {
		t.Errorf("audit lost records or the prune: %s", lastLines(audit, 3))
	}
	if _, err := run(t, "", "--db", db, "prune"); err == nil {
		t.Error("prune without --older-than accepted")
	}
}

func TestScenariosDirOverridesAndReportsErrors(t *testing.T) {
	dir := t.TempDir()
	sdir := filepath.Join(dir, "scenarios")
	if err := os.Mkdir(sdir, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, sdir, "local.yaml", `name: ssh-slow-bruteforce
disabled: true
---
name: ssh-root-only
description: any failure for root
kind: trigger
types: [ssh.auth.failure]
condition: evt.User == "root"
group_by: source
blackhole: 1h
severity: 4
propose: alert
`)
	cfg := writeFile(t, dir, "c.yaml", "scenarios_dir: "+sdir+"\n")
	list := mustRun(t, "", "--config", cfg, "scenarios", "list", "-o", "json")
	if !strings.Contains(list, `"name":"ssh-slow-bruteforce",`) || !strings.Contains(list, `"disabled":true`) || !strings.Contains(list, `"name":"ssh-root-only"`) {
		t.Errorf("scenarios list with an override dir:\n%s", list)
	}
	log := writeFile(t, dir, "auth.log", burst(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), "203.0.113.44", 12))
	out := mustRun(t, "", "--config", cfg, "replay", "--year", "2026", "-o", "json", log)
	if strings.Contains(out, `"scenario":"ssh-slow-bruteforce"`) || !strings.Contains(out, `"scenario":"ssh-root-only"`) {
		t.Errorf("replay with the override dir: want ssh-root-only alerts and no ssh-slow-bruteforce:\n%s", out)
	}
	writeFile(t, sdir, "broken.yaml", "name: broken\nkind: leaky\ntypes: [ssh.auth.failure]\ncapacity: 0\nleak: 10s\nseverity: 3\n")
	_, err := run(t, "", "--config", cfg, "config", "check")
	if err == nil || !strings.Contains(err.Error(), "broken.yaml:4:") || !strings.Contains(err.Error(), "capacity") {
		t.Errorf("config check with a broken scenario = %v, want broken.yaml:4:…capacity", err)
	}
}

func TestDecisionsExpireByTime(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "x.db")
	log := writeFile(t, dir, "auth.log", burst(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC), "203.0.113.9", 12))
	mustRun(t, "", "--db", db, "replay", "--year", "2025", log)
	if out := mustRun(t, "", "--db", db, "decisions", "list", "--state", "active"); strings.Contains(out, "203.0.113.9") {
		t.Errorf("a 2025 decision with a 4h TTL is still listed as active:\n%s", out)
	}
	out := mustRun(t, "", "--db", db, "decisions", "list", "--state", "expired", "-o", "json")
	if !strings.Contains(out, `"source":"203.0.113.9"`) || !strings.Contains(out, `"state":"expired"`) {
		t.Errorf("decisions list --state expired = %q", out)
	}
}
