package tui

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// t0 is the fixture's now: every time in the fixture is relative to it.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return t0 }

// fixture is a Console over fixed data (documentation addresses only). It
// records what the console asked and changes its snapshot the way the
// engine would: an approved decision becomes active, a rejected one goes,
// a rolled-back one goes, and each leaves an audit record.
type fixture struct {
	mu        sync.Mutex
	snap      Snapshot
	err       error
	calls     int
	approved  []string
	rejected  map[string]string
	rolled    []string
	failCalls int
	// edits and extended record ApproveEdited and Extend by decision ID.
	edits    map[string]edit
	extended map[string]time.Duration
	// silences and acked record Silence and Ack in call order;
	// actionErr, when set, is what both answer instead.
	silences  []silenceCall
	acked     []string
	actionErr error

	// incs are the incidents, newest first, closed ones too; incActs
	// records IncidentAct in call order.
	incs    []engine.Incident
	incActs []IncidentOp

	// events is what the console retains of the live stream, oldest
	// first; next numbers the next event added.
	events []LiveEvent
	next   uint64
}

// silenceCall is what Silence was asked.
type silenceCall struct {
	matchers []string
	d        time.Duration
	comment  string
}

// edit is what ApproveEdited was asked.
type edit struct {
	ttl      time.Duration
	gateways []string
}

func newFixture() *fixture {
	f := &fixture{snap: fixtureSnapshot(), incs: fixtureIncidents(), rejected: map[string]string{}, edits: map[string]edit{}, extended: map[string]time.Duration{}, next: 1}
	for i := range fixtureEventCount {
		f.addEvents(fixtureEvent(i))
	}
	return f
}

func (f *fixture) Events(_ context.Context, after uint64) ([]LiveEvent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	i, _ := slices.BinarySearchFunc(f.events, after+1, func(le LiveEvent, seq uint64) int { return cmp.Compare(le.Seq, seq) })
	return slices.Clone(f.events[i:]), nil
}

// addEvents numbers evs and retains them, as the engine feeds the live
// stream between two polls.
func (f *fixture) addEvents(evs ...engine.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ev := range evs {
		f.events = append(f.events, LiveEvent{Seq: f.next, Event: ev, Feeds: fixtureFeeds(&ev)})
		f.next++
	}
}

// retain keeps only the newest n events, as a console whose live window
// moved on before the TUI asked again: the rest become a gap.
func (f *fixture) retain(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.events) > n {
		f.events = slices.Clone(f.events[len(f.events)-n:])
	}
}

func (f *fixture) Snapshot(context.Context) (Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		f.failCalls++
		return Snapshot{}, f.err
	}
	// The console keeps what it gets; hand it copies so later changes here
	// do not reach into a snapshot it already holds.
	s := f.snap
	s.Pending = slices.Clone(s.Pending)
	s.Active = slices.Clone(s.Active)
	s.Audit = slices.Clone(s.Audit)
	s.Queues = slices.Clone(s.Queues)
	s.Incidents = f.openIncidents()
	return s, nil
}

func (f *fixture) Approve(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.approve(id, 0, nil)
}

func (f *fixture) ApproveEdited(_ context.Context, id string, ttl time.Duration, gateways []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.approve(id, ttl, gateways); err != nil {
		return err
	}
	f.edits[id] = edit{ttl: ttl, gateways: slices.Clone(gateways)}
	return nil
}

// approve moves pending id to active, edited as ApproveEdited says.
func (f *fixture) approve(id string, ttl time.Duration, gateways []string) error {
	i := slices.IndexFunc(f.snap.Pending, func(p Pending) bool { return p.Decision.ID == id })
	if i < 0 {
		return fmt.Errorf("no pending decision %s", id)
	}
	d := f.snap.Pending[i].Decision
	f.snap.Pending = slices.Delete(slices.Clone(f.snap.Pending), i, i+1)
	d.State = engine.StateActive
	if ttl > 0 {
		d.Expires = f.snap.Taken.Add(ttl)
		d.TTL = d.Expires.Sub(d.Time)
	}
	if gateways != nil {
		d.Gateways = slices.Clone(gateways)
	}
	var es []engine.Enforcement
	for _, gw := range gatewaysOf(&d, f.snap.Gateways) {
		es = append(es, engine.Enforcement{DecisionID: d.ID, Gateway: gw, State: engine.EnforceApplied, Updated: f.snap.Taken})
	}
	f.snap.Active = append(slices.Clone(f.snap.Active), Active{Decision: d, Enforcements: es})
	f.approved = append(f.approved, id)
	f.audit("approve", d.ID+" "+d.TargetString())
	return nil
}

func (f *fixture) Extend(_ context.Context, id string, by time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.snap.Active, func(a Active) bool { return a.Decision.ID == id })
	if i < 0 {
		return fmt.Errorf("no active decision %s", id)
	}
	f.snap.Active = slices.Clone(f.snap.Active)
	d := &f.snap.Active[i].Decision
	d.Expires = d.Expires.Add(by)
	d.TTL += by
	f.extended[id] += by
	f.audit("extend", id+" by "+by.String())
	return nil
}

func (f *fixture) Silence(_ context.Context, matchers []string, d time.Duration, comment string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.actionErr != nil {
		return "", f.actionErr
	}
	f.silences = append(f.silences, silenceCall{matchers: slices.Clone(matchers), d: d, comment: comment})
	id := fmt.Sprintf("s%d", len(f.silences))
	f.audit("silence", id+" "+strings.Join(matchers, ",")+" for "+d.String())
	return id, nil
}

func (f *fixture) Ack(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.actionErr != nil {
		return f.actionErr
	}
	if !slices.ContainsFunc(f.snap.Alerts, func(a engine.Alert) bool { return a.ID == id }) {
		return fmt.Errorf("no alert %s", id)
	}
	f.acked = append(f.acked, id)
	f.audit("ack", id)
	return nil
}

// setActionErr makes Silence and Ack fail with err (nil: succeed).
func (f *fixture) setActionErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actionErr = err
}

// notices returns copies of what Silence and Ack were asked.
func (f *fixture) notices() ([]silenceCall, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sils := make([]silenceCall, len(f.silences))
	for i, s := range f.silences {
		sils[i] = silenceCall{matchers: slices.Clone(s.matchers), d: s.d, comment: s.comment}
	}
	return sils, slices.Clone(f.acked)
}

// changes returns copies of what ApproveEdited and Extend were asked.
func (f *fixture) changes() (map[string]edit, map[string]time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	eds := make(map[string]edit, len(f.edits))
	for k, v := range f.edits {
		eds[k] = edit{ttl: v.ttl, gateways: slices.Clone(v.gateways)}
	}
	ext := make(map[string]time.Duration, len(f.extended))
	for k, v := range f.extended {
		ext[k] = v
	}
	return eds, ext
}

func (f *fixture) Reject(_ context.Context, id, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.snap.Pending, func(p Pending) bool { return p.Decision.ID == id })
	if i < 0 {
		return fmt.Errorf("no pending decision %s", id)
	}
	f.snap.Pending = slices.Delete(slices.Clone(f.snap.Pending), i, i+1)
	f.rejected[id] = reason
	f.audit("reject", id+": "+reason)
	return nil
}

func (f *fixture) Rollback(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.snap.Active, func(a Active) bool { return a.Decision.ID == id })
	if i < 0 {
		return fmt.Errorf("no active decision %s", id)
	}
	f.snap.Active = slices.Delete(slices.Clone(f.snap.Active), i, i+1)
	f.rolled = append(f.rolled, id)
	f.audit("rollback", id)
	return nil
}

// audit prepends a record, newest first like the real tail.
func (f *fixture) audit(action, subject string) {
	seq := uint64(1)
	if len(f.snap.Audit) > 0 {
		seq = f.snap.Audit[0].Seq + 1
	}
	line := AuditLine{Seq: seq, Time: f.snap.Taken, Actor: f.snap.Actor, Action: action, Subject: subject}
	f.snap.Audit = append([]AuditLine{line}, f.snap.Audit...)
}

func (f *fixture) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
	f.failCalls = 0
}

// state returns copies of what was recorded.
func (f *fixture) state() (approved []string, rejected map[string]string, rolled []string, calls, failCalls int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rej := make(map[string]string, len(f.rejected))
	for k, v := range f.rejected {
		rej[k] = v
	}
	return slices.Clone(f.approved), rej, slices.Clone(f.rolled), f.calls, f.failCalls
}

func gatewaysOf(d *engine.Decision, all []Gateway) []string {
	if len(d.Gateways) > 0 {
		return d.Gateways
	}
	var out []string
	for _, g := range all {
		out = append(out, g.Name)
	}
	return out
}

func addr(s string) netip.Addr     { return netip.MustParseAddr(s) }
func prefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func fixtureSnapshot() Snapshot {
	ev := func(min int, src, raw string) engine.Event {
		return engine.Event{Time: t0.Add(time.Duration(min) * time.Minute), Type: engine.TypeSSHAuthFailure, Source: addr(src), Raw: raw}
	}
	return Snapshot{
		Taken:  t0,
		Mode:   "in-process",
		Source: "/var/lib/phantomsoc/phantomsoc.db",
		Actor:  "alice",
		Stats: engine.Stats{
			Lines: 120431, Events: 118220, Indicators: 9321, Deduped: 3120, Rejected: 17, Alerts: 42, Decisions: 12,
		},
		// The store writer lags (52 of 64 batches queued, 81%): backpressure.
		Queues: []engine.Queue{{Stage: "process", Depth: 3, Cap: 64}, {Stage: "store", Depth: 52, Cap: 64}},
		Rates: []Rate{
			{Source: "/var/log/auth.log", PerSecond: []float64{1, 2, 2, 3, 5, 8, 13, 21, 34, 21, 13, 8, 5, 3, 2, 1, 1, 2, 4, 9, 12, 14, 15, 12, 9}},
			{Source: "eve.json", PerSecond: []float64{120, 118, 130, 142, 150, 149, 160, 171, 165, 150, 140, 133, 128, 120, 118, 119, 121, 125, 130, 128, 126, 130, 131, 129, 127}},
			{Source: "syslog-udp:0.0.0.0:5514", PerSecond: []float64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		},
		Alerts: []engine.Alert{
			{
				ID: "A0004", Time: t0.Add(-1 * time.Minute), First: t0.Add(-4 * time.Minute), Scenario: "ssh-bruteforce",
				Description: "many failed SSH logins from one source", Severity: 7, Key: "198.51.100.7",
				Source: addr("198.51.100.7"), Sources: 1, Host: "web1", Dest: addr("192.0.2.10"), Users: []string{"root", "admin"},
				Count: 42, Propose: engine.ActionBlock, Risk: 8.2, Confidence: 0.91,
				Factors: []engine.Factor{
					{Name: "severity", Value: 3.5, Why: "scenario base severity 7"},
					{Name: "asset", Value: 2.5, Why: "web1 is criticality 4, internet facing"},
					{Name: "volume", Value: 2.2, Why: "42 attempts in 3 minutes"},
				},
				Reasons: []engine.Factor{
					{Name: "exact-source", Value: 0.5, Why: "one address, no NAT seen"},
					{Name: "repeat", Value: 0.41, Why: "blocked twice before (offense 3)"},
				},
				Blast: engine.BlastRadius{Assets: []string{"web1"}, Users: []string{"root", "admin"}, Gateways: []string{"gw1"}, Addresses: 1},
				Evidence: []engine.Event{
					ev(-4, "198.51.100.7", "Mar  1 11:56:00 web1 sshd[811]: Failed password for root from 198.51.100.7 port 40022 ssh2"),
					ev(-2, "198.51.100.7", "Mar  1 11:58:00 web1 sshd[811]: Failed password for invalid user admin from 198.51.100.7 port 40031 ssh2"),
					ev(-1, "198.51.100.7", "Mar  1 11:59:00 web1 sshd[811]: maximum authentication attempts exceeded for root from 198.51.100.7 port 40044 ssh2 [preauth]"),
				},
			},
			{
				ID: "A0003", Time: t0.Add(-3 * time.Minute), First: t0.Add(-30 * time.Minute), Scenario: "ssh-campaign",
				Description: "distributed SSH guessing from one /24", Severity: 6, Key: "203.0.113.0/24",
				Prefixes: []netip.Prefix{prefix("203.0.113.0/24")}, Sources: 37, Count: 512, Propose: engine.ActionBlock,
				Risk: 6.5, Confidence: 0.72,
				Factors: []engine.Factor{{Name: "spread", Value: 4, Why: "37 sources in one /24"}, {Name: "severity", Value: 2.5, Why: "scenario base severity 6"}},
				Reasons: []engine.Factor{{Name: "density", Value: 0.72, Why: "37 of 256 addresses active"}},
				Blast:   engine.BlastRadius{Gateways: []string{"gw1", "gw2"}, Addresses: 256},
			},
			{
				ID: "A0002", Time: t0.Add(-6 * time.Minute), First: t0.Add(-7 * time.Minute), Scenario: "ids-exploit",
				Description: "Suricata: exploit attempt against web tier", Severity: 9, Key: "2001:db8::bad",
				Source: addr("2001:db8::bad"), Sources: 1, Dest: addr("2001:db8:1::10"), Count: 3, Propose: engine.ActionRateLimit,
				Risk: 9.1, Confidence: 0.6,
				Factors: []engine.Factor{{Name: "severity", Value: 4.5, Why: "Suricata severity 1"}},
				Blast:   engine.BlastRadius{Assets: []string{"api1"}, Addresses: 1},
			},
			{
				ID: "A0001", Time: t0.Add(-9 * time.Minute), First: t0.Add(-10 * time.Minute), Scenario: "ssh-user-enum",
				Description: "invalid user names tried", Severity: 3, Key: "192.0.2.55",
				Source: addr("192.0.2.55"), Sources: 1, Count: 9, Propose: engine.ActionAlert, Risk: 3, Confidence: 0.4,
			},
		},
		Pending: []Pending{
			{
				Decision: engine.Decision{
					ID: "D0101", Time: t0.Add(-1 * time.Minute), AlertID: "A0004", Scenario: "ssh-bruteforce", Action: engine.ActionBlock,
					Target: prefix("198.51.100.7/32"), TTL: 4 * time.Hour, Expires: t0.Add(4*time.Hour - time.Minute),
					State: engine.StatePending, Offense: 3, Risk: 8.2, Reason: "risk 8.2 above 8.0: approval required", Gateways: []string{"gw1"},
				},
				Script: "add element inet phantomsoc block4 { 198.51.100.7 timeout 4h }\n",
			},
			{
				Decision: engine.Decision{
					ID: "D0102", Time: t0.Add(-5 * time.Minute), AlertID: "A0002", Scenario: "ids-exploit", Action: engine.ActionRateLimit,
					Target: prefix("2001:db8::bad/128"), TTL: time.Hour, Expires: t0.Add(55 * time.Minute),
					State: engine.StatePending, Offense: 1, Risk: 9.1, Reason: "rate-limit proposed by scenario",
				},
				Script: "add element inet phantomsoc ratelimit6 { 2001:db8::bad timeout 1h }\n",
			},
			{
				Decision: engine.Decision{
					ID: "D0103", Time: t0.Add(-2 * time.Minute), AlertID: "A0003", Scenario: "ssh-campaign", Action: engine.ActionBlock,
					Target: prefix("203.0.113.0/24"), TTL: 24 * time.Hour, Expires: t0.Add(24*time.Hour - 2*time.Minute),
					State: engine.StatePending, Offense: 1, Risk: 6.5, Reason: "campaign: 37 sources in 203.0.113.0/24", Gateways: []string{"gw1", "gw2"},
				},
				Script: "# gw1\nadd element inet phantomsoc block4 { 203.0.113.0/24 timeout 24h }\n# gw2\nadd element inet phantomsoc block4 { 203.0.113.0/24 timeout 24h }\n",
				Wide:   true,
			},
		},
		Active: []Active{
			{
				Decision: engine.Decision{
					ID: "D0090", Time: t0.Add(-50 * time.Minute), AlertID: "A0000", Scenario: "ssh-bruteforce", Action: engine.ActionBlock,
					Target: prefix("198.51.100.23/32"), TTL: time.Hour, Expires: t0.Add(10*time.Minute + 5*time.Second),
					Auto: true, State: engine.StateActive, Offense: 1, Risk: 5.4, Reason: "policy: block sources above risk 5",
				},
				Enforcements: []engine.Enforcement{
					{DecisionID: "D0090", Gateway: "gw1", State: engine.EnforceApplied, Updated: t0.Add(-50 * time.Minute)},
					{DecisionID: "D0090", Gateway: "gw2", State: engine.EnforcePending, Updated: t0.Add(-49 * time.Minute), Error: "dial tcp 192.0.2.2:22: connection refused"},
				},
				Drops: []Drops{{Gateway: "gw1", Packets: 15321, Bytes: 919260}, {Gateway: "gw2", Missing: true}},
			},
			{
				Decision: engine.Decision{
					ID: "D0080", Time: t0.Add(-3 * time.Hour), AlertID: "A0000", Scenario: "ids-scan", Action: engine.ActionBlock,
					Target: prefix("2001:db8:beef::/48"), TTL: 24 * time.Hour, Expires: t0.Add(21 * time.Hour),
					State: engine.StateActive, Offense: 2, Risk: 7.7, Reason: "approved by bob", Gateways: []string{"gw1"},
				},
				Enforcements: []engine.Enforcement{
					{DecisionID: "D0080", Gateway: "gw1", State: engine.EnforceApplied, Updated: t0.Add(-3 * time.Hour)},
				},
				Drops: []Drops{{Gateway: "gw1", Packets: 212, Bytes: 12720, Shared: true}},
			},
		},
		Gateways: []Gateway{
			{Name: "gw1", Up: true, Intact: true, Elements: 1204, Drops: 88123},
			{Name: "gw2", Up: false, Error: "dial tcp 192.0.2.2:22: connection refused"},
		},
		Audit: []AuditLine{
			{Seq: 5, Time: t0.Add(-50 * time.Minute), Actor: "policy", Action: "decide", Subject: "D0090 block 198.51.100.23"},
			{Seq: 4, Time: t0.Add(-3 * time.Hour), Actor: "bob", Action: "approve", Subject: "D0080 2001:db8:beef::/48"},
			{Seq: 3, Time: t0.Add(-3 * time.Hour), Actor: "policy", Action: "decide", Subject: "D0080 pending approval"},
			{Seq: 2, Time: t0.Add(-5 * time.Hour), Actor: "alice", Action: "console.open", Subject: "in-process"},
			{Seq: 1, Time: t0.Add(-6 * time.Hour), Actor: "system", Action: "store.open", Subject: "schema 3"},
		},
		AuditOK: true,
		TopSources: []SourceCount{
			{Source: "203.0.113.0/24", Count: 5120},
			{Source: "198.51.100.7", Count: 1204},
			{Source: "2001:db8::bad", Count: 311},
			{Source: "192.0.2.55", Count: 9},
		},
		Deliveries: []Delivery{
			{Receiver: "pagerduty", Sent: 4, Waiting: 1, Failed: 2, LastError: "503 Service Unavailable"},
			{Receiver: "slack", Sent: 31, Suppressed: 3},
		},
	}
}

// fixtureEventCount is how many events the fixture starts with: more than
// a 132×40 list shows, so following scrolls.
const fixtureEventCount = 45

// fixtureFeeds is what detection would record for ev: the campaign and
// the brute-force bucket for SSH failures (the brute forcer's every tenth
// failure fires), the exploit trigger for IDS alerts, nothing for the
// rest.
func fixtureFeeds(ev *engine.Event) []engine.Feed {
	switch {
	case ev.Type == engine.TypeIDSAlert:
		return []engine.Feed{{Scenario: "ids-exploit", Key: ev.Source.String(), Level: 1, Capacity: 1, Fired: true}}
	case ev.Indicator && ev.Source.IsValid() && ev.Type != engine.TypeSSHPreauthClose:
		n := float64(ev.Line % 10)
		return []engine.Feed{
			{Scenario: "ssh-bruteforce", Key: ev.Source.String(), Level: n / 2, Capacity: 5, Fired: n == 9},
			{Scenario: "ssh-distributed-campaign", Key: "203.0.113.0/24", Level: 12, Capacity: 20},
		}
	}
	return nil
}

// fixtureEvent is the i-th event of a repeating mix: SSH failures from a
// /24 campaign and one brute forcer, an unresolved host name, a Suricata
// alert on an enriched asset, and non-indicators. The stream ends 7s
// before t0, one event every 7s; events past fixtureEventCount come later.
func fixtureEvent(i int) engine.Event {
	at := t0.Add(time.Duration(i-fixtureEventCount) * 7 * time.Second)
	stamp := at.Format(time.Stamp)
	line := int64(1000 + i)
	ssh := func(typ string, indicator bool, src netip.Addr, port uint16, user, pattern, msg string) engine.Event {
		return engine.Event{
			Time: at, Type: typ, Indicator: indicator, Source: src, SourcePort: port, Host: "web1",
			Program: "sshd", PID: 811, User: user, Pattern: pattern, Origin: "/var/log/auth.log", Line: line,
			Raw: fmt.Sprintf("%s web1 sshd[811]: %s", stamp, msg),
		}
	}
	campaign := netip.AddrFrom4([4]byte{203, 0, 113, byte(10 + i)})
	port := uint16(40000 + i)
	switch (i + 1) % 7 {
	case 0:
		ev := ssh(engine.TypeSSHAuthFailure, true, campaign, port, "root", "failed_password",
			fmt.Sprintf("Failed password for root from %s port %d ssh2", campaign, port))
		ev.Method = "password"
		return ev
	case 1:
		return ssh(engine.TypeSSHInvalidUser, true, addr("198.51.100.7"), port, "admin", "invalid_user",
			fmt.Sprintf("Invalid user admin from 198.51.100.7 port %d", port))
	case 2:
		ev := ssh(engine.TypeSSHAuthFailure, true, campaign, port, "oracle", "failed_password",
			fmt.Sprintf("Failed password for invalid user oracle from %s port %d ssh2", campaign, port))
		ev.Method = "password"
		if i%3 == 1 {
			ev.Count = 3
			ev.Raw = fmt.Sprintf("%s web1 sshd[811]: message repeated 3 times: [ Failed password for invalid user oracle from %s port %d ssh2]", stamp, campaign, port)
		}
		return ev
	case 3:
		return engine.Event{
			Time: at, Type: engine.TypeIDSAlert, Indicator: true,
			Source: addr("2001:db8::bad"), SourcePort: 51234, Dest: addr("2001:db8:1::10"), DestPort: 443, Proto: "TCP",
			Host: "ids1", Pattern: "eve.alert",
			Signature: "ET EXPLOIT Apache Struts RCE attempt", SignatureID: 2024897,
			Category: "Attempted Administrator Privilege Gain", Severity: 1,
			Origin: "/var/log/suricata/eve.json", Line: line,
			Raw: fmt.Sprintf(`{"timestamp":"%s","event_type":"alert","src_ip":"2001:db8::bad","src_port":51234,`+
				`"dest_ip":"2001:db8:1::10","dest_port":443,"proto":"TCP","alert":{"signature_id":2024897,`+
				`"signature":"ET EXPLOIT Apache Struts RCE attempt","category":"Attempted Administrator Privilege Gain","severity":1}}`,
				at.Format("2006-01-02T15:04:05.000000-0700")),
			Asset: &engine.Asset{Name: "api1", Role: "api", Criticality: 5, Exposure: "internet"},
			Geo:   &engine.Geo{Country: "NL", ASN: 64496, Org: "Example Transit"},
		}
	case 4:
		return ssh(engine.TypeSSHConnection, false, addr("192.0.2.55"), port, "", "connection_from",
			fmt.Sprintf("Connection from 192.0.2.55 port %d on 192.0.2.10 port 22 rdomain \"\"", port))
	case 5:
		ev := ssh(engine.TypeSSHPreauthClose, true, netip.Addr{}, 0, "", "closed_preauth",
			"Connection closed by scanner.example.net port 22 [preauth]")
		ev.SourceHost = "scanner.example.net"
		return ev
	}
	return engine.Event{
		Time: at, Type: engine.TypeIDSFlow, Source: addr("198.51.100.20"), SourcePort: port,
		Dest: addr("192.0.2.10"), DestPort: 80, Proto: "TCP", Host: "ids1", Pattern: "eve.flow",
		Origin: "/var/log/suricata/eve.json", Line: line,
		Raw: fmt.Sprintf(`{"event_type":"flow","src_ip":"198.51.100.20","src_port":%d,"dest_ip":"192.0.2.10","dest_port":80,"proto":"TCP"}`, port),
	}
}
