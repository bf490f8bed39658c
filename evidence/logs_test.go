package evidence

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/store"
)

// authLog is a sample sshd log with documentation addresses only.
var authLog = []string{
	"Nov 23 09:58:00 gw1 sshd[100]: Connection from 198.51.100.7 port 50000 on 192.0.2.1 port 22",
	"Nov 23 10:00:01 gw1 sshd[101]: Failed password for root from 192.0.2.10 port 4242 ssh2",
	"Nov 23 10:00:02 gw1 sshd[101]: Failed password for invalid user admin from 192.0.2.10 port 4243 ssh2",
	"Nov 23 10:00:03 gw1 CRON[200]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
	"Nov 23 10:05:00 gw1 sshd[102]: Accepted password for alice from 203.0.113.5 port 50001 ssh2",
	"Nov 23 10:05:00 gw1 sshd[102]: pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)",
	"Nov 23 10:20:00 gw1 sshd[103]: Invalid user rootkit from 192.0.2.11 port 4244",
	"Nov 23 10:40:00 gw1 sshd[104]: Failed password for root from 192.0.2.10 port 4245 ssh2",
}

func writeLog(t *testing.T, lines []string) (string, uint64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "auth.log")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return path, st.Ino
}

// offsetOf is the byte offset of line i (from 0).
func offsetOf(lines []string, i int) int64 {
	n := 0
	for _, l := range lines[:i] {
		n += len(l) + 1
	}
	return int64(n)
}

func TestLogExcerpt(t *testing.T) {
	path, inode := writeLog(t, authLog)
	e := newEnv(t, Options{MaxLogBytes: 500})
	at := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, time.UTC) }
	cases := []struct {
		name       string
		req        Request
		from, to   int // lines [from, to)
		truncated  bool
		windowMeta bool
	}{
		{"window", Request{From: at(10, 0), To: at(10, 5)}, 1, 6, false, true},
		{"window capped at whole lines", Request{From: at(10, 0), To: at(10, 30)}, 1, 6, true, true},
		{"offsets", Request{Start: offsetOf(authLog, 6), End: offsetOf(authLog, 8)}, 6, 8, false, false},
		{"offsets to the end", Request{Start: offsetOf(authLog, 7)}, 7, 8, false, false},
	}
	// The second case's window holds 6 lines, more than 500 bytes: cut
	// after the last whole line that fits.
	if offsetOf(authLog, 6)-offsetOf(authLog, 1) > 500 || offsetOf(authLog, 7)-offsetOf(authLog, 1) <= 500 {
		t.Fatal("sample lines no longer fit the cap the way the test expects")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.req
			// An incident per case: the same bytes for one incident are
			// one item, with the first collection's record.
			r.Type, r.Incident, r.Collector, r.File = engine.EvidenceLogs, "in-"+tc.name, "alice", path
			it, err := e.c.Collect(t.Context(), r)
			if err != nil {
				t.Fatalf("Collect: %v", err)
			}
			got, err := e.blobs.Read(it.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Join(authLog[tc.from:tc.to], "\n") + "\n"
			if string(got) != want {
				t.Errorf("excerpt =\n%s\nwant\n%s", got, want)
			}
			m := it.Meta
			if m["file"] != path || m["inode"] != strconv.FormatUint(inode, 10) ||
				m["offset_start"] != strconv.FormatInt(offsetOf(authLog, tc.from), 10) ||
				m["offset_end"] != strconv.FormatInt(offsetOf(authLog, tc.to), 10) ||
				(m["truncated"] == "true") != tc.truncated || (m["window_from"] != "") != tc.windowMeta {
				t.Errorf("meta = %v, want file %s, inode %d, offsets [%d, %d), truncated %v", m, path, inode, offsetOf(authLog, tc.from), offsetOf(authLog, tc.to), tc.truncated)
			}
			if it.Source != path || it.Collector != "alice" || !it.Collected.Equal(t0) {
				t.Errorf("item = %+v", it)
			}
			// The recorded offsets and inode find the same bytes again.
			raw, _ := os.ReadFile(path)
			start, _ := strconv.Atoi(m["offset_start"])
			end, _ := strconv.Atoi(m["offset_end"])
			if Hash(raw[start:end]) != it.ID {
				t.Error("the file's bytes at the recorded offsets do not hash to the item")
			}
		})
	}
	for _, bad := range []Request{
		{From: at(10, 0), Start: 10},
		{Start: 1 << 20},
		{From: at(11, 0), To: at(10, 0)},
		{From: at(12, 0), To: at(13, 0)},
	} {
		bad.Type, bad.Collector, bad.File = engine.EvidenceLogs, "alice", path
		if _, err := e.c.Collect(t.Context(), bad); err == nil {
			t.Errorf("Collect(%+v) succeeded, want an error", bad)
		}
	}
}

func TestAuthHistory(t *testing.T) {
	path, _ := writeLog(t, authLog)
	e := newEnv(t, Options{LogFile: path})
	ctx := t.Context()
	// An alert naming root, in the store.
	alert := engine.Alert{ID: "al-00000001", Time: time.Date(2026, 11, 23, 10, 0, 2, 0, time.UTC), Scenario: "ssh-bruteforce",
		Source: netip.MustParseAddr("192.0.2.10"), Users: []string{"root", "admin"}, Count: 2, Risk: 6}
	if err := e.db.Commit(ctx, &engine.Commit{Alerts: []engine.Alert{alert}, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	it, err := e.c.Collect(ctx, Request{Type: engine.EvidenceAuthHistory, Incident: "in-00000001", Collector: "alice", Users: []string{"root", "alice"}})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	data, _ := e.blobs.Read(it.ID)
	var snap authSnapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range snap.Lines {
		lines = append(lines, l.Text)
		if raw, _ := os.ReadFile(path); !strings.HasPrefix(string(raw[l.Offset:]), l.Text) {
			t.Errorf("line at offset %d is not %q", l.Offset, l.Text)
		}
	}
	want := []string{authLog[1], authLog[4], authLog[5], authLog[7]}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines =\n%s\nwant (sshd lines naming root or alice; not cron, not rootkit)\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if len(snap.Alerts) != 1 || snap.Alerts[0].ID != "al-00000001" {
		t.Errorf("alerts = %+v, want al-00000001", snap.Alerts)
	}
	if it.Meta["matches"] != "4" || it.Source != path {
		t.Errorf("item = %+v", it)
	}
	// Since 10:30 only the last attempt counts.
	it, err = e.c.Collect(ctx, Request{Type: engine.EvidenceAuthHistory, Collector: "alice", Users: []string{"root"}, From: time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)})
	if err != nil || it.Meta["matches"] != "1" {
		t.Errorf("since 10:30: %+v, %v; want 1 match", it, err)
	}
}

func TestEnrichmentSnapshot(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := t.Context()
	src := netip.MustParseAddr("192.0.2.10")
	c := &engine.Commit{
		Alerts: []engine.Alert{
			{ID: "al-00000001", Time: t0.Add(-time.Hour), Scenario: "ssh-bruteforce", Source: src, Count: 20, Risk: 6},
			{ID: "al-00000002", Time: t0.Add(-time.Hour), Scenario: "ssh-bruteforce", Source: netip.MustParseAddr("198.51.100.7"), Count: 20, Risk: 6},
		},
		Decisions: []engine.Decision{{ID: "dc-00000003", AlertID: "al-00000001", Time: t0.Add(-time.Hour), Action: "block",
			Target: netip.PrefixFrom(src, 32), State: engine.StateActive, TTL: 4 * time.Hour, Scenario: "ssh-bruteforce"}},
		Seq: 3,
	}
	if err := e.db.Commit(ctx, c); err != nil {
		t.Fatal(err)
	}
	it, err := e.c.Collect(ctx, Request{Type: engine.EvidenceEnrichment, Incident: "in-00000001", Collector: "alice", Target: netip.MustParsePrefix("192.0.2.0/24")})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	data, _ := e.blobs.Read(it.ID)
	var snap enrichmentSnapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		t.Fatal(err)
	}
	if snap.Target != "192.0.2.0/24" || len(snap.Alerts) != 1 || snap.Alerts[0].ID != "al-00000001" ||
		len(snap.Decisions) != 1 || snap.Decisions[0].ID != "dc-00000003" || snap.Decisions[0].State != engine.StateActive {
		t.Errorf("snapshot = %s", data)
	}
	items, _ := e.db.Evidence(store.EvidenceQuery{Incident: "in-00000001"})
	if len(items) != 1 || items[0].Type != engine.EvidenceEnrichment {
		t.Errorf("index = %+v", items)
	}
}

func TestCollectNeedsActorAndType(t *testing.T) {
	e := newEnv(t, Options{})
	for _, r := range []Request{{Type: engine.EvidenceLogs}, {Type: "memory-dump", Collector: "alice"}} {
		if _, err := e.c.Collect(context.Background(), r); !errors.Is(err, ErrInvalid) {
			t.Errorf("Collect(%+v) = %v, want ErrInvalid", r, err)
		}
	}
}
