package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// record is one line of `replay --output json` (and of the foreground
// engine's JSON output): an alert or a decision. Field names are a contract
// scripts rely on.
type record struct {
	Kind       string   `json:"kind"`
	ID         string   `json:"id"`
	AlertID    string   `json:"alert_id,omitempty"`
	Time       string   `json:"time"`
	Scenario   string   `json:"scenario"`
	Source     string   `json:"source"`
	Key        string   `json:"key,omitempty"`
	Prefixes   []string `json:"prefixes,omitempty"`
	Sources    int      `json:"sources,omitempty"`
	Host       string   `json:"host,omitempty"`
	Users      []string `json:"users,omitempty"`
	Count      int      `json:"count,omitempty"`
	Risk       float64  `json:"risk"`
	Confidence float64  `json:"confidence,omitempty"`
	Action     string   `json:"action,omitempty"`
	TTL        string   `json:"ttl,omitempty"`
	TTLSeconds int64    `json:"ttl_seconds,omitempty"`
	Expires    string   `json:"expires,omitempty"`
	State      string   `json:"state,omitempty"`
	Auto       *bool    `json:"auto,omitempty"`
	Offense    int      `json:"offense,omitempty"`
	Reason     string   `json:"reason,omitempty"`
}

func alertRecord(a *engine.Alert) record {
	r := record{
		Kind: "alert", ID: a.ID, Time: fmtTime(a.Time), Scenario: a.Scenario, Key: a.Key,
		Sources: a.Sources, Host: a.Host, Users: a.Users, Count: a.Count,
		Risk: a.Risk, Confidence: a.Confidence,
	}
	if a.Source.IsValid() {
		r.Source = a.Source.String()
	}
	for _, p := range a.Prefixes {
		r.Prefixes = append(r.Prefixes, engine.PrefixString(p))
	}
	return r
}

func decisionRecord(d *engine.Decision) record {
	auto := d.Auto
	r := record{
		Kind: "decision", ID: d.ID, AlertID: d.AlertID, Time: fmtTime(d.Time), Scenario: d.Scenario,
		Source: d.TargetString(), Risk: d.Risk, Action: d.Action, State: d.State, Auto: &auto,
		Offense: d.Offense, Reason: d.Reason,
	}
	if d.TTL > 0 {
		r.TTL = d.TTL.String()
		r.TTLSeconds = int64(d.TTL / time.Second)
		r.Expires = fmtTime(d.Expires)
	} else {
		r.TTL = "permanent"
	}
	return r
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// printer is a Sink that writes alerts and decisions as they become durable,
// each alert followed by its decisions, so output is in event-time order.
// A commit's lines go out in one write: one per line was a replay's most
// frequent system call.
type printer struct {
	mu     sync.Mutex
	w      io.Writer
	bw     *bufio.Writer // over w, flushed after each commit
	json   bool
	dryRun bool
	err    error
	alerts int
	decs   int
	// playbooks, when set, runs after each alert's decisions and prints
	// its trace (replay --playbooks).
	playbooks *replayPlaybooks
	ctx       context.Context
}

func (p *printer) Committed(c *engine.Commit) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil || len(c.Alerts) == 0 {
		return
	}
	if p.bw == nil {
		p.bw = bufio.NewWriterSize(p.w, 32<<10)
	}
	defer func() {
		if p.playbooks != nil {
			p.playbooks.flush(p.ctx)
		}
		if err := p.bw.Flush(); err != nil && p.err == nil {
			p.err = err
		}
	}()
	byAlert := make(map[string][]*engine.Decision, len(c.Decisions))
	for i := range c.Decisions {
		d := &c.Decisions[i]
		byAlert[d.AlertID] = append(byAlert[d.AlertID], d)
	}
	for i := range c.Alerts {
		a := &c.Alerts[i]
		p.alerts++
		if p.err = p.alert(a); p.err != nil {
			return
		}
		for _, d := range byAlert[a.ID] {
			p.decs++
			if p.err = p.decision(d); p.err != nil {
				return
			}
		}
		if p.playbooks != nil {
			if p.err = p.playbooks.run(p.ctx, a, byAlert[a.ID], p.bw, p.json); p.err != nil {
				return
			}
		}
	}
}

func (p *printer) alert(a *engine.Alert) error {
	if p.json {
		return writeJSON(p.bw, alertRecord(a))
	}
	who := a.Source.String()
	if !a.Source.IsValid() {
		who = a.Key
		if len(a.Prefixes) > 0 {
			ps := make([]string, len(a.Prefixes))
			for i, pf := range a.Prefixes {
				ps[i] = engine.PrefixString(pf)
			}
			who += " prefixes " + strings.Join(ps, ",")
		}
	}
	_, err := fmt.Fprintf(p.bw, "%s ALERT    %s %-28s %-22s risk %4.1f conf %.2f  %d events, %d sources%s\n",
		a.Time.UTC().Format(time.RFC3339), a.ID, a.Scenario, who, a.Risk, a.Confidence, a.Count, a.Sources, usersSuffix(a.Users))
	return err
}

func (p *printer) decision(d *engine.Decision) error {
	if p.json {
		return writeJSON(p.bw, decisionRecord(d))
	}
	mode := d.State
	if d.State == engine.StateActive && p.dryRun {
		mode = "active (dry-run: not enforced)"
	}
	ttl := "permanent"
	if d.TTL > 0 {
		ttl = d.TTL.Round(time.Second).String()
	}
	_, err := fmt.Fprintf(p.bw, "%s DECISION %s %-10s %-22s ttl %-9s %s — %s\n",
		d.Time.UTC().Format(time.RFC3339), d.ID, d.Action, d.TargetString(), ttl, mode, d.Reason)
	return err
}

func usersSuffix(users []string) string {
	if len(users) == 0 {
		return ""
	}
	const show = 4
	s := users
	more := ""
	if len(s) > show {
		s = s[:show]
		more = fmt.Sprintf(" +%d", len(users)-show)
	}
	return ", users " + strings.Join(s, ",") + more
}
