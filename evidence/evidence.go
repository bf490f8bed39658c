package evidence

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// Item is one evidence item's custody record.
type Item = engine.EvidenceItem

// Index registers items with their audit record; *store.DB implements it.
type Index interface {
	PutEvidence(ctx context.Context, it engine.EvidenceItem) (engine.EvidenceItem, bool, error)
}

// History is what the store knows about a source or a user; *store.DB
// implements it.
type History interface {
	SourceHistory(p netip.Prefix, limit int) ([]engine.Alert, []engine.Decision, error)
	UserAlerts(users []string, limit int) ([]engine.Alert, error)
	Alert(id string) (engine.Alert, error)
}

// LocalRunner is the runner name of this host.
const LocalRunner = "local"

// Options configure a Collector.
type Options struct {
	// Runners are the places commands run, by gateway name; LocalRunner
	// (this host) is added when missing.
	Runners map[string]Runner
	// History answers the enrichment and auth-history collectors; nil
	// leaves the store's part out.
	History History
	// Enricher adds asset and GeoIP/ASN context to an enrichment
	// snapshot; nil leaves it out.
	Enricher engine.Enricher
	// LogFile is the default file of logs and auth-history requests that
	// name none (a playbook's).
	LogFile string
	// Iface is the default capture interface ("any" when empty).
	Iface string
	// Now is the clock of collection times (default time.Now).
	Now func() time.Time
	// MaxLogBytes caps a log excerpt (default DefaultMaxLogBytes);
	// MaxScanBytes caps how much of a file one request reads (default
	// DefaultMaxScanBytes).
	MaxLogBytes, MaxScanBytes int64
}

// Size defaults.
const (
	DefaultMaxLogBytes  = 4 << 20
	DefaultMaxScanBytes = 512 << 20
	// maxCommandOutput bounds a ruleset or connection table.
	maxCommandOutput = 64 << 20
	// historyLimit bounds the alerts and decisions of a snapshot.
	historyLimit = 200
)

// Collector collects evidence into a blob directory and an index.
type Collector struct {
	blobs *Blobs
	index Index
	o     Options
}

// New returns a Collector storing into blobs and index.
func New(blobs *Blobs, index Index, o Options) (*Collector, error) {
	if blobs == nil || index == nil {
		return nil, errors.New("evidence: a blob directory and an index are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxLogBytes <= 0 {
		o.MaxLogBytes = DefaultMaxLogBytes
	}
	if o.MaxScanBytes <= 0 {
		o.MaxScanBytes = DefaultMaxScanBytes
	}
	if o.Iface == "" {
		o.Iface = "any"
	}
	if err := CheckIface(o.Iface); err != nil {
		return nil, err
	}
	runners := maps.Clone(o.Runners)
	if runners == nil {
		runners = map[string]Runner{}
	}
	if runners[LocalRunner] == nil {
		runners[LocalRunner] = Local{}
	}
	o.Runners = runners
	return &Collector{blobs: blobs, index: index, o: o}, nil
}

// Request asks for one evidence item. Type and Collector are required;
// which other fields count depends on the type.
type Request struct {
	Type     string
	Incident string
	// Collector is the actor: an analyst's name, "playbook:NAME".
	Collector string
	// Gateway names the runner of ruleset, connections and pcap ("" is
	// this host).
	Gateway string
	// Target is the source of connections, pcap and enrichment.
	Target netip.Prefix

	// File, From/To and Start/End select a log excerpt: the lines whose
	// time is in [From, To], or the bytes [Start, End) (End 0: to the
	// cap). auth-history reads File for Users' sshd lines since From.
	File       string
	From, To   time.Time
	Start, End int64
	Users      []string

	// Scope is "table" (phantomsoc's, the default) or "ruleset";
	// Phase ("before", "after") and Ref (a decision or plan) say which
	// action a ruleset brackets.
	Scope, Phase, Ref string
	// Tool is "ss" (default) or "conntrack".
	Tool string

	// Iface, Duration, MaxPackets and Port shape a capture.
	Iface      string
	Duration   time.Duration
	MaxPackets int
	Port       uint16
}

// capture is what a collector took, before it is stored.
type capture struct {
	content []byte
	source  string
	meta    map[string]string
}

// Collect runs the request's collector, stores the content and registers
// the item; collecting the same content again for the same incident
// returns the first item.
func (c *Collector) Collect(ctx context.Context, r Request) (Item, error) {
	if r.Collector == "" {
		return Item{}, invalid("collector (the actor) is required")
	}
	collected := c.o.Now().UTC()
	var (
		cp  capture
		err error
	)
	switch r.Type {
	case engine.EvidenceLogs:
		cp, err = c.logs(r)
	case engine.EvidenceAuthHistory:
		cp, err = c.authHistory(r)
	case engine.EvidenceRuleset:
		cp, err = c.ruleset(ctx, r)
	case engine.EvidenceConnections:
		cp, err = c.connections(ctx, r)
	case engine.EvidencePcap:
		cp, err = c.pcap(ctx, r)
	case engine.EvidenceEnrichment:
		cp, err = c.enrichment(r, collected)
	default:
		return Item{}, invalid("type %q: want one of %v", r.Type, engine.EvidenceTypes())
	}
	if err != nil {
		return Item{}, fmt.Errorf("collect %s: %w", r.Type, err)
	}
	return c.store(ctx, Item{
		Type: r.Type, Incident: r.Incident, Source: cp.source, Collected: collected,
		Collector: r.Collector, Meta: cp.meta,
	}, cp.content)
}

// Add stores content taken elsewhere as an item of it.Type; ID and Size
// are set from content.
func (c *Collector) Add(ctx context.Context, it Item, content []byte) (Item, error) {
	if !slices.Contains(engine.EvidenceTypes(), it.Type) {
		return Item{}, invalid("type %q: want one of %v", it.Type, engine.EvidenceTypes())
	}
	if it.Collected.IsZero() {
		it.Collected = c.o.Now()
	}
	it.Collected = it.Collected.UTC()
	return c.store(ctx, it, content)
}

func (c *Collector) store(ctx context.Context, it Item, content []byte) (Item, error) {
	id, _, err := c.blobs.Put(content)
	if err != nil {
		return Item{}, err
	}
	it.ID, it.Size = id, int64(len(content))
	// The blob is written first: an index entry never points at nothing,
	// and a blob without one is an orphan a later collection reuses.
	out, _, err := c.index.PutEvidence(ctx, it)
	if err != nil {
		return Item{}, err
	}
	return out, nil
}

// run runs argv on gateway's runner ("" is this host) and returns the
// runner's name with the output.
func (c *Collector) run(ctx context.Context, gateway string, argv []string, maxOut int) (string, []byte, error) {
	gateway = cmp.Or(gateway, LocalRunner)
	r := c.o.Runners[gateway]
	if r == nil {
		names := slices.Sorted(maps.Keys(c.o.Runners))
		return gateway, nil, invalid("gateway %q: not configured (have %v)", gateway, names)
	}
	out, err := r.Capture(ctx, argv, maxOut)
	if err != nil {
		return gateway, nil, fmt.Errorf("gateway %s: %w", gateway, err)
	}
	return gateway, out, nil
}
