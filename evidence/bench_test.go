package evidence

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phantomsoc/phantomsoc/engine"
)

// BenchmarkCollectLogs takes a 4 MiB excerpt of a log file: read, hash,
// write the blob (fsync, rename, directory fsync) and index it with its
// audit record. Each iteration's file differs by its first bytes, so no
// collection is deduplicated away.
func BenchmarkCollectLogs(b *testing.B) {
	line := "Nov 23 10:00:01 gw1 sshd[101]: Failed password for root from 192.0.2.10 port 4242 ssh2\n"
	body := []byte(strings.Repeat(line, DefaultMaxLogBytes/len(line)))
	path := filepath.Join(b.TempDir(), "auth.log")
	e := newEnv(b, Options{})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var n uint64
	for b.Loop() {
		n++
		binary.BigEndian.PutUint64(body, n)
		if err := os.WriteFile(path, body, 0o600); err != nil {
			b.Fatal(err)
		}
		if _, err := e.c.Collect(b.Context(), Request{Type: engine.EvidenceLogs, File: path, Collector: "bench", Incident: "in-00000001"}); err != nil {
			b.Fatal(err)
		}
	}
}
