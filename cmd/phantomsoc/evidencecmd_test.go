package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/evidence"
)

func TestEvidenceCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "phantomsoc.db")
	logFile := filepath.Join(dir, "auth.log")
	log := "Nov 23 10:00:01 gw1 sshd[101]: Failed password for root from 192.0.2.10 port 4242 ssh2\n" +
		"Nov 23 10:00:02 gw1 sshd[101]: Failed password for root from 192.0.2.10 port 4243 ssh2\n"
	if err := os.WriteFile(logFile, []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	collect := func(args ...string) engine.EvidenceItem {
		t.Helper()
		out := mustRun(t, "", append([]string{"evidence", "collect", "--db", db, "--incident", "in-00000001", "--actor", "alice", "-o", "json"}, args...)...)
		var it engine.EvidenceItem
		if err := json.Unmarshal([]byte(out), &it); err != nil {
			t.Fatalf("collect %v: %v: %s", args, err, out)
		}
		return it
	}
	logs := collect("--type", "logs", "--file", logFile, "--start", "0")
	if logs.ID != evidence.Hash([]byte(log)) || logs.Meta["offset_end"] != "174" || logs.Meta["inode"] == "" || logs.Collector != "alice" {
		t.Errorf("logs item = %+v", logs)
	}
	collect("--type", "enrichment", "--source", "192.0.2.10")
	collect("--type", "auth-history", "--file", logFile, "--user", "root")
	for _, bad := range [][]string{
		{"--type", "enrichment", "--source", "192.0.2.10;id"},
		{"--type", "pcap", "--filter", "host 192.0.2.10 or tcp[13]=2"},
		{"--type", "pcap", "--source", "192.0.2.10", "--iface", "eth0;reboot"},
		{"--type", "ruleset", "--gateway", "nowhere"},
	} {
		if _, err := run(t, "", append([]string{"evidence", "collect", "--db", db, "--incident", "in-00000001"}, bad...)...); err == nil {
			t.Errorf("collect %v succeeded, want a refusal", bad)
		}
	}

	out := mustRun(t, "", "evidence", "list", "--db", db, "--incident", "in-00000001", "-o", "json")
	sc := bufio.NewScanner(strings.NewReader(out))
	n := 0
	for sc.Scan() {
		n++
	}
	if n != 3 {
		t.Errorf("list -o json = %d lines, want 3:\n%s", n, out)
	}
	if out := mustRun(t, "", "evidence", "list", "--db", db); !strings.Contains(out, logs.ID[:16]) || !strings.Contains(out, "auth-history") {
		t.Errorf("list =\n%s", out)
	}

	bundle := filepath.Join(dir, "bundle.tar.gz")
	mustRun(t, "", "evidence", "export", "in-00000001", "--db", db, "-o", bundle)
	if out := mustRun(t, "", "evidence", "verify", bundle, "--db", db); !strings.Contains(out, "3 of 3 items checked against the audit chain: ok") {
		t.Errorf("verify bundle = %q", out)
	}
	if out := mustRun(t, "", "evidence", "verify", "in-00000001", "--db", db); !strings.Contains(out, "3 of 3 items checked against the audit chain: ok") {
		t.Errorf("verify incident = %q", out)
	}

	// One byte of one stored content changed: both checks name it.
	blob := filepath.Join(evidence.DefaultDir(db), logs.ID)
	if err := os.Chmod(blob, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blob, []byte(strings.Replace(log, "192.0.2.10", "192.0.2.11", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "", "evidence", "verify", "in-00000001", "--db", db)
	if !errors.Is(err, errEvidenceBroken) || !strings.Contains(out, "FAIL item 1 (logs "+logs.ID[:12]+")") {
		t.Errorf("verify of a damaged store = %v:\n%s", err, out)
	}
	if _, err := run(t, "", "evidence", "export", "in-00000001", "--db", db, "-o", filepath.Join(dir, "again.tar.gz")); err == nil {
		t.Error("export of damaged evidence succeeded")
	}
	// The bundle taken before the damage still verifies.
	if _, err := run(t, "", "evidence", "verify", bundle, "--db", db); err != nil {
		t.Errorf("verify of the earlier bundle = %v", err)
	}
}
