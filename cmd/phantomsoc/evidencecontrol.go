package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/phantomsoc/phantomsoc/control"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/evidence"
	"github.com/phantomsoc/phantomsoc/store"
)

const (
	// maxControlBundle bounds a bundle exported through the owner's
	// control socket: it travels as one JSON reply, held whole in memory
	// on both sides.
	maxControlBundle = 256 << 20
	// evidenceCallTimeout bounds a collection or an export through the
	// owner: a capture alone may take evidence.MaxCaptureDuration.
	evidenceCallTimeout = evidence.MaxCaptureDuration + time.Minute
)

// errBundleTooLarge is an export through the owner past maxControlBundle.
var errBundleTooLarge = fmt.Errorf("bundle larger than %d MiB, too large to pass through the control socket: export as a user who may read the evidence directory beside the database (the bundle is then streamed), or stop the daemon or console and export from the database file", maxControlBundle>>20)

// evidenceOps is what the evidence commands read: on the process that owns
// the database, or on the file when none runs.
type evidenceOps interface {
	List(q store.EvidenceQuery) ([]engine.EvidenceItem, error)
	// Export writes the incident's bundle to w and returns its item count.
	Export(w io.Writer, incident string) (int, error)
	// Verify checks the incident's stored items and the audit chain.
	Verify(incident string) (evidence.Report, error)
	// Audit looks an item's audit record up, for a bundle's check.
	Audit() evidence.AuditLookup
}

// localEvidence works on a database and blob directory this process holds.
type localEvidence struct {
	db    *store.DB
	blobs *evidence.Blobs
}

func (l localEvidence) List(q store.EvidenceQuery) ([]engine.EvidenceItem, error) {
	return l.db.Evidence(q)
}

func (l localEvidence) Export(w io.Writer, incident string) (int, error) {
	return exportBundle(w, l, l.blobs, incident)
}

// exportBundle writes the incident's bundle of the items ops lists, their
// contents read from blobs.
func exportBundle(w io.Writer, ops evidenceOps, blobs *evidence.Blobs, incident string) (int, error) {
	items, err := ops.List(store.EvidenceQuery{Incident: incident})
	if err != nil {
		return 0, err
	}
	if len(items) == 0 {
		return 0, fmt.Errorf("incident %s has no evidence", incident)
	}
	m, err := evidence.NewManifest(incident, time.Now(), items, ops.Audit())
	if err != nil {
		return 0, err
	}
	return len(items), evidence.Export(w, blobs, m)
}

func (l localEvidence) Verify(incident string) (evidence.Report, error) {
	items, err := l.db.Evidence(store.EvidenceQuery{Incident: incident})
	if err != nil {
		return evidence.Report{}, err
	}
	if len(items) == 0 {
		return evidence.Report{}, fmt.Errorf("%s: neither a bundle file nor an incident with evidence", incident)
	}
	rep := evidence.VerifyStored(l.blobs, items, l.Audit())
	chain, err := l.db.VerifyAudit()
	if err != nil {
		return rep, err
	}
	if !chain.OK {
		rep.Problems = append(rep.Problems, evidence.Problem{Where: fmt.Sprintf("audit record %d", chain.FirstBroken), What: chain.Reason})
		rep.OK = false
	}
	return rep, nil
}

func (l localEvidence) Audit() evidence.AuditLookup { return auditLookup(l.db.AuditList) }

// auditLookup reads an item's audit record through list (the store's
// AuditList, or the owner's).
func auditLookup(list func(from uint64, limit int) ([]store.AuditRecord, error)) evidence.AuditLookup {
	return func(seq uint64) (evidence.AuditRef, error) {
		rs, err := list(seq, 1)
		if err != nil {
			return evidence.AuditRef{}, err
		}
		if len(rs) == 0 || rs[0].Seq != seq {
			return evidence.AuditRef{}, fmt.Errorf("audit record %d: %w", seq, store.ErrNotFound)
		}
		d, err := store.ParseEvidenceAudit(rs[0])
		if err != nil {
			return evidence.AuditRef{}, err
		}
		return evidence.AuditRef{Seq: rs[0].Seq, Hash: rs[0].Hash, SHA256: d.SHA256, Record: d.Record}, nil
	}
}

// evidenceBundle is the evidence-export call's reply.
type evidenceBundle struct {
	Items  int    `json:"items"`
	Bundle []byte `json:"bundle"`
}

// cappedBuffer is a buffer that refuses to grow past max bytes.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, errBundleTooLarge
	}
	return b.Buffer.Write(p)
}

// exportCapped builds the incident's bundle in memory, at most max bytes.
func exportCapped(ops evidenceOps, incident string, max int) (evidenceBundle, error) {
	buf := cappedBuffer{max: max}
	n, err := ops.Export(&buf, incident)
	if err != nil {
		return evidenceBundle{}, err
	}
	return evidenceBundle{Items: n, Bundle: buf.Bytes()}, nil
}

// serveEvidence exposes the evidence commands on the control socket, so
// they work while this process owns the database. Items are collected as
// playbook runs collect them (liveCollector): through the enforcement's own
// gateway connections, with the pipeline's enricher; the collector is the
// actor the client names.
func serveEvidence(srv *control.Server, cfg *Config, d playbookDeps) {
	// onIncident is a call whose argument is an incident ID.
	onIncident := func(fn func(l localEvidence, incident string) (any, error)) control.CallFunc {
		return func(args []byte) (any, error) {
			var incident string
			if err := json.Unmarshal(args, &incident); err != nil {
				return nil, err
			}
			blobs, err := evidence.OpenBlobs(evidence.DefaultDir(d.dbPath))
			if err != nil {
				return nil, err
			}
			return fn(localEvidence{db: d.db, blobs: blobs}, incident)
		}
	}
	srv.Handle("evidence-collect", func(args []byte) (any, error) {
		var r evidence.Request
		if err := json.Unmarshal(args, &r); err != nil {
			return nil, err
		}
		c, err := liveCollector(cfg, d)
		if err != nil {
			return nil, err
		}
		// A call carries no context: the bound is the longest capture's.
		ctx, cancel := context.WithTimeout(context.Background(), evidenceCallTimeout)
		defer cancel()
		return c.Collect(ctx, r)
	})
	srv.Handle("evidence-list", func(args []byte) (any, error) {
		var q store.EvidenceQuery
		if err := json.Unmarshal(args, &q); err != nil {
			return nil, err
		}
		return d.db.Evidence(q)
	})
	srv.Handle("evidence-export", onIncident(func(l localEvidence, incident string) (any, error) {
		return exportCapped(l, incident, maxControlBundle)
	}))
	srv.Handle("evidence-verify", onIncident(func(l localEvidence, incident string) (any, error) {
		return l.Verify(incident)
	}))
}

// remoteEvidence calls the process that owns the database; slow is the
// same socket for the calls that wait on a capture or build a bundle.
type remoteEvidence struct {
	r, slow remote
	// blobDir is the blob directory beside the owner's database, which an
	// export reads directly when it may.
	blobDir string
}

func newRemoteEvidence(ctx context.Context, c *control.Client) remoteEvidence {
	return remoteEvidence{r: remote{ctx: ctx, c: c}, slow: remote{ctx: ctx, c: c.WithTimeout(evidenceCallTimeout)}}
}

// Collect asks the owner to collect r.
func (r remoteEvidence) Collect(req evidence.Request) (out engine.EvidenceItem, err error) {
	return out, r.slow.call("evidence-collect", req, &out)
}

func (r remoteEvidence) List(q store.EvidenceQuery) (out []engine.EvidenceItem, err error) {
	return out, r.r.call("evidence-list", q, &out)
}

// Export streams the bundle itself when it can read the blob directory:
// blobs are immutable files named by their hash, so only the index and the
// audit records need the owner, and the bundle's size is not bounded by
// the control socket. Otherwise (the daemon runs as another user) the
// owner builds the bundle, up to maxControlBundle.
func (r remoteEvidence) Export(w io.Writer, incident string) (int, error) {
	if readableDir(r.blobDir) {
		blobs, err := evidence.OpenBlobs(r.blobDir)
		if err != nil {
			return 0, err
		}
		return exportBundle(w, r, blobs, incident)
	}
	var b evidenceBundle
	if err := r.slow.call("evidence-export", incident, &b); err != nil {
		return 0, err
	}
	if _, err := w.Write(b.Bundle); err != nil {
		return 0, err
	}
	return b.Items, nil
}

func (r remoteEvidence) Verify(incident string) (out evidence.Report, err error) {
	return out, r.r.call("evidence-verify", incident, &out)
}

func (r remoteEvidence) Audit() evidence.AuditLookup { return auditLookup(r.r.AuditList) }

// readableDir reports whether this process may list dir.
func readableDir(dir string) bool {
	if dir == "" {
		return false
	}
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	return err == nil || errors.Is(err, io.EOF)
}

// withEvidence runs fn against the process that owns the database when one
// answers on its control socket, else against the file opened read-only
// and the blob directory beside it.
func withEvidence(ctx context.Context, g *globals, fn func(evidenceOps) error) error {
	path, c, err := owner(ctx, g)
	if err != nil {
		return err
	}
	if c != nil {
		r := newRemoteEvidence(ctx, c)
		r.blobDir = evidence.DefaultDir(path)
		return fn(r)
	}
	return openEvidence(path, store.Options{ReadOnly: true}, func(db *store.DB, blobs *evidence.Blobs) error {
		return fn(localEvidence{db: db, blobs: blobs})
	})
}
