package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReplayBadInput feeds every kind of bad input the issue names around
// a real attack: nothing panics, the bad lines are counted and dead-lettered,
// and the attack is still decided against.
func TestReplayBadInput(t *testing.T) {
	var b bytes.Buffer
	b.Write([]byte{0x00, 0xff, 0xfe, 0x01, '\n'})                       // binary garbage
	b.WriteString("Nov 20 10:00:00 gw1 sshd[1]: Failed \x00password\n") // NUL inside
	b.WriteString("Nov 20 10:00:00 gw1 sshd[2]: \xc3\x28 invalid utf-8 \xff\n")
	b.WriteString(`{"event_type":"alert","src_ip":"203.0.113.9"` + "\n") // truncated JSON
	b.WriteString(strings.Repeat("A", 3<<20>>1) + "\n")                  // 1.5 MiB line
	b.WriteString("Dec 31 23:59:59 gw1 sshd[3]: Failed password for root from 198.51.100.3 port 1 ssh2\n")
	b.WriteString(`{"time":"2099-01-01T00:00:00Z","type":"ssh.auth.failure","source":"198.51.100.4","indicator":true}` + "\n")
	b.WriteString(attackLines(time.Date(2026, 11, 20, 10, 5, 0, 0, time.UTC), "203.0.113.66", 12, 700))

	dir := t.TempDir()
	log := writeFile(t, dir, "bad.log", b.String())
	db := filepath.Join(dir, "x.db")
	out := mustRun(t, "", "--db", db, "replay", "--year", "2026", "-o", "json", log)
	if !strings.Contains(out, `"kind":"decision"`) || !strings.Contains(out, `"source":"203.0.113.66"`) {
		t.Errorf("the attack after the garbage was not decided against:\n%s", out)
	}
	var st dbStatus
	if err := json.Unmarshal([]byte(mustRun(t, "", "--db", db, "status", "-o", "json")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Stats.Lines != 19 {
		t.Errorf("lines = %d, want 19", st.Stats.Lines)
	}
	if st.Stats.Rejected != 2 { // the truncated JSON and the cut line
		t.Errorf("rejected = %d, want 2 (truncated JSON, cut line)", st.Stats.Rejected)
	}

	rejects := mustRun(t, "", "--db", db, "rejects")
	for _, want := range []string{"bad.log:4", "bad.log:5", "line longer than 1048576 bytes cut"} {
		if !strings.Contains(rejects, want) {
			t.Errorf("rejects lacks %q:\n%s", want, rejects)
		}
	}
	parsed := mustRun(t, "", "parse", "--year", "2026", log)
	for _, want := range []string{"lines 19,", "errors 1,", "cut 1"} {
		if !strings.Contains(parsed, want) {
			t.Errorf("parse summary lacks %q:\n%s", want, lastLines(parsed, 12))
		}
	}
}
