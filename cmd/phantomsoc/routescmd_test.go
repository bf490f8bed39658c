package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRoutesTestExplains(t *testing.T) {
	const cfg = "testdata/config/routing.yaml"
	out := mustRun(t, "", "--config", cfg, "routes", "test", "--label", "scenario=ssh-bruteforce", "--label", "risk=8.2", "--label", "host=gw1", "-o", "json")
	var res struct {
		Receivers []string `json:"receivers"`
		Steps     []struct {
			Route    string `json:"route"`
			Selected bool   `json:"selected"`
			Why      string `json:"why"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if strings.Join(res.Receivers, ",") != "pager" {
		t.Errorf("receivers = %v, want [pager]", res.Receivers)
	}
	why := ""
	for _, s := range res.Steps {
		if s.Route == "route.routes[0]" {
			why = s.Why
		}
	}
	if !strings.Contains(why, "role=lab failed") {
		t.Errorf("the lab route's explanation = %q, want the failed matcher named", why)
	}
	if tree := mustRun(t, "", "--config", cfg, "routes", "show"); !strings.Contains(tree, "route.routes[1]") || !strings.Contains(tree, "then lead after 15m") {
		t.Errorf("routes show:\n%s", tree)
	}
	if _, err := run(t, "", "--config", cfg, "routes", "test", "--label", "novalue"); err == nil {
		t.Error("a label without = was accepted")
	}
	if _, err := run(t, "", "routes", "show"); err == nil || !strings.Contains(err.Error(), "no routing") {
		t.Errorf("routes show without routing = %v", err)
	}
	// What config show prints must load again, routing included.
	shown := mustRun(t, "", "--config", cfg, "config", "show")
	if !strings.Contains(shown, "paris-nights") {
		t.Errorf("config show lacks the routing section")
	}
}
