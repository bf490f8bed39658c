package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phantomsoc/phantomsoc/control"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/evidence"
	"github.com/phantomsoc/phantomsoc/store"
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

// TestEvidenceThroughDaemon runs every evidence command while a daemon owns
// the database: each goes through its control socket.
func TestEvidenceThroughDaemon(t *testing.T) {
	_, dbPath, g, _ := daemonSetup(t, "")
	d := startDaemon(t, g)
	waitStatus(t, socketPath(dbPath), nil, func(s control.Status) bool { return s.Lines == 12 })
	if db, err := store.Open(dbPath, store.Options{ReadOnly: true}); !errors.Is(err, store.ErrLocked) {
		if err == nil {
			db.Close()
		}
		t.Fatalf("store.Open while the daemon runs = %v, want ErrLocked", err)
	}

	// A relative --file: the daemon reads it from another directory.
	dir := t.TempDir()
	t.Chdir(dir)
	log := "Nov 23 10:00:01 gw1 sshd[101]: Failed password for root from 192.0.2.10 port 4242 ssh2\n" +
		"Nov 23 10:00:02 gw1 sshd[102]: Accepted publickey for admin from 198.51.100.7 port 4243 ssh2\n"
	if err := os.WriteFile("ev.log", []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "", "--db", dbPath, "evidence", "collect", "--incident", "in-00000001", "--type", "logs", "--file", "ev.log", "--start", "0", "-o", "json")
	var it engine.EvidenceItem
	if err := json.Unmarshal([]byte(out), &it); err != nil {
		t.Fatalf("collect through the daemon: %v: %s", err, out)
	}
	if it.ID != evidence.Hash([]byte(log)) || it.Collector != actor() || it.AuditSeq == 0 || !strings.Contains(it.Source, filepath.Join(dir, "ev.log")) {
		t.Errorf("collected through the daemon = %+v, want the file's hash, collector %s, an audit record, source %s", it, actor(), filepath.Join(dir, "ev.log"))
	}

	out = mustRun(t, "", "--db", dbPath, "evidence", "list", "-o", "json")
	var listed engine.EvidenceItem
	if err := json.Unmarshal([]byte(out), &listed); err != nil || listed.ID != it.ID || listed.AuditSeq != it.AuditSeq {
		t.Errorf("list -o json through the daemon = %v:\n%s", err, out)
	}

	bundle := filepath.Join(dir, "bundle.tar.gz")
	if out := mustRun(t, "", "--db", dbPath, "evidence", "export", "in-00000001", "-o", bundle); !strings.Contains(out, "1 items") {
		t.Errorf("export through the daemon = %q", out)
	}
	// A client that cannot read the blob directory (a daemon of another
	// user) gets the bundle built by the daemon.
	var viaOwner bytes.Buffer
	remote := newRemoteEvidence(t.Context(), control.NewClient(socketPath(dbPath)))
	if n, err := remote.Export(&viaOwner, "in-00000001"); err != nil || n != 1 {
		t.Fatalf("export built by the daemon = %d items, %v", n, err)
	}
	if rep, err := evidence.VerifyBundle(bytes.NewReader(viaOwner.Bytes()), remote.Audit()); err != nil || !rep.OK || rep.Items != 1 {
		t.Errorf("bundle built by the daemon: verify %+v, %v", rep, err)
	}
	const ok = "1 of 1 items checked against the audit chain: ok"
	if out := mustRun(t, "", "--db", dbPath, "evidence", "verify", bundle); !strings.Contains(out, ok) {
		t.Errorf("verify bundle through the daemon = %q, want %q", out, ok)
	}
	if out := mustRun(t, "", "--db", dbPath, "evidence", "verify", "in-00000001"); !strings.Contains(out, ok) {
		t.Errorf("verify incident through the daemon = %q, want %q", out, ok)
	}
	if _, err := run(t, "", "--db", dbPath, "evidence", "export", "in-99999999", "-o", filepath.Join(dir, "none.tar.gz")); err == nil || !strings.Contains(err.Error(), "has no evidence") {
		t.Errorf("export of an incident without evidence through the daemon = %v, want has no evidence", err)
	}
	if _, err := run(t, "", "--db", dbPath, "evidence", "collect", "--incident", "in-00000001", "--type", "ruleset", "--gateway", "nowhere"); err == nil || !strings.Contains(err.Error(), "nowhere") {
		t.Errorf("collect on an unknown gateway through the daemon = %v, want a refusal naming it", err)
	}
	if _, err := d.stop(); err != nil {
		t.Errorf("daemon shutdown: %v", err)
	}
}

func TestExportCapped(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "phantomsoc.db")
	logFile := filepath.Join(dir, "auth.log")
	if err := os.WriteFile(logFile, []byte("Nov 23 10:00:01 gw1 sshd[101]: Failed password for root from 192.0.2.10 port 4242 ssh2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "", "--db", dbPath, "evidence", "collect", "--incident", "in-00000001", "--type", "logs", "--file", logFile, "--start", "0")
	err := openEvidence(dbPath, store.Options{ReadOnly: true}, func(db *store.DB, blobs *evidence.Blobs) error {
		l := localEvidence{db: db, blobs: blobs}
		if _, err := exportCapped(l, "in-00000001", 64); !errors.Is(err, errBundleTooLarge) {
			t.Errorf("exportCapped(64 bytes) = %v, want errBundleTooLarge", err)
		}
		b, err := exportCapped(l, "in-00000001", maxControlBundle)
		if err != nil {
			return err
		}
		rep, err := evidence.VerifyBundle(bytes.NewReader(b.Bundle), l.Audit())
		if err != nil || !rep.OK || b.Items != 1 {
			t.Errorf("exportCapped = %d items, verify %+v, %v", b.Items, rep, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
