package evidence

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/phantomsoc/phantomsoc/actions"
	"github.com/phantomsoc/phantomsoc/engine"
)

// refPattern is a reference to the action a ruleset brackets: a decision or
// plan ID. It only goes into meta, but stays a plain token.
var refPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`) })

// rulesetArgv is the listing of scope: phantomsoc's table or everything.
func rulesetArgv(scope string) ([]string, error) {
	switch scope {
	case "", "table":
		return []string{"nft", "-j", "list", "table", actions.TableFamily, actions.TableName}, nil
	case "ruleset":
		return []string{"nft", "-j", "list", "ruleset"}, nil
	}
	return nil, invalid("scope %q: want table or ruleset", scope)
}

func (c *Collector) ruleset(ctx context.Context, r Request) (capture, error) {
	argv, err := rulesetArgv(r.Scope)
	if err != nil {
		return capture{}, err
	}
	switch r.Phase {
	case "", "before", "after":
	default:
		return capture{}, invalid("phase %q: want before or after", r.Phase)
	}
	if r.Ref != "" && !refPattern().MatchString(r.Ref) {
		return capture{}, invalid("ref %q: want a decision or plan ID", r.Ref)
	}
	name, out, err := c.run(ctx, r.Gateway, argv, maxCommandOutput)
	if err != nil {
		return capture{}, err
	}
	meta := map[string]string{"gateway": name, "command": strings.Join(argv, " "), "scope": cmp.Or(r.Scope, "table")}
	setIf(meta, "phase", r.Phase)
	setIf(meta, "ref", r.Ref)
	return capture{content: out, source: name, meta: meta}, nil
}

// Bracket records gateway r.Gateway's ruleset before and after apply
// runs, for the enforcer: the pair shows exactly what the action changed.
// r.Ref names the action (a decision ID). Each snapshot is read once and
// stored as an item of r.Incident and of every incident in also (the
// same blob). apply runs exactly once, even when a snapshot fails: its
// error comes back as applyErr and the snapshots' own as err, so a caller
// never takes one for the other. before and after are r.Incident's items.
func (c *Collector) Bracket(ctx context.Context, r Request, also []string, apply func(ctx context.Context) error) (before, after Item, applyErr, err error) {
	r.Type = engine.EvidenceRuleset
	snap := func(phase string) (Item, error) {
		if r.Collector == "" {
			return Item{}, invalid("collector (the actor) is required")
		}
		r.Phase = phase
		collected := c.o.Now().UTC()
		cp, err := c.ruleset(ctx, r)
		if err != nil {
			return Item{}, fmt.Errorf("collect ruleset %s: %w", phase, err)
		}
		var first Item
		for i, inc := range append([]string{r.Incident}, also...) {
			it, err := c.store(ctx, Item{Type: r.Type, Incident: inc, Source: cp.source, Collected: collected, Collector: r.Collector, Meta: cp.meta}, cp.content)
			if err != nil {
				return first, fmt.Errorf("store ruleset %s: %w", phase, err)
			}
			if i == 0 {
				first = it
			}
		}
		return first, nil
	}
	before, berr := snap("before")
	applyErr = apply(ctx)
	after, aerr := snap("after")
	return before, after, applyErr, errors.Join(berr, aerr)
}

func (c *Collector) connections(ctx context.Context, r Request) (capture, error) {
	p, err := checkTarget(r.Target)
	if err != nil {
		return capture{}, err
	}
	var argv []string
	switch r.Tool {
	case "", "ss":
		argv = append([]string{"ss", "-tanp"}, ssFilter(p)...)
	case "conntrack":
		argv = append([]string{"conntrack", "-L"}, conntrackFilter(p)...)
	default:
		return capture{}, invalid("tool %q: want ss or conntrack", r.Tool)
	}
	name, out, err := c.run(ctx, r.Gateway, argv, maxCommandOutput)
	if err != nil {
		return capture{}, err
	}
	return capture{content: out, source: name, meta: map[string]string{
		"gateway": name, "command": strings.Join(argv, " "), "tool": argv[0], "target": p.String(),
	}}, nil
}

// pcapArgv is the capture command: tcpdump under timeout, which interrupts
// it (so it flushes and exits 0) after the duration, and kills it 5 seconds
// later if it did not stop.
func pcapArgv(iface string, d time.Duration, packets int, filter []string) []string {
	secs := strconv.Itoa(int((d + time.Second - 1) / time.Second))
	argv := []string{
		"timeout", "--preserve-status", "-s", "INT", "-k", "5", secs,
		"tcpdump", "-i", iface, "-n", "-U", "-s", strconv.Itoa(snapLen), "-c", strconv.Itoa(packets), "-w", "-",
	}
	return append(argv, filter...)
}

// PcapLimits returns the capture's duration and packet cap with defaults
// applied, or why they are out of range.
func PcapLimits(d time.Duration, packets int) (time.Duration, int, error) {
	if d == 0 {
		d = DefaultDuration
	}
	if packets == 0 {
		packets = DefaultPackets
	}
	if d < time.Second || d > MaxCaptureDuration {
		return 0, 0, invalid("duration %s: want 1s to %s", d, MaxCaptureDuration)
	}
	if packets < 1 || packets > MaxCapturePackets {
		return 0, 0, invalid("packets %d: want 1 to %d", packets, MaxCapturePackets)
	}
	return d, packets, nil
}

func (c *Collector) pcap(ctx context.Context, r Request) (capture, error) {
	d, packets, err := PcapLimits(r.Duration, r.MaxPackets)
	if err != nil {
		return capture{}, err
	}
	iface := cmp.Or(r.Iface, c.o.Iface)
	if err := CheckIface(iface); err != nil {
		return capture{}, err
	}
	filter, err := BPFFilter(r.Target, r.Port)
	if err != nil {
		return capture{}, err
	}
	argv := pcapArgv(iface, d, packets, filter)
	// The hard stop, should timeout itself hang.
	ctx, cancel := context.WithTimeout(ctx, d+15*time.Second)
	defer cancel()
	name, out, err := c.run(ctx, r.Gateway, argv, pcapHeaderLen+packets*(pcapRecordLen+snapLen))
	if err != nil {
		return capture{}, err
	}
	n, link, err := PcapPackets(out)
	if err != nil {
		return capture{}, fmt.Errorf("gateway %s: tcpdump output: %w", name, err)
	}
	return capture{content: out, source: name, meta: map[string]string{
		"gateway": name, "command": strings.Join(argv, " "), "filter": strings.Join(filter, " "),
		"iface": iface, "duration": d.String(), "max_packets": strconv.Itoa(packets),
		"packets": strconv.Itoa(n), "linktype": strconv.FormatUint(uint64(link), 10),
		"snaplen": strconv.Itoa(snapLen),
	}}, nil
}

// pcap file layout (libpcap's classic format).
const (
	pcapHeaderLen = 24
	pcapRecordLen = 16
)

// PcapPackets checks data is a classic pcap file and returns its packet
// count and link type. A record cut short at the end (a capture stopped
// mid-write) is an error.
func PcapPackets(data []byte) (packets int, linkType uint32, err error) {
	if len(data) < pcapHeaderLen {
		return 0, 0, fmt.Errorf("pcap: %d bytes, shorter than the header", len(data))
	}
	var bo binary.ByteOrder
	switch m := binary.LittleEndian.Uint32(data); m {
	case 0xa1b2c3d4, 0xa1b23c4d: // microsecond, nanosecond
		bo = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return 0, 0, fmt.Errorf("pcap: magic %#08x is not a pcap file's", m)
	}
	linkType = bo.Uint32(data[20:])
	rest := data[pcapHeaderLen:]
	for len(rest) > 0 {
		if len(rest) < pcapRecordLen {
			return packets, linkType, fmt.Errorf("pcap: record %d: header cut short", packets+1)
		}
		incl := bo.Uint32(rest[8:])
		if uint64(incl) > uint64(len(rest)-pcapRecordLen) {
			return packets, linkType, fmt.Errorf("pcap: record %d: %d bytes announced, %d left", packets+1, incl, len(rest)-pcapRecordLen)
		}
		rest = rest[pcapRecordLen+int(incl):]
		packets++
	}
	return packets, linkType, nil
}

func setIf(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}
