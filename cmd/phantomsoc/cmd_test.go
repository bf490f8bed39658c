package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phantomsoc/phantomsoc/store"
)

// run executes the CLI in process with args and returns stdout.
func run(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd(buildInfo{Version: "v1.2.3", Commit: "abc123", Date: "2026-11-23"})
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	return out.String(), err
}

func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := run(t, stdin, args...)
	if err != nil {
		t.Fatalf("phantomsoc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

const publicSSH = "../../testdata/public/loghub/OpenSSH_2k.log"

func TestVersion(t *testing.T) {
	out := mustRun(t, "", "version")
	if !strings.Contains(out, "v1.2.3") || !strings.Contains(out, "abc123") || !strings.Contains(out, "2026-11-23") {
		t.Errorf("version = %q, want version, commit and date", out)
	}
	var info buildInfo
	if err := json.Unmarshal([]byte(mustRun(t, "", "version", "-o", "json")), &info); err != nil || info.Version != "v1.2.3" {
		t.Errorf("version -o json = %+v, %v", info, err)
	}
}

// TestParseJSONContract checks the field names scripts rely on: one object
// per input line, in input order.
func TestParseJSONContract(t *testing.T) {
	in := strings.Join([]string{
		"Nov 23 10:00:01 gw1 sshd[101]: Failed password for invalid user root from 198.51.100.9 port 22 from 203.0.113.5 port 4242 ssh2",
		"this is not a log line",
		"Nov 23 10:00:03 gw1 sshd[102]: Accepted publickey for alice from 192.0.2.44 port 50000 ssh2: ED25519 SHA256:abc",
		`{"timestamp":"2026-11-23T10:00:04.000000+0000","event_type":"alert","src_ip":"203.0.113.77","src_port":1,"dest_ip":"192.0.2.10","dest_port":80,"proto":"TCP","alert":{"signature_id":1,"signature":"x","category":"y","severity":1}}`,
		`{"event_type":"alert", "truncated`,
	}, "\n")
	out := mustRun(t, in, "parse", "--year", "2026", "-o", "json", "-")
	var got []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		got = append(got, m)
	}
	if len(got) != 5 {
		t.Fatalf("got %d objects, want 5 (one per line):\n%s", len(got), out)
	}
	for i, m := range got {
		for _, k := range []string{"line", "recognized", "type", "indicator", "source", "user"} {
			if _, ok := m[k]; !ok {
				t.Errorf("object %d lacks %q: %v", i+1, k, m)
			}
		}
		if m["line"].(float64) != float64(i+1) {
			t.Errorf("object %d has line %v", i+1, m["line"])
		}
	}
	tests := []struct {
		i                 int
		recognized, indic bool
		typ, source, user string
		time              string
	}{
		{0, true, true, "ssh.auth.invalid_user", "203.0.113.5", "root from 198.51.100.9 port 22", "2026-11-23T10:00:01Z"},
		{1, false, false, "", "", "", ""},
		{2, true, false, "ssh.auth.success", "192.0.2.44", "alice", "2026-11-23T10:00:03Z"},
		{3, true, true, "ids.alert", "203.0.113.77", "", "2026-11-23T10:00:04Z"},
	}
	for _, tc := range tests {
		m := got[tc.i]
		if m["recognized"] != tc.recognized || m["indicator"] != tc.indic || m["type"] != tc.typ || m["source"] != tc.source || m["user"] != tc.user {
			t.Errorf("line %d = %v, want recognized=%v indicator=%v type=%q source=%q user=%q", tc.i+1, m, tc.recognized, tc.indic, tc.typ, tc.source, tc.user)
		}
		if tc.time != "" && m["time"] != tc.time {
			t.Errorf("line %d time = %v, want %s", tc.i+1, m["time"], tc.time)
		}
	}
	if got[4]["recognized"] != false || got[4]["error"] == nil {
		t.Errorf("truncated JSON line = %v, want an error", got[4])
	}
}

func TestParseSummaryOnPublicLog(t *testing.T) {
	out := mustRun(t, "", "parse", publicSSH)
	if !strings.Contains(out, "lines 2000, recognised 2000") {
		t.Errorf("summary does not report all 2000 lines recognised:\n%s", lastLines(out, 40))
	}
	if !strings.Contains(out, "hits per pattern:") || !strings.Contains(out, "sshd.failed_password") {
		t.Errorf("summary lacks per-pattern hits:\n%s", lastLines(out, 40))
	}
}

// TestReplayDeterministicGolden replays the public sshd log twice: the
// output must be byte-identical, and equal to the reviewed golden file.
func TestReplayDeterministicGolden(t *testing.T) {
	args := []string{"replay", "--year", "2025", "-o", "json", publicSSH}
	first := mustRun(t, "", args...)
	second := mustRun(t, "", args...)
	if first != second {
		t.Fatal("two replays of the same file differ")
	}
	golden := filepath.Join("testdata", "replay-openssh-2k.golden.jsonl")
	if *update {
		if err := os.WriteFile(golden, []byte(first), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/phantomsoc -run Golden -update)", err)
	}
	if first != string(want) {
		t.Errorf("replay output differs from %s (review, then -update):\n%s", golden, diffLines(string(want), first))
	}
	recs := decodeRecords(t, []byte(first))
	var blocked bool
	for _, r := range recs {
		if r.Kind == "" || r.Scenario == "" || r.Time == "" {
			t.Errorf("record lacks kind/scenario/time: %+v", r)
		}
		if r.Kind == "decision" && (r.Action == "" || r.TTL == "") {
			t.Errorf("decision lacks action/ttl: %+v", r)
		}
		if r.Kind == "decision" && r.Source == "183.62.140.253" {
			blocked = true
		}
	}
	if !blocked {
		t.Error("the log's heaviest attacker 183.62.140.253 was not decided against")
	}
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "first difference at line " + itoa(i+1) + ":\nwant: " + a + "\ngot:  " + b
		}
	}
	return ""
}

func itoa(i int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + jsonNumber(i)) }

func jsonNumber(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestReplayKeepsDBAndAuditVerifies(t *testing.T) {
	db := filepath.Join(t.TempDir(), "r.db")
	mustRun(t, "", "--db", db, "replay", "--year", "2025", publicSSH)
	out := mustRun(t, "", "--db", db, "audit", "verify")
	if !strings.Contains(out, "audit chain OK") {
		t.Errorf("audit verify = %q", out)
	}
	list := mustRun(t, "", "--db", db, "alerts", "list", "-o", "json", "--limit", "0")
	n := strings.Count(list, "\n")
	if n == 0 {
		t.Fatal("no alerts stored")
	}
	var first record
	if err := json.Unmarshal([]byte(list[:strings.IndexByte(list, '\n')]), &first); err != nil {
		t.Fatal(err)
	}
	show := mustRun(t, "", "--db", db, "alerts", "show", first.ID)
	for _, want := range []string{first.ID, first.Scenario, "risk", "confidence", "blast radius", "Evidence"} {
		if !strings.Contains(show, want) {
			t.Errorf("alerts show %s lacks %q:\n%s", first.ID, want, show)
		}
	}
	audit := mustRun(t, "", "--db", db, "audit", "list", "-o", "json", "--limit", "0")
	if got := strings.Count(audit, `"action":"alert.raised"`); got != n {
		t.Errorf("audit has %d alert records, want %d (one per alert)", got, n)
	}
	if _, err := run(t, "", "--db", db, "alerts", "show", "al-99999999"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("alerts show unknown = %v, want not found", err)
	}
	st := mustRun(t, "", "--db", db, "status")
	if !strings.Contains(st, "not running") || !strings.Contains(st, "lines 2000") {
		t.Errorf("status = %q", st)
	}
	// Only a replay into a temporary database skips the per-source index.
	sdb, err := store.Open(db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	if srcs, err := sdb.Sources(0); err != nil || len(srcs) == 0 {
		t.Errorf("Sources(0) of a kept replay database = %d sources, %v; want the per-source index written", len(srcs), err)
	}
}

func TestConfigErrorsNamePlace(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown field", "dedup_window: 1s\nbogus: 3\n", []string{"bad.yaml:2:1", "bogus"}},
		{"bad type", "year: soon\n", []string{"bad.yaml:1:7"}},
		{"bad source", "sources:\n  - name: a\n    type: file\n", []string{"bad.yaml:2:", "sources[0].path"}},
		{"bad format", "sources:\n  - name: a\n    type: file\n    path: /x\n    format: xml\n", []string{"bad.yaml:5:", "sources[0].format"}},
		{"bad zone", "timezone: Mars/Olympus\n", []string{"bad.yaml:1:", "timezone"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "bad.yaml")
			if err := os.WriteFile(p, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := run(t, "", "config", "check", p)
			if err == nil {
				t.Fatal("config check accepted a bad file")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if out := mustRun(t, "", "config", "check"); !strings.Contains(out, "OK") {
		t.Errorf("embedded defaults: %q", out)
	}
}

// TestCLIReferenceIsCurrent keeps docs/cli.md generated, never hand-edited.
func TestCLIReferenceIsCurrent(t *testing.T) {
	got := mustRun(t, "", "docs")
	path := "../../docs/cli.md"
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Errorf("docs/cli.md is stale: run go generate ./cmd/phantomsoc (or go test ./cmd/phantomsoc -run CLIReference -update)\n%s", diffLines(string(want), got))
	}
}

func TestDemoRuns(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	out := mustRun(t, "", "--db", db, "--demo", "--log-level", "error")
	if !strings.Contains(out, "DECISION") || !strings.Contains(out, "dry-run") {
		t.Errorf("demo printed no dry-run decisions:\n%s", lastLines(out, 20))
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	out := mustRun(t, "", "config", "check", "testdata/config/example.yaml")
	if !strings.Contains(out, "OK (3 sources, 2 assets, 2 gateways)") {
		t.Errorf("config check = %q", out)
	}
	shown := mustRun(t, "", "--config", "testdata/config/example.yaml", "config", "show")
	if !strings.Contains(shown, "ssh-compromise-*") || !strings.Contains(shown, "/var/log/suricata/eve.json") {
		t.Errorf("config show lacks the file's settings:\n%s", shown)
	}
	// What config show prints must load again.
	p := filepath.Join(t.TempDir(), "shown.yaml")
	if err := os.WriteFile(p, []byte(shown), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "", "config", "check", p)
}

func TestPeakRSSIsReadable(t *testing.T) {
	if kb := peakRSSKB(); kb <= 0 {
		t.Fatalf("peakRSSKB = %d, want a positive VmHWM", kb)
	}
	if got := reportedRSS([]byte("noise\n"+peakRSSMarker+" 2048\n"), peakRSSMarker); got != 2 {
		t.Errorf("reportedRSS = %v MB, want 2", got)
	}
}

// TestBenchMeasuresInProcessStages runs bench's in-process measurements on
// a small log (the child-process replay needs the built binary, which `go
// test` does not have).
func TestBenchMeasuresInProcessStages(t *testing.T) {
	data, err := writeSynth(filepath.Join(t.TempDir(), "a.log"), 1, 5000, 1)
	if err != nil {
		t.Fatal(err)
	}
	var r benchResult
	if err := benchParse(data, &r); err != nil {
		t.Fatal(err)
	}
	if err := benchPipeline(data, &r); err != nil {
		t.Fatal(err)
	}
	if r.ParseLinesPerS <= 0 || r.PipeLinesPerS <= 0 || r.P99us <= 0 || r.P50us > r.P99us {
		t.Errorf("bench result = %+v, want positive rates and p50 <= p99", r)
	}
}

// TestReplayAuditIsDeterministic replays the same log into two databases:
// their audit trails are the same record for record, hashes included,
// however the engine's commits happened to queue up on each run.
func TestReplayAuditIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "a.log")
	if _, err := writeSynth(logPath, 3, 30000, 1); err != nil {
		t.Fatal(err)
	}
	var trails []string
	for i := range 2 {
		db := filepath.Join(dir, fmt.Sprintf("r%d.db", i))
		mustRun(t, "", "--db", db, "replay", "-o", "json", logPath)
		trails = append(trails, mustRun(t, "", "--db", db, "audit", "list", "--limit", "0", "-o", "json"))
	}
	if n := strings.Count(trails[0], "incident.updated"); n == 0 {
		t.Fatal("the replay recorded no incident updates; the test needs some")
	}
	if trails[0] != trails[1] {
		t.Errorf("two replays of one log left different audit trails (%d and %d bytes)", len(trails[0]), len(trails[1]))
	}
}
