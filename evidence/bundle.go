package evidence

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"
)

// Bundle layout: the manifest, its own hash in sha256sum format, and each
// content under blobs/ by its hash.
const (
	BundleFormat   = "phantomsoc-evidence-bundle/1"
	manifestName   = "manifest.json"
	manifestSum    = "manifest.json.sha256"
	blobPrefix     = "blobs/"
	maxManifestLen = 64 << 20
)

// Manifest is a bundle's table of contents.
type Manifest struct {
	Format   string         `json:"format"`
	Incident string         `json:"incident"`
	Exported time.Time      `json:"exported"`
	Items    []ManifestItem `json:"items"`
}

// ManifestItem is one item in a bundle: its custody record, where its
// content is in the bundle, and the anchors to check it by.
type ManifestItem struct {
	Item
	// SHA256 repeats the ID under the name a reader looks for.
	SHA256 string `json:"sha256"`
	// Blob is the content's path in the bundle.
	Blob string `json:"blob"`
	// Record is Item.Digest(), which the audit record also carries.
	Record string `json:"record"`
	// AuditHash is the hash of audit record AuditSeq in the chain.
	AuditHash string `json:"audit_hash,omitempty"`
}

// AuditRef is what an item's audit record says, read from the store.
type AuditRef struct {
	Seq    uint64
	Hash   string
	SHA256 string
	Record string
}

// AuditLookup reads the audit record seq; nil skips the audit checks.
type AuditLookup func(seq uint64) (AuditRef, error)

// NewManifest builds the manifest of items; audit gives each item's audit
// record hash (nil leaves it out).
func NewManifest(incident string, exported time.Time, items []Item, audit AuditLookup) (Manifest, error) {
	m := Manifest{Format: BundleFormat, Incident: incident, Exported: exported.UTC(), Items: []ManifestItem{}}
	for _, it := range items {
		mi := ManifestItem{Item: it, SHA256: it.ID, Blob: blobPrefix + it.ID, Record: it.Digest()}
		if audit != nil && it.AuditSeq != 0 {
			ref, err := audit(it.AuditSeq)
			if err != nil {
				return m, fmt.Errorf("item %.12s: audit record %d: %w", it.ID, it.AuditSeq, err)
			}
			mi.AuditHash = ref.Hash
		}
		m.Items = append(m.Items, mi)
	}
	return m, nil
}

// Export writes m and its contents, read from blobs and checked on the
// way, as a tar.gz to w.
func Export(w io.Writer, blobs *Blobs, m Manifest) error {
	mj, err := json.MarshalIndent(&m, "", "  ")
	if err != nil {
		return err
	}
	mj = append(mj, '\n')
	sum := sha256.Sum256(mj)
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	put := func(name string, data []byte) error {
		hdr := &tar.Header{Name: name, Mode: 0o444, Size: int64(len(data)), ModTime: m.Exported, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("bundle %s: %w", name, err)
		}
		if _, err := tw.Write(data); err != nil {
			return fmt.Errorf("bundle %s: %w", name, err)
		}
		return nil
	}
	if err := put(manifestName, mj); err != nil {
		return err
	}
	if err := put(manifestSum, fmt.Appendf(nil, "%x  %s\n", sum, manifestName)); err != nil {
		return err
	}
	done := map[string]bool{}
	for _, mi := range m.Items {
		if done[mi.ID] {
			continue
		}
		done[mi.ID] = true
		data, err := blobs.Read(mi.ID)
		if err != nil {
			return fmt.Errorf("export %s %.12s: %w (run `phantomsoc evidence verify`)", mi.Type, mi.ID, err)
		}
		if int64(len(data)) != mi.Size {
			return fmt.Errorf("export %s %.12s: %w: %d bytes, the index says %d", mi.Type, mi.ID, ErrDamaged, len(data), mi.Size)
		}
		if err := put(mi.Blob, data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	return nil
}

// Problem is one failed check: where (a file in the bundle, an item) and
// what is wrong.
type Problem struct {
	Where string `json:"where"`
	What  string `json:"what"`
}

// Report is the outcome of a verification.
type Report struct {
	Incident string    `json:"incident,omitempty"`
	Items    int       `json:"items"`
	Checked  int       `json:"checked"`
	Audit    bool      `json:"audit_checked"`
	OK       bool      `json:"ok"`
	Problems []Problem `json:"problems,omitempty"`
}

func (r *Report) add(where, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Where: where, What: fmt.Sprintf(format, args...)})
}

// blobSeen is a blob as read from a bundle.
type blobSeen struct {
	hash string
	size int64
}

// VerifyBundle reads a tar.gz bundle and checks it: the manifest against
// its recorded hash, every item's custody digest, every content's hash and
// size, and with audit the store's audit record of each item. A failed
// check is a Problem in the report; the error is for an unreadable bundle.
func VerifyBundle(r io.Reader, audit AuditLookup) (Report, error) {
	var rep Report
	zr, err := gzip.NewReader(r)
	if err != nil {
		return rep, fmt.Errorf("bundle: not gzip: %w", err)
	}
	tr := tar.NewReader(zr)
	var mj, sumLine []byte
	blobs := map[string]blobSeen{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return rep, fmt.Errorf("bundle: %w", err)
		}
		name := path.Clean(hdr.Name)
		switch {
		case hdr.Typeflag != tar.TypeReg:
			rep.add(hdr.Name, "not a regular file (type %q)", hdr.Typeflag)
		case name == manifestName || name == manifestSum:
			data, err := io.ReadAll(io.LimitReader(tr, maxManifestLen+1))
			if err != nil {
				return rep, fmt.Errorf("bundle %s: %w", name, err)
			}
			if len(data) > maxManifestLen {
				return rep, fmt.Errorf("bundle %s: larger than %d bytes", name, maxManifestLen)
			}
			if name == manifestName {
				mj = data
			} else {
				sumLine = data
			}
		case strings.HasPrefix(name, blobPrefix) && ValidID(strings.TrimPrefix(name, blobPrefix)):
			h := sha256.New()
			n, err := io.Copy(h, tr)
			if err != nil {
				return rep, fmt.Errorf("bundle %s: %w", name, err)
			}
			blobs[name] = blobSeen{hash: hex.EncodeToString(h.Sum(nil)), size: n}
		default:
			rep.add(hdr.Name, "unexpected file in an evidence bundle")
		}
	}
	if mj == nil {
		rep.add(manifestName, "missing")
		return finish(rep), nil
	}
	got := sha256.Sum256(mj)
	want, _, _ := strings.Cut(strings.TrimSpace(string(sumLine)), " ")
	switch {
	case sumLine == nil:
		rep.add(manifestSum, "missing: the manifest's own hash cannot be checked")
	case want != hex.EncodeToString(got[:]):
		rep.add(manifestName, "sha256 %x, but %s records %s: the manifest changed after export", got, manifestSum, want)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(mj))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		rep.add(manifestName, "undecodable: %v", jsonErrorAt(mj, err))
		return finish(rep), nil
	}
	if m.Format != BundleFormat {
		rep.add(manifestName, "format %q, want %q", m.Format, BundleFormat)
	}
	rep.Incident, rep.Items, rep.Audit = m.Incident, len(m.Items), audit != nil
	used := map[string]bool{}
	for i, mi := range m.Items {
		where := fmt.Sprintf("item %d (%s %.12s)", i+1, mi.Type, mi.ID)
		rep.Checked++
		if mi.SHA256 != mi.ID {
			rep.add(where, "sha256 %.12s… differs from its id %.12s…", mi.SHA256, mi.ID)
		}
		if d := mi.Digest(); d != mi.Record {
			rep.add(where, "custody record digest %.12s…, the manifest records %.12s…: its type, source, time, collector, size or meta changed", d, mi.Record)
		}
		if mi.Blob != blobPrefix+mi.ID {
			rep.add(where, "blob path %q, want %q", mi.Blob, blobPrefix+mi.ID)
		}
		used[mi.Blob] = true
		b, ok := blobs[mi.Blob]
		switch {
		case !ok:
			rep.add(where, "content %s missing from the bundle", mi.Blob)
		case b.hash != mi.ID:
			rep.add(mi.Blob, "content hashes to %.12s…, the manifest records %.12s… for %s: the content changed", b.hash, mi.ID, where)
		case b.size != mi.Size:
			rep.add(mi.Blob, "%d bytes, the manifest records %d", b.size, mi.Size)
		}
		if audit != nil {
			checkAudit(&rep, where, mi.Item, mi.AuditHash, audit)
		}
	}
	names := make([]string, 0, len(blobs))
	for name := range blobs {
		if !used[name] {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		rep.add(name, "content not listed in the manifest")
	}
	return finish(rep), nil
}

// checkAudit compares an item with the store's audit record of it.
func checkAudit(rep *Report, where string, it Item, auditHash string, audit AuditLookup) {
	if it.AuditSeq == 0 {
		rep.add(where, "no audit record")
		return
	}
	ref, err := audit(it.AuditSeq)
	switch {
	case err != nil:
		rep.add(where, "audit record %d: %v", it.AuditSeq, err)
	case ref.SHA256 != it.ID:
		rep.add(where, "audit record %d registered content %.12s…, not %.12s…", it.AuditSeq, ref.SHA256, it.ID)
	case ref.Record != it.Digest():
		rep.add(where, "audit record %d registered custody digest %.12s…, the item's is %.12s…: the record was changed after collection", it.AuditSeq, ref.Record, it.Digest())
	case auditHash != "" && ref.Hash != auditHash:
		rep.add(where, "audit record %d has hash %.12s…, the bundle records %.12s…", it.AuditSeq, ref.Hash, auditHash)
	}
}

func finish(rep Report) Report {
	rep.OK = len(rep.Problems) == 0
	return rep
}

// jsonErrorAt adds the line and column to a JSON syntax error.
func jsonErrorAt(data []byte, err error) error {
	se, ok := errors.AsType[*json.SyntaxError](err)
	if !ok {
		return err
	}
	line := 1 + bytes.Count(data[:se.Offset], []byte{'\n'})
	col := se.Offset - int64(bytes.LastIndexByte(data[:se.Offset], '\n'))
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

// VerifyStored checks items against the blob directory (content hash and
// size) and, with audit, the audit record of each.
func VerifyStored(blobs *Blobs, items []Item, audit AuditLookup) Report {
	rep := Report{Items: len(items), Audit: audit != nil}
	for i, it := range items {
		where := fmt.Sprintf("item %d (%s %.12s)", i+1, it.Type, it.ID)
		if rep.Incident == "" {
			rep.Incident = it.Incident
		}
		rep.Checked++
		n, err := blobs.Check(it.ID)
		switch {
		case isNotExist(err):
			rep.add(where, "content %s is missing", blobs.Path(it.ID))
		case err != nil:
			rep.add(where, "%v", err)
		case n != it.Size:
			rep.add(where, "content is %d bytes, the index records %d", n, it.Size)
		}
		if audit != nil {
			checkAudit(&rep, where, it, "", audit)
		}
	}
	return finish(rep)
}
