package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/control"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/playbooks"
	"github.com/phantomsoc/phantomsoc/store"
)

// daemonRun is a daemon started by a test.
type daemonRun struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// startDaemon runs the daemon of g until the test ends or stop is called.
func startDaemon(t *testing.T, g *globals) *daemonRun {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	d := &daemonRun{cancel: cancel, done: make(chan struct{})}
	go func() {
		d.err = runEngine(ctx, io.Discard, io.Discard, g, newRunOptions(), "daemon")
		close(d.done)
	}()
	t.Cleanup(func() { d.stop() })
	return d
}

// stop cancels the daemon and returns its error and how long it took to
// return after the cancel.
func (d *daemonRun) stop() (time.Duration, error) {
	start := time.Now()
	d.cancel()
	<-d.done
	return time.Since(start), d.err
}

// waitRuns polls the daemon's playbook counters until cond holds.
func waitRuns(t *testing.T, sock string, d *daemonRun, cond func(playbookRuns) bool) playbookRuns {
	t.Helper()
	c := control.NewClient(sock)
	deadline := time.Now().Add(20 * time.Second)
	for {
		var pr playbookRuns
		err := c.Call(t.Context(), "playbook-runs", nil, &pr)
		if err == nil && cond(pr) {
			return pr
		}
		select {
		case <-d.done:
			t.Fatalf("daemon exited early: %v", d.err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("playbook runs never reached the expected state; last %+v, err %v", pr, err)
		}
	}
}

// playbookDir writes one playbook file into a new directory.
func playbookDir(t *testing.T, yaml string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pb.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// stepAudits returns the playbook.step records of db, decoded.
func stepAudits(t *testing.T, dbPath string) (recs []playbooks.Record, actors []string) {
	t.Helper()
	db, err := store.Open(dbPath, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all, err := db.AuditList(0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		if r.Action != auditPlaybookStep {
			continue
		}
		var rec playbooks.Record
		if err := json.Unmarshal(r.Detail, &rec); err != nil {
			t.Fatalf("playbook.step detail %s: %v", r.Detail, err)
		}
		if r.Subject != rec.AlertID {
			t.Errorf("playbook.step subject %q, want the alert %q", r.Subject, rec.AlertID)
		}
		recs = append(recs, rec)
		actors = append(actors, r.Actor)
	}
	return recs, actors
}

// decisionsBy lists the daemon's decisions a playbook made.
func decisionsBy(t *testing.T, dbPath, playbook string) []listedDecision {
	t.Helper()
	out := mustRun(t, "", "--db", dbPath, "decisions", "list", "-o", "json")
	var ds []listedDecision
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		var d listedDecision
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("decisions list line %q: %v", line, err)
		}
		if d.Scenario == "playbook:"+playbook {
			ds = append(ds, d)
		}
	}
	return ds
}

// TestDaemonRunsStarterPlaybooks feeds a brute force to a daemon running
// the starter set: its playbook blocks the source (an active decision, a
// dry run), tells the soc receiver through a real webhook, and every step
// is in the audit trail.
func TestDaemonRunsStarterPlaybooks(t *testing.T) {
	hook := newHookServer(t)
	hook.up.Store(true)
	_, dbPath, g, _ := daemonSetup(t, fmt.Sprintf(`receivers:
  - {name: soc, webhook: {url: %q}}
  - {name: oncall, webhook: {url: %q}}
routing:
  route: {receiver: soc, group_wait: 0s}
playbooks: {starter: true}
`, hook.URL, hook.URL))
	d := startDaemon(t, g)
	pr := waitRuns(t, socketPath(dbPath), d, func(p playbookRuns) bool { return p.Done+p.Failed >= 1 && p.Running == 0 })
	if pr.Failed != 0 || pr.Dropped != 0 {
		t.Errorf("playbook runs = %+v, want all done", pr)
	}
	if st := mustRun(t, "", "--db", dbPath, "status"); !strings.Contains(st, "playbooks: 0 running, 0 queued, 1 done") {
		t.Errorf("status = %q, want the playbook runs", st)
	}

	ds := decisionsBy(t, dbPath, "ssh-brute-force")
	if len(ds) != 1 || ds[0].State != engine.StateActive || ds[0].Source != "203.0.113.50" || ds[0].Action != engine.ActionBlock || ds[0].AlertID == "" {
		t.Fatalf("the playbook's decisions = %+v, want one active block of 203.0.113.50 for the alert", ds)
	}

	// The message reaches the webhook: the router's own notification of
	// the alert comes too, so look for the playbook's. Its text is the
	// title and the first line of the text, the alert below it.
	deadline := time.Now().Add(10 * time.Second)
	var got map[string]any
	for got == nil {
		hook.mu.Lock()
		for _, b := range hook.bodies {
			var p struct {
				GroupLabels map[string]string `json:"group_labels"`
				Receiver    string            `json:"receiver"`
				Title       string            `json:"title"`
				Text        string            `json:"text"`
			}
			if json.Unmarshal([]byte(b), &p) == nil && p.GroupLabels["playbook"] == "ssh-brute-force" {
				got = map[string]any{"receiver": p.Receiver, "step": p.GroupLabels["step"], "message": p.GroupLabels["message"],
					"title": p.Title, "text": p.Text}
			}
		}
		hook.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("the playbook's notification never reached the webhook")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got["receiver"] != "soc" || got["step"] != "tell-soc" || !strings.Contains(got["message"].(string), "Blocked 203.0.113.50 for 4h") {
		t.Errorf("webhook got %v, want tell-soc's message to soc", got)
	}
	msg := got["message"].(string)
	first, rest, _ := strings.Cut(got["text"].(string), "\n")
	if got["title"] != msg || first != msg || !strings.Contains(rest, "from 203.0.113.50") {
		t.Errorf("webhook title %q, text %q; want the message %q as title and first line, the alert below", got["title"], got["text"], msg)
	}

	if _, err := d.stop(); err != nil {
		t.Fatalf("daemon shutdown: %v", err)
	}
	recs, actors := stepAudits(t, dbPath)
	var steps []string
	for i, r := range recs {
		steps = append(steps, r.Name+"="+r.Outcome)
		if actors[i] != "playbook:ssh-brute-force" {
			t.Errorf("playbook.step actor %q", actors[i])
		}
	}
	if want := "score=ok block-source=ok keep-auth-history=ok tell-soc=ok"; strings.Join(steps, " ") != want {
		t.Errorf("audited steps = %q, want %q", strings.Join(steps, " "), want)
	}
	if len(recs) > 1 && recs[1].Ref != ds[0].ID {
		t.Errorf("block-source ref = %q, want the decision %s", recs[1].Ref, ds[0].ID)
	}
}

// TestPlaybookRequiredApprovalWaitsForTheAnalyst: approval: required makes
// a pending decision, which `decisions approve` makes active.
func TestPlaybookRequiredApprovalWaitsForTheAnalyst(t *testing.T) {
	dir := playbookDir(t, `name: hold
triggers: [{scenario: ssh-bruteforce}]
steps:
  - name: block
    remediate: {action: block, target: alert.source, ttl: 1h, approval: required}
`)
	_, dbPath, g, _ := daemonSetup(t, fmt.Sprintf("playbooks: {dirs: [%s]}\n", dir))
	d := startDaemon(t, g)
	waitRuns(t, socketPath(dbPath), d, func(p playbookRuns) bool { return p.Done >= 1 })
	ds := decisionsBy(t, dbPath, "hold")
	if len(ds) != 1 || ds[0].State != engine.StatePending {
		t.Fatalf("the playbook's decisions = %+v, want one pending", ds)
	}
	if !strings.Contains(ds[0].Reason, "waiting for approval") {
		t.Errorf("reason %q does not say it waits for approval", ds[0].Reason)
	}
	mustRun(t, "", "--db", dbPath, "decisions", "approve", ds[0].ID)
	if ds = decisionsBy(t, dbPath, "hold"); len(ds) != 1 || ds[0].State != engine.StateActive {
		t.Fatalf("after decisions approve: %+v, want active", ds)
	}
}

// TestPlaybookWaitEndsWithShutdown: a run waiting an hour does not keep
// the daemon: it returns within a second of the cancel, and the cut wait
// is audited.
func TestPlaybookWaitEndsWithShutdown(t *testing.T) {
	dir := playbookDir(t, `name: patient
triggers: [{scenario: ssh-bruteforce}]
steps:
  - name: later
    wait: 1h
`)
	_, dbPath, g, _ := daemonSetup(t, fmt.Sprintf("playbooks: {dirs: [%s]}\n", dir))
	d := startDaemon(t, g)
	waitRuns(t, socketPath(dbPath), d, func(p playbookRuns) bool { return p.Running == 1 })
	took, err := d.stop()
	if err != nil {
		t.Fatalf("daemon shutdown: %v", err)
	}
	if took > time.Second {
		t.Errorf("shutdown took %v with a run waiting; want under a second", took)
	}
	recs, _ := stepAudits(t, dbPath)
	if len(recs) != 1 || recs[0].Name != "later" || recs[0].Outcome != playbooks.OutcomeFailed {
		t.Errorf("audited steps = %+v, want the cut wait as failed", recs)
	}
}

func TestPlaybooksConfigErrors(t *testing.T) {
	bad := playbookDir(t, `name: bad
triggers: [{scenario: ssh-bruteforce}]
steps:
  - notify: {receiver: nobody}
`)
	cases := []struct {
		name, cfg string
		want      []string
	}{
		{"unknown receiver", fmt.Sprintf("playbooks:\n  dirs: [%s]\n", bad),
			[]string{"phantomsoc.yaml:2:10: playbooks.dirs[0]: ", "pb.yaml:4:", `steps[0].notify.receiver: unknown receiver "nobody"`}},
		{"starter without its receivers", "playbooks: {starter: true}\n",
			[]string{"playbooks.starter: ", `unknown receiver "soc"`, `unknown receiver "oncall"`}},
		{"missing directory", "playbooks:\n  dirs: [/nonexistent/playbooks]\n",
			[]string{"phantomsoc.yaml:2:10: playbooks.dirs[0]: /nonexistent/playbooks: read playbooks"}},
		{"negative queue", "playbooks:\n  queue: -1\n", []string{"phantomsoc.yaml:2:10: playbooks.queue: must not be negative"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "phantomsoc.yaml")
			if err := os.WriteFile(p, []byte(tc.cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := loadConfig(p)
			if err == nil {
				t.Fatalf("loadConfig(%q) = nil, want an error", tc.cfg)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("loadConfig(%q) = %v, want it to contain %q", tc.cfg, err, w)
				}
			}
		})
	}
}

// TestApprovalContainsItsIncident: a block the enforcement policy holds
// for an analyst does not contain its incident; `decisions approve` does,
// from the approval, with the approver in the incident's history.
func TestApprovalContainsItsIncident(t *testing.T) {
	_, dbPath, g, _ := daemonSetup(t, "enforcement:\n  approval:\n    block: {always: true}\n")
	d := startDaemon(t, g)
	errc := make(chan error, 1)
	go func() { <-d.done; errc <- d.err }()
	waitStatus(t, socketPath(dbPath), errc, func(s control.Status) bool { return s.Decisions > 0 })
	show := func() (inc struct {
		Contained time.Time `json:"contained"`
		Timeline  []struct {
			What  string `json:"what"`
			Actor string `json:"actor"`
		} `json:"timeline"`
		Metrics map[string]any `json:"metrics"`
	}) {
		t.Helper()
		if err := json.Unmarshal([]byte(mustRun(t, "", "--db", dbPath, "incidents", "show", "in-00000001", "-o", "json")), &inc); err != nil {
			t.Fatal(err)
		}
		return inc
	}
	var pending []string
	deadline := time.Now().Add(10 * time.Second)
	for len(pending) == 0 && time.Now().Before(deadline) {
		for line := range strings.Lines(mustRun(t, "", "--db", dbPath, "decisions", "list", "-o", "json")) {
			var dd listedDecision
			if err := json.Unmarshal([]byte(line), &dd); err != nil {
				t.Fatal(err)
			}
			if dd.State == engine.StatePending {
				pending = append(pending, dd.ID)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(pending) == 0 {
		t.Fatal("the enforcement policy held no block")
	}
	if inc := show(); !inc.Contained.IsZero() {
		t.Fatalf("a held block contained the incident at %v", inc.Contained)
	}
	before := time.Now().Add(-time.Second)
	mustRun(t, "", "--db", dbPath, "decisions", "approve", pending[0])
	inc := show()
	if inc.Contained.Before(before) || inc.Metrics["ttc_seconds"] == nil {
		t.Errorf("after the approval: contained %v, metrics %v; want contained from the approval", inc.Contained, inc.Metrics)
	}
	approved := false
	for _, e := range inc.Timeline {
		approved = approved || e.What == "incident.approved" && e.Actor == actor()
	}
	if !approved {
		t.Errorf("the timeline lacks the approval that contained the incident: %+v", inc.Timeline)
	}
}
