package evidence

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/store"
)

// t0 is the collection time of the tests' clock.
var t0 = time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)

func testNow() time.Time { return t0 }

// testEnv is a real store and blob directory in a temporary directory.
type testEnv struct {
	db    *store.DB
	blobs *Blobs
	c     *Collector
}

func newEnv(t testing.TB, o Options) *testEnv {
	t.Helper()
	path := filepath.Join(t.TempDir(), "phantomsoc.db")
	db, err := store.Open(path, store.Options{Now: testNow})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	blobs, err := OpenBlobs(DefaultDir(path))
	if err != nil {
		t.Fatalf("OpenBlobs: %v", err)
	}
	if o.Now == nil {
		o.Now = testNow
	}
	if o.History == nil {
		o.History = db
	}
	c, err := New(blobs, db, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &testEnv{db: db, blobs: blobs, c: c}
}

// auditOf reads audit records from the env's store as Verify needs them.
func (e *testEnv) audit() AuditLookup {
	return func(seq uint64) (AuditRef, error) {
		r, err := e.db.AuditRecord(seq)
		if err != nil {
			return AuditRef{}, err
		}
		d, err := store.ParseEvidenceAudit(r)
		if err != nil {
			return AuditRef{}, err
		}
		return AuditRef{Seq: r.Seq, Hash: r.Hash, SHA256: d.SHA256, Record: d.Record}, nil
	}
}

// tarEntry is one file of a bundle, read back for tampering.
type tarEntry struct {
	name string
	data []byte
}

func readBundle(t testing.TB, b []byte) []tarEntry {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var out []tarEntry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tarEntry{h.Name, data})
	}
}

func writeBundle(t testing.TB, es []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range es {
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o444, Size: int64(len(e.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func timeStep(i int) time.Duration { return time.Duration(i) * time.Second }
