// Package evidence collects, stores and exports evidence with its chain of
// custody: each item's content is kept once in a content-addressed blob
// directory (files named by their SHA-256, read-only), its custody record
// (what, where from, when, by whom, how) is indexed in the store with an
// audit record in the same transaction, and an incident's items export as a
// tar.gz bundle whose manifest `phantomsoc evidence verify` checks byte for
// byte.
//
// Collectors run fixed programs (nft, ss, conntrack, tcpdump) with argument
// vectors built only from validated values (netip.Addr, netip.Prefix, port
// numbers, interface and user names that match strict patterns), locally
// with exec or on an SSH gateway with each argument quoted; nothing an
// event or a user typed reaches a shell unvalidated.
package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrDamaged is wrapped when stored content no longer hashes to its name.
var ErrDamaged = errors.New("evidence content does not match its hash")

// DefaultDir is the blob directory that belongs to a database file.
func DefaultDir(dbPath string) string { return dbPath + ".evidence" }

// Blobs is a content-addressed directory: each file is named by the hex
// SHA-256 of its content, written once through a temporary file, fsynced,
// renamed into place and made read-only.
type Blobs struct {
	dir string
}

// OpenBlobs opens (creating it, 0700) the blob directory dir.
func OpenBlobs(dir string) (*Blobs, error) {
	if dir == "" {
		return nil, errors.New("evidence directory: empty path")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("evidence directory %s: %w", dir, err)
	}
	return &Blobs{dir: dir}, nil
}

// Dir is the blob directory.
func (b *Blobs) Dir() string { return b.dir }

// Hash returns the hex SHA-256 of content: an item's ID.
func Hash(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])
}

// ValidID reports whether id is a hex SHA-256 as Hash writes it.
func ValidID(id string) bool {
	if len(id) != 2*sha256.Size {
		return false
	}
	for _, c := range []byte(id) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Path is where the content with hash id lives.
func (b *Blobs) Path(id string) string { return filepath.Join(b.dir, id) }

// Put stores content and returns its hash; created is false when the same
// content was already there (it is checked, not rewritten). A file of that
// name whose content differs is reported (ErrDamaged), never overwritten:
// damage to evidence is a fact to show, not to repair quietly.
func (b *Blobs) Put(content []byte) (id string, created bool, err error) {
	id = Hash(content)
	path := b.Path(id)
	if _, err := os.Lstat(path); err == nil {
		if _, err := b.Check(id); err != nil {
			return id, false, err
		}
		return id, false, nil
	}
	tmp, err := os.CreateTemp(b.dir, ".tmp-"+id[:12]+"-*")
	if err != nil {
		return id, false, fmt.Errorf("store evidence %.12s: %w", id, err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(content); err != nil {
		return id, false, fmt.Errorf("store evidence %.12s: %w", id, err)
	}
	if err := tmp.Chmod(0o400); err != nil {
		return id, false, fmt.Errorf("store evidence %.12s: %w", id, err)
	}
	if err := tmp.Sync(); err != nil {
		return id, false, fmt.Errorf("store evidence %.12s: fsync: %w", id, err)
	}
	if err := tmp.Close(); err != nil {
		return id, false, fmt.Errorf("store evidence %.12s: %w", id, err)
	}
	// Readers see either no file or the whole of it.
	if err := os.Rename(tmp.Name(), path); err != nil {
		return id, false, fmt.Errorf("store evidence %.12s: %w", id, err)
	}
	done = true
	if err := syncDir(b.dir); err != nil {
		return id, true, fmt.Errorf("store evidence %.12s: fsync %s: %w", id, b.dir, err)
	}
	return id, true, nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Open opens the content with hash id.
func (b *Blobs) Open(id string) (*os.File, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("evidence %q: not a SHA-256", id)
	}
	f, err := os.Open(b.Path(id))
	if err != nil {
		return nil, fmt.Errorf("evidence %.12s: %w", id, err)
	}
	return f, nil
}

// Read returns the content with hash id, checked against it.
func (b *Blobs) Read(id string) ([]byte, error) {
	f, err := b.Open(id)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("evidence %.12s: %w", id, err)
	}
	if got := Hash(data); got != id {
		return nil, fmt.Errorf("evidence %.12s: %w: content hashes to %.12s…", id, ErrDamaged, got)
	}
	return data, nil
}

// Check recomputes the hash of the content stored as id and returns its
// size; an error wraps ErrDamaged when the content changed and
// fs.ErrNotExist when it is gone.
func (b *Blobs) Check(id string) (int64, error) {
	f, err := b.Open(id)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return n, fmt.Errorf("evidence %.12s: %w", id, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != id {
		return n, fmt.Errorf("evidence %.12s: %w: content hashes to %.12s…", id, ErrDamaged, got)
	}
	return n, nil
}

// isNotExist reports a missing blob.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
