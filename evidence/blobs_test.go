package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestBlobsContentAddressed(t *testing.T) {
	b, err := OpenBlobs(filepath.Join(t.TempDir(), "db.evidence"))
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("Nov 23 10:00:01 gw1 sshd[101]: Failed password for root from 192.0.2.10 port 4242 ssh2\n")
	sum := sha256.Sum256(content)
	want := hex.EncodeToString(sum[:])

	id, created, err := b.Put(content)
	if err != nil || id != want || !created {
		t.Fatalf("Put = %s, %v, %v; want %s, true, nil", id, created, err, want)
	}
	id2, created, err := b.Put(bytes.Clone(content))
	if err != nil || id2 != id || created {
		t.Fatalf("Put again = %s, %v, %v; want %s, false (deduplicated), nil", id2, created, err, id)
	}
	other, _, err := b.Put(append(bytes.Clone(content), '!'))
	if err != nil || other == id {
		t.Fatalf("Put of other content = %s, %v; want a different hash", other, err)
	}
	fi, err := os.Stat(b.Path(id))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o400 {
		t.Errorf("blob mode = %v, want read-only 0400", fi.Mode().Perm())
	}
	if got, err := b.Read(id); err != nil || !bytes.Equal(got, content) {
		t.Errorf("Read = %q, %v", got, err)
	}
	entries, _ := os.ReadDir(b.Dir())
	if len(entries) != 2 {
		t.Errorf("directory holds %d files, want 2 (one per distinct content, no temporaries)", len(entries))
	}

	// Damage is reported, never repaired by a later Put.
	if err := os.Chmod(b.Path(id), 0o600); err != nil {
		t.Fatal(err)
	}
	damaged := bytes.Clone(content)
	damaged[0] ^= 1
	if err := os.WriteFile(b.Path(id), damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Check(id); !errors.Is(err, ErrDamaged) {
		t.Errorf("Check of a damaged blob = %v, want ErrDamaged", err)
	}
	if _, _, err := b.Put(content); !errors.Is(err, ErrDamaged) {
		t.Errorf("Put over a damaged blob = %v, want ErrDamaged", err)
	}
	if got, _ := os.ReadFile(b.Path(id)); !bytes.Equal(got, damaged) {
		t.Error("Put rewrote a damaged blob: the damage is no longer visible")
	}
}

// TestBlobsAtomicWrite races writers of one content against readers: a
// reader sees no file or the whole content, never a part, and an abandoned
// temporary file (a crash before the rename) is never taken for a blob.
func TestBlobsAtomicWrite(t *testing.T) {
	b, err := OpenBlobs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	content := bytes.Repeat([]byte("192.0.2.10 198.51.100.1 2001:db8::10\n"), 64<<10)
	id := Hash(content)
	// What a crash between write and rename leaves behind.
	if err := os.WriteFile(filepath.Join(b.Dir(), ".tmp-"+id[:12]+"-crash"), content[:100], 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Check(id); !isNotExist(err) {
		t.Fatalf("Check before any Put = %v, want not-exist", err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := os.ReadFile(b.Path(id))
				if err == nil && !bytes.Equal(got, content) {
					t.Errorf("reader saw %d of %d bytes", len(got), len(content))
					return
				}
			}
		})
	}
	var writers sync.WaitGroup
	for range 8 {
		writers.Go(func() {
			if got, _, err := b.Put(content); err != nil || got != id {
				t.Errorf("Put = %s, %v", got, err)
			}
		})
	}
	writers.Wait()
	close(stop)
	wg.Wait()
	if n, err := b.Check(id); err != nil || n != int64(len(content)) {
		t.Errorf("Check = %d, %v", n, err)
	}
	entries, _ := os.ReadDir(b.Dir())
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") && !strings.HasSuffix(e.Name(), "-crash") {
			t.Errorf("temporary %s left behind", e.Name())
		}
	}
}
