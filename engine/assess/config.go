package assess

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Config tunes scoring. It is the `assess:` section of the config file.
type Config struct {
	// Criticality holds the risk factor for asset criticality 1 to 5.
	Criticality []float64 `yaml:"criticality"`
	// UnknownCriticality is assumed when no evidence event names an asset.
	UnknownCriticality int `yaml:"unknown_criticality"`
	// Exposure holds the risk factor per asset exposure.
	Exposure ExposureConfig `yaml:"exposure"`
	// Compromise multiplies risk when a login succeeded after failures.
	Compromise float64 `yaml:"compromise"`
	// ConfidenceFloor is the share of risk kept at confidence 0; at
	// confidence 1 all of it is kept.
	ConfidenceFloor float64 `yaml:"confidence_floor"`
	// BaseConfidence is where confidence starts before evidence moves it.
	BaseConfidence float64 `yaml:"base_confidence"`
	// Threshold is the event count a scenario normally fires at, used when
	// neither the alert's "threshold" label nor Thresholds names one.
	Threshold int `yaml:"threshold"`
	// Thresholds overrides Threshold per scenario name.
	Thresholds map[string]int `yaml:"thresholds"`
}

// ExposureConfig holds a risk factor per exposure.
type ExposureConfig struct {
	Internet float64 `yaml:"internet"`
	Internal float64 `yaml:"internal"`
	Unknown  float64 `yaml:"unknown"`
}

// Defaults returns the standard weights: criticality 3 and unknown exposure
// are neutral (×1).
func Defaults() Config {
	return Config{
		Criticality:        []float64{0.6, 0.8, 1.0, 1.2, 1.4},
		UnknownCriticality: 3,
		Exposure:           ExposureConfig{Internet: 1.2, Internal: 0.8, Unknown: 1.0},
		Compromise:         1.25,
		ConfidenceFloor:    0.5,
		BaseConfidence:     0.5,
		Threshold:          5,
	}
}

// FieldError is a configuration error at a field path such as
// "assess.exposure.internet".
type FieldError struct {
	Field string
	Msg   string
}

// Error renders "field: message".
func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: "assess." + field, Msg: fmt.Sprintf(format, args...)}
}

func positive(v float64) bool { return v > 0 && !math.IsInf(v, 0) }

func unit(v float64) bool { return v >= 0 && v <= 1 }

// Validate reports every problem, each naming its field.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Criticality) != 5 {
		errs = append(errs, fieldErr("criticality", "must list 5 factors (criticality 1 to 5), got %d", len(c.Criticality)))
	}
	for i, v := range c.Criticality {
		if !positive(v) {
			errs = append(errs, fieldErr(fmt.Sprintf("criticality[%d]", i), "must be > 0, got %v", v))
		}
	}
	if c.UnknownCriticality < 1 || c.UnknownCriticality > 5 {
		errs = append(errs, fieldErr("unknown_criticality", "must be 1–5, got %d", c.UnknownCriticality))
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"internet", c.Exposure.Internet}, {"internal", c.Exposure.Internal}, {"unknown", c.Exposure.Unknown}} {
		if !positive(f.v) {
			errs = append(errs, fieldErr("exposure."+f.name, "must be > 0, got %v", f.v))
		}
	}
	if !(c.Compromise >= 1) || math.IsInf(c.Compromise, 0) {
		errs = append(errs, fieldErr("compromise", "must be >= 1, got %v", c.Compromise))
	}
	if !unit(c.ConfidenceFloor) {
		errs = append(errs, fieldErr("confidence_floor", "must be 0–1, got %v", c.ConfidenceFloor))
	}
	if !unit(c.BaseConfidence) {
		errs = append(errs, fieldErr("base_confidence", "must be 0–1, got %v", c.BaseConfidence))
	}
	if c.Threshold < 1 {
		errs = append(errs, fieldErr("threshold", "must be >= 1, got %d", c.Threshold))
	}
	names := make([]string, 0, len(c.Thresholds))
	for k := range c.Thresholds {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if strings.TrimSpace(k) == "" {
			errs = append(errs, fieldErr("thresholds", "scenario name must not be empty"))
		}
		if v := c.Thresholds[k]; v < 1 {
			errs = append(errs, fieldErr("thresholds."+k, "must be >= 1, got %d", v))
		}
	}
	return errors.Join(errs...)
}
