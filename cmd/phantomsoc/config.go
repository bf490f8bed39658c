package main

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/phantomsoc/phantomsoc/actions"
	"github.com/phantomsoc/phantomsoc/engine/assess"
	"github.com/phantomsoc/phantomsoc/engine/decide"
	"github.com/phantomsoc/phantomsoc/engine/enrich"
	"github.com/phantomsoc/phantomsoc/engine/incident"
	"github.com/phantomsoc/phantomsoc/engine/parse"
	"github.com/phantomsoc/phantomsoc/engine/route"
)

// defaultConfigYAML is the embedded default configuration; `phantomsoc
// config show` prints it and a user's file is decoded over it.
//
//go:embed phantomsoc.yaml
var defaultConfigYAML []byte

// Config is phantomsoc's one YAML file. Sections belong to the packages that
// consume them; this struct only composes them.
type Config struct {
	// DB is the bbolt file; --db overrides it.
	DB string `yaml:"db"`
	// DedupWindow folds identical events seen within it.
	DedupWindow time.Duration `yaml:"dedup_window"`
	// Year and Timezone apply to yearless/zoneless timestamps (0 / "" =
	// infer the year from the file's mtime, UTC).
	Year     int    `yaml:"year"`
	Timezone string `yaml:"timezone"`
	// ScenariosDir holds user scenarios that override or add to the bundled
	// ones.
	ScenariosDir string         `yaml:"scenarios_dir"`
	Sources      []SourceConfig `yaml:"sources"`
	// DryRun keeps enforcement from touching any firewall. It is the default.
	DryRun bool `yaml:"dry_run"`
	// Retention is how long alerts, decisions no longer in force and the
	// source index are kept; 0 keeps everything. The audit trail is never
	// pruned.
	Retention time.Duration `yaml:"retention"`

	Enrich enrich.Config `yaml:",inline"`
	Assess assess.Config `yaml:"assess"`
	Policy decide.Config `yaml:"policy"`
	// Enforcement is how decisions reach the firewall of each gateway.
	Enforcement actions.Config `yaml:"enforcement"`
	// Routing decides which receivers hear of an alert, grouped, silenced,
	// inhibited and escalated. Empty: no routing.
	Routing route.Config `yaml:"routing"`
	// Receivers are where notifications go: a name and one channel each.
	Receivers []ReceiverConfig `yaml:"receivers"`
	// Inbound is what the daemon listens for: PagerDuty's webhooks.
	Inbound InboundConfig `yaml:"inbound"`
	// Incidents says how alerts merge into incidents.
	Incidents incident.Config `yaml:"incidents"`
	// Playbooks run on committed alerts in the daemon and the console.
	Playbooks PlaybooksConfig `yaml:"playbooks"`
	// Reports are mailed by the daemon on a schedule.
	Reports []ReportSchedule `yaml:"reports"`
}

// routingConfigured reports whether the config has a routing tree.
func (c *Config) routingConfigured() bool {
	return c.Routing.Route.Receiver != "" || len(c.Routing.Route.Routes) > 0 || len(c.Routing.Receivers) > 0
}

// SourceConfig is one input of the daemon.
type SourceConfig struct {
	Name string `yaml:"name"`
	// Type is file, syslog or stdin.
	Type string `yaml:"type"`
	// Path is the file to follow (type file).
	Path string `yaml:"path"`
	// Format is auto, sshd, eve, syslog or json.
	Format string `yaml:"format"`
	// FromEnd starts a file without a saved offset at its end, like tail.
	FromEnd bool `yaml:"from_end"`
	// Network (udp or tcp) and Listen (host:port) for type syslog.
	Network string `yaml:"network"`
	Listen  string `yaml:"listen"`
}

func defaultConfig() (Config, error) {
	base := Config{Enrich: enrich.Defaults(), Assess: assess.Defaults(), Policy: decide.Defaults(), Routing: route.Defaults(), Incidents: incident.Defaults()}
	return decodeConfig(defaultConfigYAML, "(embedded defaults)", base)
}

// loadConfig returns the embedded defaults, overlaid with path when given.
func loadConfig(path string) (Config, error) {
	cfg, err := defaultConfig()
	if err != nil {
		return cfg, fmt.Errorf("embedded defaults: %w", err)
	}
	if path == "" {
		return cfg, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("read config: %w", err)
	}
	return decodeConfig(data, path, cfg)
}

// decodeConfig decodes data over base strictly, then validates; every error
// names file:line:col and the field.
func decodeConfig(data []byte, filename string, base Config) (Config, error) {
	cfg := base
	if len(bytes.TrimSpace(data)) > 0 {
		if err := strictDecode(data, &cfg); err != nil {
			return cfg, yamlError(filename, err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, positionErrors(data, filename, err)
	}
	return cfg, nil
}

// strictDecode decodes with unknown fields as errors. goccy/go-yaml can
// panic on some malformed input (an unknown tag where a list belongs, found
// by fuzzing); that is bad input, not a crash.
func strictDecode(data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed YAML: %v", r)
		}
	}()
	return yaml.NewDecoder(bytes.NewReader(data), yaml.Strict()).Decode(v)
}

// Validate checks every section; errors start with the field path.
func (c *Config) Validate() error {
	var errs []error
	if c.DedupWindow < 0 {
		errs = append(errs, errors.New("dedup_window: must not be negative"))
	}
	if c.Retention < 0 {
		errs = append(errs, errors.New("retention: must not be negative"))
	} else if c.Retention > 0 && c.Retention < time.Hour {
		errs = append(errs, fmt.Errorf("retention: %v is shorter than an hour; 0 keeps everything", c.Retention))
	}
	if c.Year < 0 || c.Year > 9999 {
		errs = append(errs, fmt.Errorf("year: %d out of range", c.Year))
	}
	if c.Timezone != "" {
		if _, err := time.LoadLocation(c.Timezone); err != nil {
			errs = append(errs, fmt.Errorf("timezone: %v", err))
		}
	}
	names := map[string]bool{}
	for i, s := range c.Sources {
		f := fmt.Sprintf("sources[%d]", i)
		if s.Name == "" {
			errs = append(errs, fmt.Errorf("%s.name: required", f))
		} else if names[s.Name] {
			errs = append(errs, fmt.Errorf("%s.name: duplicate source name %q", f, s.Name))
		}
		names[s.Name] = true
		if s.Format != "" {
			if _, err := parse.ParseFormat(s.Format); err != nil {
				errs = append(errs, fmt.Errorf("%s.format: %v", f, err))
			}
		}
		switch s.Type {
		case "file":
			if s.Path == "" {
				errs = append(errs, fmt.Errorf("%s.path: required for a file source", f))
			}
		case "syslog":
			if s.Network != "udp" && s.Network != "tcp" {
				errs = append(errs, fmt.Errorf("%s.network: %q, want udp or tcp", f, s.Network))
			}
			if s.Listen == "" {
				errs = append(errs, fmt.Errorf("%s.listen: required for a syslog source", f))
			}
		case "stdin":
		default:
			errs = append(errs, fmt.Errorf("%s.type: %q, want file, syslog or stdin", f, s.Type))
		}
	}
	if err := c.Enrich.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Assess.Validate(); err != nil {
		errs = append(errs, prefixFields("assess.", err))
	}
	if err := c.Policy.Validate(); err != nil {
		errs = append(errs, prefixFields("policy.", err))
	}
	if err := c.Enforcement.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Incidents.Validate(); err != nil {
		errs = append(errs, prefixFields("incidents.", err))
	}
	if err := validateReceivers(c.Receivers); err != nil {
		errs = append(errs, err)
	}
	if len(c.Routing.Receivers) == 0 {
		// The receivers section names them; routing need not repeat it.
		for _, r := range c.Receivers {
			c.Routing.Receivers = append(c.Routing.Receivers, r.Name)
		}
	}
	if c.routingConfigured() {
		if err := c.Routing.Validate(); err != nil {
			errs = append(errs, prefixFields("routing.", err))
		}
	}
	if err := c.Inbound.validate(c.routingConfigured()); err != nil {
		errs = append(errs, err)
	}
	if err := c.Playbooks.validate(c); err != nil {
		errs = append(errs, err)
	}
	if err := validateReports(c.Reports, c.Receivers); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// location returns the configured zone for zone-less timestamps.
func (c *Config) location() *time.Location {
	if c.Timezone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil { // Validate already refused it
		return time.UTC
	}
	return loc
}

// prefixFields prefixes each joined error's field path with the section.
func prefixFields(prefix string, err error) error {
	var out []error
	for _, e := range flatten(err) {
		msg := e.Error()
		if !strings.HasPrefix(msg, prefix) {
			msg = prefix + msg
		}
		out = append(out, errors.New(msg))
	}
	return errors.Join(out...)
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

var fieldPathRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([a-z_][a-z0-9_]*(?:\[\d+\])?(?:\.[a-z_][a-z0-9_]*(?:\[\d+\])?)*): `)
})

// positionErrors turns "field.path: msg" errors into
// "file:line:col: field.path: msg" by finding the field in the YAML.
func positionErrors(data []byte, filename string, err error) error {
	var file *ast.File
	if len(bytes.TrimSpace(data)) > 0 {
		file, _ = parser.ParseBytes(data, 0)
	}
	var out []error
	for _, e := range flatten(err) {
		msg := e.Error()
		m := fieldPathRE().FindStringSubmatch(msg)
		if m == nil || file == nil {
			out = append(out, fmt.Errorf("%s: %s", filename, msg))
			continue
		}
		line, col := fieldPosition(file, m[1])
		if line == 0 {
			out = append(out, fmt.Errorf("%s: %s", filename, msg))
			continue
		}
		out = append(out, fmt.Errorf("%s:%d:%d: %s", filename, line, col, msg))
	}
	return errors.Join(out...)
}

// fieldPosition finds the deepest node of a dotted field path that exists in
// the file, so an error about a missing key points at its parent.
func fieldPosition(file *ast.File, field string) (line, col int) {
	parts := strings.Split(field, ".")
	for n := len(parts); n > 0; n-- {
		p, err := yaml.PathString("$." + strings.Join(parts[:n], "."))
		if err != nil {
			continue
		}
		node, err := p.FilterFile(file)
		if err != nil || node == nil {
			continue
		}
		tk := node.GetToken()
		if tk == nil || tk.Position == nil {
			continue
		}
		return tk.Position.Line, tk.Position.Column
	}
	return 0, 0
}

// yamlError renders a goccy/go-yaml error as "file:line:col: message".
func yamlError(filename string, err error) error {
	msg := err.Error()
	// goccy formats errors as "[line:col] message\n<source excerpt>".
	if strings.HasPrefix(msg, "[") {
		if end := strings.Index(msg, "] "); end > 0 {
			pos := msg[1:end]
			rest := msg[end+2:]
			if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
				rest = rest[:nl]
			}
			return fmt.Errorf("%s:%s: %s", filename, pos, rest)
		}
	}
	return fmt.Errorf("%s: %s", filename, msg)
}
