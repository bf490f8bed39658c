// Package incident groups alerts into incidents and moves them through
// their lifecycle: merge rules applied by event time, analyst actions,
// manual merge and split, the timeline and the response metrics.
package incident

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Merge rules: what an alert may share with an open incident to join it.
const (
	// BySource joins alerts blaming the same address.
	BySource = "source"
	// ByCampaign joins campaign alerts of the same scenario and key.
	ByCampaign = "campaign"
	// ByAsset joins alerts against the same host, destination or asset.
	ByAsset = "asset"
)

// DefaultWindow is how long after an incident's latest alert a new alert
// may still join it.
const DefaultWindow = time.Hour

// Config is the incidents section of the config file.
//
//	incidents:
//	  window: 1h
//	  merge_by: [source, campaign, asset]
type Config struct {
	// Window bounds the event-time gap between an incident's latest alert
	// and an alert that joins it.
	Window time.Duration `yaml:"window"`
	// MergeBy lists the rules, in the order they are tried.
	MergeBy []string `yaml:"merge_by"`
}

// Defaults returns the default configuration.
func Defaults() Config {
	return Config{Window: DefaultWindow, MergeBy: []string{BySource, ByCampaign, ByAsset}}
}

// Validate checks the section; errors start with the field.
func (c *Config) Validate() error {
	var errs []error
	if c.Window <= 0 {
		errs = append(errs, fmt.Errorf("window: %v: must be positive", c.Window))
	}
	seen := map[string]bool{}
	for i, r := range c.MergeBy {
		switch {
		case r != BySource && r != ByCampaign && r != ByAsset:
			errs = append(errs, fmt.Errorf("merge_by[%d]: %q, want %s, %s or %s", i, r, BySource, ByCampaign, ByAsset))
		case seen[r]:
			errs = append(errs, fmt.Errorf("merge_by[%d]: %q given twice", i, r))
		}
		seen[r] = true
	}
	return errors.Join(errs...)
}

func (c *Config) uses(rule string) bool { return slices.Contains(c.MergeBy, rule) }
