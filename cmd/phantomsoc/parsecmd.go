package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/spf13/cobra"

	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/engine/ingest"
	"github.com/phantomsoc/phantomsoc/engine/parse"
)

// maxLine is the longest line read whole; the rest of a longer one is cut.
const maxLine = ingest.DefaultMaxLine

func newParseCmd(g *globals) *cobra.Command {
	var in inputOptions
	var explain bool
	var showAll bool
	cmd := &cobra.Command{
		Use:   "parse [FILE|-]...",
		Short: "Show how each input line is recognised: type, indicator, blamed source, user",
		Long: `parse is phantomsoc's fail2ban-regex / cscli explain: it reads log lines and
shows, per line, whether phantomsoc recognised it, its event type, whether it
counts toward an attack (indicator), the source address it blames and the
user. The summary counts lines, recognised lines, indicators and hits per
pattern, and lists the sshd lines nobody recognised so you can see what is
missed.

--explain also runs each event through detection and shows which scenarios
it fed and their bucket levels.

--output json writes one JSON object per input line, in input order, with
"line" (1-based), "recognized", "type", "indicator", "source" ("" when none),
"user" and "time" (RFC 3339, when known); nothing else goes to stdout.`,
		Example: `  phantomsoc parse /var/log/auth.log
  phantomsoc parse --explain suspicious.log
  journalctl -u ssh -o short | phantomsoc parse -
  phantomsoc parse --type eve --output json eve.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"-"}
			}
			return runParse(cmd.Context(), cmd.OutOrStdout(), cmd.InOrStdin(), g, &in, parseFlags{explain: explain, all: showAll}, args)
		},
	}
	in.addFlags(cmd, "auto")
	cmd.Flags().BoolVar(&explain, "explain", false, "show the scenarios each event fed and their levels")
	cmd.Flags().BoolVar(&showAll, "all", false, "table output: list every line, not only recognised ones")
	return cmd
}

type parseFlags struct {
	explain bool
	all     bool
}

// lineResult is one line of `parse --output json`. Field names are a
// contract.
type lineResult struct {
	File       string        `json:"file,omitempty"`
	Line       int64         `json:"line"`
	Recognized bool          `json:"recognized"`
	Type       string        `json:"type"`
	Indicator  bool          `json:"indicator"`
	Source     string        `json:"source"`
	SourceHost string        `json:"source_host,omitempty"`
	User       string        `json:"user"`
	Time       string        `json:"time,omitempty"`
	Pattern    string        `json:"pattern,omitempty"`
	Program    string        `json:"program,omitempty"`
	Count      int           `json:"count,omitempty"`
	Error      string        `json:"error,omitempty"`
	Cut        bool          `json:"cut,omitempty"`
	Feeds      []engine.Feed `json:"feeds,omitempty"`
	Alerts     []string      `json:"alerts,omitempty"`
}

type parseSummary struct {
	Lines        int64            `json:"lines"`
	Recognized   int64            `json:"recognized"`
	Indicators   int64            `json:"indicators"`
	Errors       int64            `json:"errors"`
	Cut          int64            `json:"cut"`
	Patterns     map[string]int64 `json:"patterns"`
	Unrecognized []unrecognized   `json:"unrecognized_sshd"`
	Types        map[string]int64 `json:"types"`
}

// unrecognized is an sshd line no pattern knew.
type unrecognized struct {
	Line int64  `json:"line"`
	Raw  string `json:"raw"`
}

const listUnrecognized = 50

func runParse(ctx context.Context, w io.Writer, stdin io.Reader, g *globals, in *inputOptions, fl parseFlags, files []string) error {
	cfg, err := loadConfig(g.config)
	if err != nil {
		return err
	}
	format, err := in.apply(&cfg)
	if err != nil {
		return err
	}
	var st *stages
	if fl.explain {
		if st, err = buildStages(&cfg, nil, nil); err != nil {
			return err
		}
		defer st.Close()
	}
	jsonOut := g.output == outputJSON
	bw := bufio.NewWriterSize(w, 64<<10)
	sum := parseSummary{Patterns: map[string]int64{}, Types: map[string]int64{}}
	tw := newTable(bw)
	if !jsonOut {
		fmt.Fprintln(tw, "LINE\tTYPE\tIND\tSOURCE\tUSER\tTIME\tPATTERN")
	}
	np := parserFactory(&cfg, format, refMtime)
	for _, f := range files {
		var r io.Reader = stdin
		origin := "stdin"
		if f != "-" {
			fh, err := os.Open(f)
			if err != nil {
				return fmt.Errorf("parse: %w", err)
			}
			defer fh.Close()
			r, origin = fh, f
		}
		p, err := np(origin)
		if err != nil {
			return err
		}
		fileName := ""
		if len(files) > 1 {
			fileName = origin
		}
		err = ingest.EachLine(r, maxLine, func(lineno int64, line string, cut bool) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			res := parseLine(p.(*parse.Parser), st, line, lineno, cut, &sum)
			res.File = fileName
			if jsonOut {
				return writeJSON(bw, res)
			}
			if res.Recognized || fl.all || res.Error != "" {
				src := res.Source
				if src == "" {
					src = res.SourceHost
				}
				typ := res.Type
				if res.Error != "" {
					typ = "error: " + res.Error
				} else if !res.Recognized {
					typ = "-"
				}
				ind := ""
				if res.Indicator {
					ind = "yes"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", lineno, typ, ind, src, res.User, res.Time, res.Pattern)
				for _, fd := range res.Feeds {
					fired := ""
					if fd.Fired {
						fired = "  FIRED"
					}
					fmt.Fprintf(tw, "\t  ↳ %s\t\t%s\t%.1f/%.0f%s\t\t\n", fd.Scenario, fd.Key, fd.Level, fd.Capacity, fired)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("parse %s: %w", origin, err)
		}
	}
	if !jsonOut {
		tw.Flush()
		writeParseSummary(bw, &sum)
	}
	return bw.Flush()
}

func parseLine(p *parse.Parser, st *stages, line string, lineno int64, cut bool, sum *parseSummary) lineResult {
	sum.Lines++
	res := lineResult{Line: lineno, Cut: cut}
	if cut {
		sum.Cut++
	}
	ev, ok, err := p.Parse(line, lineno)
	if err != nil {
		sum.Errors++
		res.Error = err.Error()
		return res
	}
	res.Recognized = ok
	res.Program = ev.Program
	if !ev.Time.IsZero() {
		res.Time = fmtTime(ev.Time)
	}
	if !ok {
		if parse.IsSSHD(ev.Program) && len(sum.Unrecognized) < listUnrecognized {
			sum.Unrecognized = append(sum.Unrecognized, unrecognized{Line: lineno, Raw: line})
		}
		return res
	}
	sum.Recognized++
	sum.Patterns[ev.Pattern]++
	sum.Types[ev.Type]++
	res.Type, res.Indicator, res.User, res.Pattern, res.Count = ev.Type, ev.Indicator, ev.User, ev.Pattern, ev.Count
	if ev.Indicator {
		sum.Indicators++
	}
	if ev.Source.IsValid() {
		res.Source = ev.Source.String()
	}
	res.SourceHost = ev.SourceHost
	if st != nil {
		var tr engine.Trace
		out := st.pipeline.Process(&ev, &tr)
		res.Feeds = tr.Feeds
		for _, a := range out.Alerts {
			res.Alerts = append(res.Alerts, a.ID+" "+a.Scenario)
		}
	}
	return res
}

func writeParseSummary(w io.Writer, s *parseSummary) {
	fmt.Fprintf(w, "\nlines %d, recognised %d, indicators %d, errors %d, cut %d\n", s.Lines, s.Recognized, s.Indicators, s.Errors, s.Cut)
	keys := make([]string, 0, len(s.Patterns))
	for k := range s.Patterns {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if s.Patterns[keys[i]] != s.Patterns[keys[j]] {
			return s.Patterns[keys[i]] > s.Patterns[keys[j]]
		}
		return keys[i] < keys[j]
	})
	if len(keys) > 0 {
		fmt.Fprintln(w, "\nhits per pattern:")
		tw := newTable(w)
		for _, k := range keys {
			fmt.Fprintf(tw, "  %s\t%d\n", k, s.Patterns[k])
		}
		tw.Flush()
	}
	if len(s.Unrecognized) > 0 {
		fmt.Fprintf(w, "\nunrecognised sshd lines (first %d):\n", listUnrecognized)
		for _, u := range s.Unrecognized {
			fmt.Fprintf(w, "  %d: %s\n", u.Line, u.Raw)
		}
	}
}
