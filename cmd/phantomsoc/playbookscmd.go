package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/phantomsoc/phantomsoc/playbooks"
)

func newPlaybooksCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "playbooks",
		Short: "Check and list response playbooks (YAML: triggers and ordered steps)",
		Long: `playbooks work with response playbooks: YAML files whose triggers pick
alerts (scenario, labels, risk, incident state) and whose ordered steps
assess, notify, remediate, collect evidence, wait, escalate, manage the
incident and roll back. With no DIR the bundled starter set is used.
playbooks/README.md in the source describes the format.`,
	}
	lint := &cobra.Command{
		Use:   "lint [DIR|FILE...]",
		Short: "Check playbooks; every error names file:line:col and the field, and the exit status is non-zero",
		Long: `lint loads every *.yaml and *.yml file of each DIR, compiles its
expressions and checks every field. With --config, the receivers and
gateways the playbooks name are checked against the configuration's
receivers: and enforcement.gateways: sections; without it they are not.`,
		Example: "  phantomsoc playbooks lint\n" +
			"  phantomsoc --config /etc/phantomsoc.yaml playbooks lint /etc/phantomsoc/playbooks\n" +
			"  phantomsoc playbooks lint -o json ./playbooks",
		RunE: func(cmd *cobra.Command, args []string) error {
			known, checked, err := knownNames(g)
			if err != nil {
				return err
			}
			if !checked {
				fmt.Fprintln(cmd.ErrOrStderr(), "no --config: receiver and gateway names are not checked")
			}
			return lintPlaybooks(cmd.OutOrStdout(), g.output, args, known)
		},
	}
	list := &cobra.Command{
		Use:     "list [DIR|FILE...]",
		Short:   "List playbooks with their triggers and steps",
		Example: "  phantomsoc playbooks list\n  phantomsoc playbooks list -o json /etc/phantomsoc/playbooks",
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := loadPlaybooks(args)
			if err != nil {
				return err
			}
			return listPlaybooks(cmd.OutOrStdout(), g.output, set)
		},
	}
	cmd.AddCommand(lint, list, newPlaybooksTestCmd(g))
	return cmd
}

// loadPlaybooks loads dirs, or the embedded starter set when there are
// none or dirs is just "starter".
func loadPlaybooks(dirs []string) (*playbooks.Set, error) {
	if len(dirs) == 0 || (len(dirs) == 1 && dirs[0] == "starter") {
		return playbooks.LoadFS(playbooks.Starter(), "starter")
	}
	return playbooks.LoadDirs(dirs...)
}

// knownNames reads the receiver and gateway names from --config. Without a
// config file the names are unknown, not empty: lint cannot tell a typo
// from a receiver defined elsewhere, so it does not check them.
func knownNames(g *globals) (playbooks.Known, bool, error) {
	if g.config == "" {
		return playbooks.Known{}, false, nil
	}
	cfg, err := loadConfig(g.config)
	if err != nil {
		return playbooks.Known{}, false, err
	}
	return configuredNames(&cfg), true, nil
}

// lintPlaybooks prints every error (one JSON object per error with -o
// json) and fails when there is any.
func lintPlaybooks(w io.Writer, output string, dirs []string, known playbooks.Known) error {
	set, err := loadPlaybooks(dirs)
	errs := lintErrors(err)
	errs = append(errs, lintErrors(set.Validate(known))...)
	for _, e := range errs {
		if output == outputJSON {
			if err := writeJSON(w, e); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintln(w, e)
	}
	if len(errs) > 0 {
		return fmt.Errorf("playbooks lint: %d error(s)", len(errs))
	}
	if output != outputJSON {
		fmt.Fprintf(w, "%d playbooks OK\n", len(set.Playbooks))
	}
	return nil
}

// lintErrors flattens a load or validation error into located errors; an
// unexpected error type still gets printed, without a position.
func lintErrors(err error) []*playbooks.Error {
	if err == nil {
		return nil
	}
	var el playbooks.ErrorList
	if errors.As(err, &el) {
		return el
	}
	return []*playbooks.Error{{Message: err.Error()}}
}

type playbookRow struct {
	Name        string              `json:"name"`
	Description string              `json:"description,omitempty"`
	File        string              `json:"file"`
	Triggers    []playbooks.Trigger `json:"triggers"`
	Steps       []stepRow           `json:"steps"`
}

type stepRow struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

func listPlaybooks(w io.Writer, output string, set *playbooks.Set) error {
	tw := newTable(w)
	if output != outputJSON {
		fmt.Fprintln(tw, "NAME\tTRIGGERS\tSTEPS")
	}
	for _, pb := range set.Playbooks {
		row := playbookRow{Name: pb.Name, Description: pb.Description, File: pb.File, Triggers: pb.Triggers}
		for _, st := range pb.Steps {
			row.Steps = append(row.Steps, stepRow{Name: st.Name, Kind: st.Kind})
		}
		if output == outputJSON {
			if err := writeJSON(w, row); err != nil {
				return err
			}
			continue
		}
		triggers := make([]string, len(pb.Triggers))
		for i, t := range pb.Triggers {
			triggers[i] = triggerString(t)
		}
		steps := make([]string, len(row.Steps))
		for i, s := range row.Steps {
			steps[i] = s.Kind
		}
		fmt.Fprintf(tw, "%s\t%s\t%d: %s\n", pb.Name, strings.Join(triggers, " | "), len(steps), strings.Join(steps, ","))
	}
	return tw.Flush()
}

// triggerString renders a trigger as space-separated conditions.
func triggerString(t playbooks.Trigger) string {
	var parts []string
	if t.Scenario != "" {
		parts = append(parts, "scenario="+t.Scenario)
	}
	for _, l := range t.Labels {
		parts = append(parts, l.Name+l.Op+l.Value)
	}
	if t.MinRisk > 0 {
		parts = append(parts, fmt.Sprintf("risk>=%g", t.MinRisk))
	}
	if len(t.Incident) > 0 {
		parts = append(parts, "incident="+strings.Join(t.Incident, ","))
	}
	return strings.Join(parts, " ")
}
