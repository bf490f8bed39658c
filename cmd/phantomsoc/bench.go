package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/phantomsoc/phantomsoc/engine/parse"
	"github.com/phantomsoc/phantomsoc/engine/synth"
)

type benchOptions struct {
	lines     []int
	repeat    []int
	seed      uint64
	fail2ban  string
	keep      string
	playbooks string
	runs      int
}

func newBenchCmd(g *globals) *cobra.Command {
	o := benchOptions{lines: []int{200000}, repeat: []int{1}, seed: 1, fail2ban: "auto", runs: 1}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure parse and replay speed and memory on a synthetic auth log, next to fail2ban-regex",
		Long: `bench generates a deterministic synthetic sshd auth log (documentation
addresses only) and measures, on this machine:

  parse      lines/s and allocations per line of the sshd parser on one core
  pipeline   p50/p99 time from a line's arrival to its decision, in process
  replay     the whole ` + "`phantomsoc replay`" + ` process on the file: wall time,
             peak RSS, alerts and decisions (a child process, so the numbers
             are the real command's); with --playbooks, also
             ` + "`replay --playbooks`" + ` on it, and the steps it ran
  fail2ban   ` + "`fail2ban-regex FILE sshd`" + ` on the same file when it is installed
             (it only reads the file; it never touches the firewall)
  detection  on a synthetic week with known attackers: how many sources of
             each class phantomsoc decides against, and how many Debian's
             default fail2ban sshd jail (5 failures in 10m) would ban,
             simulated on fail2ban-regex's own matches

--lines takes several sizes; the generator's population grows with them.
--repeat N replays each size's log written N times, one week after another,
with the same sources and users: lines grow N-fold and the population does
not, which is what "memory flat in lines" is about.
--runs repeats every replay and reports the median wall time and the
highest peak RSS: one run on a shared machine is an anecdote.`,
		Example: `  phantomsoc bench
  phantomsoc bench --lines 100000,200000,400000 --fail2ban off --output json
  phantomsoc bench --lines 1000000 --playbooks starter --runs 5 --fail2ban off
  phantomsoc bench --lines 200000 --repeat 1,2,5 --runs 3 --fail2ban off`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd.Context(), cmd.OutOrStdout(), g, o)
		},
	}
	cmd.Flags().IntSliceVar(&o.lines, "lines", o.lines, "log sizes in lines")
	cmd.Flags().IntSliceVar(&o.repeat, "repeat", o.repeat, "copies of each size's log, a week apart, same sources (lines × copies in all)")
	cmd.Flags().Uint64Var(&o.seed, "seed", o.seed, "generator seed")
	cmd.Flags().StringVar(&o.fail2ban, "fail2ban", o.fail2ban, "compare with fail2ban-regex: auto (when installed), on, off")
	cmd.Flags().StringVar(&o.keep, "keep", "", "directory to keep the generated logs in")
	cmd.Flags().StringVar(&o.playbooks, "playbooks", "", "also replay with these playbooks: a directory or starter")
	cmd.Flags().IntVar(&o.runs, "runs", o.runs, "replays per size: the median time and the highest peak RSS are reported")
	return cmd
}

// benchResult is one size's numbers; JSON names are stable for scripts.
type benchResult struct {
	// Lines is the lines replayed: Repeat copies of one size's log.
	Lines           int     `json:"lines"`
	Repeat          int     `json:"repeat"`
	ParseLinesPerS  float64 `json:"parse_lines_per_s"`
	ParseAllocsLine float64 `json:"parse_allocs_per_line"`
	PipeLinesPerS   float64 `json:"pipeline_lines_per_s"`
	P50us           float64 `json:"decision_latency_p50_us"`
	P99us           float64 `json:"decision_latency_p99_us"`
	ReplaySeconds   float64 `json:"replay_seconds"`
	ReplayLinesPerS float64 `json:"replay_lines_per_s"`
	ReplayPeakMB    float64 `json:"replay_peak_rss_mb"`
	ReplayAlerts    int     `json:"replay_alerts"`
	ReplayDecisions int     `json:"replay_decisions"`
	// The replay with --playbooks, when asked for.
	PlaybooksSeconds   float64 `json:"replay_playbooks_seconds,omitempty"`
	PlaybooksLinesPerS float64 `json:"replay_playbooks_lines_per_s,omitempty"`
	PlaybooksPeakMB    float64 `json:"replay_playbooks_peak_rss_mb,omitempty"`
	PlaybooksSteps     int     `json:"replay_playbooks_steps,omitempty"`
	F2BSeconds         float64 `json:"fail2ban_regex_seconds,omitempty"`
	F2BPeakMB          float64 `json:"fail2ban_regex_peak_rss_mb,omitempty"`
	F2BMatched         int     `json:"fail2ban_regex_matched,omitempty"`
	SpeedupVsF2B       float64 `json:"speedup_vs_fail2ban,omitempty"`
}

func runBench(ctx context.Context, w io.Writer, g *globals, o benchOptions) error {
	f2b := ""
	switch o.fail2ban {
	case "off":
	case "auto", "on":
		if p, err := exec.LookPath("fail2ban-regex"); err == nil {
			f2b = p
		} else if o.fail2ban == "on" {
			return errors.New("--fail2ban on: fail2ban-regex not found (apt-get install fail2ban; it is only run on the file)")
		}
	default:
		return fmt.Errorf("--fail2ban %q: want auto, on or off", o.fail2ban)
	}
	if o.runs < 1 {
		return fmt.Errorf("--runs %d: must be at least 1", o.runs)
	}
	dir := o.keep
	if dir == "" {
		d, err := os.MkdirTemp("", "phantomsoc-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench: find own binary: %w", err)
	}
	var results []benchResult
	for _, n := range o.lines {
		if n <= 0 {
			return fmt.Errorf("--lines %d: must be positive", n)
		}
		for _, rep := range o.repeat {
			if rep <= 0 {
				return fmt.Errorf("--repeat %d: must be positive", rep)
			}
			r, err := benchSize(ctx, dir, self, f2b, o, n, rep)
			if err != nil {
				return err
			}
			results = append(results, r)
		}
	}
	det, err := benchDetection(ctx, dir, f2b)
	if err != nil {
		return err
	}
	if g.output == outputJSON {
		if err := writeBench(w, g, results, f2b != ""); err != nil {
			return err
		}
		return writeJSON(w, struct {
			Detection []classResult `json:"detection"`
		}{det})
	}
	if err := writeBench(w, g, results, f2b != ""); err != nil {
		return err
	}
	writeDetection(w, det, f2b != "")
	return nil
}

// benchSize measures repeat copies of the lines-line log.
func benchSize(ctx context.Context, dir, self, f2b string, o benchOptions, lines, repeat int) (benchResult, error) {
	name := fmt.Sprintf("auth-%d.log", lines)
	if repeat > 1 {
		name = fmt.Sprintf("auth-%dx%d.log", lines, repeat)
	}
	path := filepath.Join(dir, name)
	data, err := writeSynth(path, o.seed, lines, repeat)
	if err != nil {
		return benchResult{}, err
	}
	r := benchResult{Lines: lines * repeat, Repeat: repeat}
	if err := benchParse(data, &r); err != nil {
		return r, err
	}
	if err := benchPipeline(data, &r); err != nil {
		return r, err
	}
	if err := benchReplay(ctx, self, path, o.runs, &r); err != nil {
		return r, err
	}
	if o.playbooks != "" {
		if err := benchReplayPlaybooks(ctx, self, path, o.playbooks, o.runs, &r); err != nil {
			return r, err
		}
	}
	if f2b != "" {
		if err := benchFail2ban(ctx, f2b, path, &r); err != nil {
			return r, err
		}
	}
	return r, nil
}

// writeSynth writes repeat copies of the lines-line synthetic log, ending
// where one copy would.
func writeSynth(path string, seed uint64, lines, repeat int) ([]byte, error) {
	o := synth.DefaultOptions()
	o.Seed, o.Lines, o.Repeat = seed, lines, repeat
	o.Start = repeatStart(o.Start, o.Duration, repeat)
	var buf bytes.Buffer
	if _, err := synth.Generate(&buf, o); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return nil, err
	}
	// A fixed mtime keeps year inference, and so the replay, deterministic.
	mt := o.Start.Add(o.Duration * time.Duration(max(repeat, 1)))
	return buf.Bytes(), os.Chtimes(path, mt, mt)
}

func splitLines(data []byte) []string {
	s := strings.TrimSuffix(string(data), "\n")
	return strings.Split(s, "\n")
}

func benchParse(data []byte, r *benchResult) error {
	lines := splitLines(data)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var best time.Duration
	var allocs uint64
	for range 3 {
		p, err := parse.New(parse.Options{Format: parse.FormatSSHD, Ref: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			return err
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		for i, l := range lines {
			if _, _, err := p.Parse(l, int64(i+1)); err != nil {
				return fmt.Errorf("bench parse line %d: %w", i+1, err)
			}
		}
		el := time.Since(start)
		runtime.ReadMemStats(&after)
		if best == 0 || el < best {
			best, allocs = el, after.Mallocs-before.Mallocs
		}
	}
	r.ParseLinesPerS = float64(len(lines)) / best.Seconds()
	r.ParseAllocsLine = float64(allocs) / float64(len(lines))
	return nil
}

// benchPipeline times parse + dedup + enrich + detect + assess + decide for
// every line, one at a time, as a live line would go.
func benchPipeline(data []byte, r *benchResult) error {
	cfg, err := loadConfig("")
	if err != nil {
		return err
	}
	st, err := buildStages(&cfg, nil, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	p, err := parse.New(parse.Options{Format: parse.FormatSSHD, Ref: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		return err
	}
	lines := splitLines(data)
	var decided []time.Duration
	start := time.Now()
	for i, l := range lines {
		t0 := time.Now()
		ev, ok, err := p.Parse(l, int64(i+1))
		if err != nil || !ok {
			continue
		}
		out := st.pipeline.Process(&ev, nil)
		if len(out.Decisions) > 0 {
			decided = append(decided, time.Since(t0))
		}
	}
	r.PipeLinesPerS = float64(len(lines)) / time.Since(start).Seconds()
	if len(decided) > 0 {
		slices.Sort(decided)
		q := func(f float64) float64 {
			return float64(decided[min(len(decided)-1, int(f*float64(len(decided))))]) / float64(time.Microsecond)
		}
		r.P50us, r.P99us = q(0.50), q(0.99)
	}
	return nil
}

// peakRSSMarker prefixes the peak RSS line --report-peak-rss prints.
const peakRSSMarker = "phantomsoc-peak-rss-kb:"

// peakRSSKB is this process's peak resident set (VmHWM) in KiB. It is read
// from /proc because the rusage a parent gets from wait4 is useless here:
// Linux folds the parent's high-water mark into a child started with
// CLONE_VM (as Go starts them) when it execs, so every child would seem to
// need as much memory as bench itself.
func peakRSSKB() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// runChild runs a command and returns its wall time, stdout and stderr.
func runChild(ctx context.Context, name string, args ...string) (time.Duration, []byte, []byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	el := time.Since(start)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, lastLines(errb.String(), 5))
	}
	return el, out.Bytes(), errb.Bytes(), nil
}

// reportedRSS finds "MARKER KiB" in a child's stderr, in MB.
func reportedRSS(stderr []byte, marker string) float64 {
	for _, line := range strings.Split(string(stderr), "\n") {
		if v, ok := strings.CutPrefix(line, marker); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return kb / 1024
		}
	}
	return 0
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

// replayRuns runs the replay child runs times: the median wall time, the
// highest peak RSS and the last run's output.
func replayRuns(ctx context.Context, runs int, self string, args ...string) (secs, peakMB float64, out []byte, err error) {
	times := make([]float64, 0, runs)
	for range runs {
		el, o, errb, err := runChild(ctx, self, append([]string{"--report-peak-rss", "replay"}, args...)...)
		if err != nil {
			return 0, 0, nil, err
		}
		times = append(times, el.Seconds())
		peakMB, out = max(peakMB, reportedRSS(errb, peakRSSMarker)), o
	}
	slices.Sort(times)
	return times[len(times)/2], peakMB, out, nil
}

// countKinds counts the replay output's lines of each kind.
func countKinds(out []byte) map[string]int {
	n := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, ok := jsonKind(sc.Bytes()); ok {
			n[k]++
		}
	}
	return n
}

// jsonKind is the value of a replay line's leading "kind" field.
func jsonKind(line []byte) (string, bool) {
	rest, ok := bytes.CutPrefix(line, []byte(`{"kind":"`))
	if !ok {
		return "", false
	}
	k, _, ok := bytes.Cut(rest, []byte(`"`))
	return string(k), ok
}

func benchReplay(ctx context.Context, self, path string, runs int, r *benchResult) error {
	secs, peak, out, err := replayRuns(ctx, runs, self, "--output", "json", path)
	if err != nil {
		return err
	}
	n := countKinds(out)
	r.ReplaySeconds, r.ReplayPeakMB, r.ReplayAlerts, r.ReplayDecisions = secs, peak, n["alert"], n["decision"]
	r.ReplayLinesPerS = float64(r.Lines) / secs
	return nil
}

func benchReplayPlaybooks(ctx context.Context, self, path, playbooks string, runs int, r *benchResult) error {
	secs, peak, out, err := replayRuns(ctx, runs, self, "--playbooks", playbooks, "--output", "json", path)
	if err != nil {
		return err
	}
	r.PlaybooksSeconds, r.PlaybooksPeakMB, r.PlaybooksSteps = secs, peak, countKinds(out)["step"]
	r.PlaybooksLinesPerS = float64(r.Lines) / secs
	return nil
}

// f2bWrapper runs fail2ban-regex as a grandchild forked by a small python
// process, whose RUSAGE_CHILDREN then holds fail2ban-regex's own peak RSS
// (fail2ban is python, so python3 is there wherever it is).
const f2bWrapper = `import resource, subprocess, sys
r = subprocess.run(sys.argv[1:])
print("f2b-peak-rss-kb:", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
sys.exit(r.returncode)`

func benchFail2ban(ctx context.Context, f2b, path string, r *benchResult) error {
	el, out, errb, err := runChild(ctx, "python3", "-c", f2bWrapper, f2b, path, "sshd")
	if err != nil {
		return err
	}
	r.F2BSeconds, r.F2BPeakMB = el.Seconds(), reportedRSS(errb, "f2b-peak-rss-kb:")
	// "Lines: 200000 lines, 0 ignored, 123456 matched, 76544 missed"
	if i := bytes.Index(out, []byte(" ignored, ")); i >= 0 {
		rest := out[i+len(" ignored, "):]
		if j := bytes.IndexByte(rest, ' '); j > 0 {
			r.F2BMatched, _ = strconv.Atoi(string(rest[:j]))
		}
	}
	if r.ReplaySeconds > 0 {
		r.SpeedupVsF2B = r.F2BSeconds / r.ReplaySeconds
	}
	return nil
}

func writeBench(w io.Writer, g *globals, rs []benchResult, f2b bool) error {
	if g.output == outputJSON {
		for _, r := range rs {
			if err := writeJSON(w, r); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintf(w, "machine: %s/%s, %d CPUs, %s\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	tw := newTable(w)
	pb := slices.ContainsFunc(rs, func(r benchResult) bool { return r.PlaybooksSeconds > 0 })
	fmt.Fprint(tw, "LINES\tPARSE lines/s\tallocs/line\tPIPELINE lines/s\tdecision p50/p99\tREPLAY s\tlines/s\tpeak RSS\talerts/decisions")
	if pb {
		fmt.Fprint(tw, "\tWITH PLAYBOOKS s\tlines/s\tpeak RSS\tsteps")
	}
	if f2b {
		fmt.Fprint(tw, "\tFAIL2BAN-REGEX s\tpeak RSS\tmatched\tSPEEDUP")
	}
	fmt.Fprintln(tw)
	for _, r := range rs {
		lines := strconv.Itoa(r.Lines)
		if r.Repeat > 1 {
			lines += fmt.Sprintf(" (%d weeks)", r.Repeat)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.2f\t%.0f\t%.1fµs/%.1fµs\t%.3f\t%.0f\t%.1f MB\t%d/%d",
			lines, r.ParseLinesPerS, r.ParseAllocsLine, r.PipeLinesPerS, r.P50us, r.P99us, r.ReplaySeconds, r.ReplayLinesPerS, r.ReplayPeakMB, r.ReplayAlerts, r.ReplayDecisions)
		if pb {
			fmt.Fprintf(tw, "\t%.3f\t%.0f\t%.1f MB\t%d", r.PlaybooksSeconds, r.PlaybooksLinesPerS, r.PlaybooksPeakMB, r.PlaybooksSteps)
		}
		if f2b {
			fmt.Fprintf(tw, "\t%.2f\t%.1f MB\t%d\t%.0f×", r.F2BSeconds, r.F2BPeakMB, r.F2BMatched, r.SpeedupVsF2B)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}
