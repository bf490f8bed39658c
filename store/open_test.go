package store

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestOpenLocked(t *testing.T) {
	path := testPath(t)
	openAt(t, path, Options{})
	start := time.Now()
	db, err := Open(path, Options{Timeout: 100 * time.Millisecond})
	if err == nil {
		_ = db.Close()
		t.Fatal("second Open = nil, want ErrLocked")
	}
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "stop it") {
		t.Errorf("second Open = %v, want ErrLocked naming the path and what to do", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("second Open took %v, want about the 100ms timeout", d)
	}
}

// realDB writes a phantomsoc database with some data and returns its bytes
// and its high-water mark (bbolt preallocates past it).
func realDB(t *testing.T) ([]byte, int) {
	t.Helper()
	path := testPath(t)
	db := openAt(t, path, Options{})
	for i := range 20 {
		if err := db.Commit(t.Context(), sampleCommit(i, 50)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bd, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bd.Close()
	var hwm int64
	_ = bd.View(func(tx *bolt.Tx) error { hwm = tx.Size(); return nil })
	return b, int(hwm)
}

func TestOpenNotDatabase(t *testing.T) {
	real, hwm := realDB(t)
	random := make([]byte, 64<<10)
	r := rand.NewChaCha8([32]byte{1})
	_, _ = r.Read(random)
	tests := []struct {
		name    string
		content []byte
	}{
		{"text", []byte("hello: this is a YAML file, not a database\n")},
		{"random bytes", random},
		{"empty", nil},
		{"tiny", []byte{0xed}},
		{"truncated to 100 bytes", real[:100]},
		{"truncated to one page", real[:4096]},
		{"truncated to two pages", real[:8192]},
		{"truncated to half", real[:len(real)/2]},
		{"truncated one page below its data", real[:hwm-4096]},
		{"meta pages zeroed", append(make([]byte, 8192), real[8192:]...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.db")
			if err := os.WriteFile(path, tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			db, err := Open(path, Options{Timeout: time.Second})
			if err == nil {
				_ = db.Close()
				t.Fatalf("Open(%s) = nil, want ErrNotDatabase", tc.name)
			}
			t.Logf("Open = %v", err)
			if !errors.Is(err, ErrNotDatabase) || !strings.Contains(err.Error(), path) {
				t.Errorf("Open(%s) = %v, want ErrNotDatabase naming %s", tc.name, err, path)
			}
			// The failed Open must not keep the file locked.
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			db, err = Open(path, Options{Timeout: 100 * time.Millisecond})
			if err != nil {
				t.Fatalf("Open after removing the bad file = %v", err)
			}
			_ = db.Close()
		})
	}
}

// boltEdit opens path with bbolt directly and runs fn in a write tx.
func boltEdit(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func TestOpenForeignAndTooNew(t *testing.T) {
	tests := []struct {
		name string
		edit func(tx *bolt.Tx) error // on a fresh phantomsoc file unless foreign
		raw  bool                    // start from an empty bbolt file
		want error
	}{
		{"foreign buckets", func(tx *bolt.Tx) error {
			_, err := tx.CreateBucket([]byte("widgets"))
			return err
		}, true, ErrForeign},
		{"foreign meta magic", func(tx *bolt.Tx) error {
			b, err := tx.CreateBucket([]byte("meta"))
			if err != nil {
				return err
			}
			return b.Put([]byte("magic"), []byte("etcd"))
		}, true, ErrForeign},
		{"newer schema", func(tx *bolt.Tx) error {
			return tx.Bucket([]byte(bucketMeta)).Put([]byte(metaVersion), u64(99))
		}, false, ErrTooNew},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := testPath(t)
			if !tc.raw {
				db := openAt(t, path, Options{})
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
			} else if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			boltEdit(t, path, tc.edit)
			db, err := Open(path, Options{})
			if err == nil {
				_ = db.Close()
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("Open = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("empty bbolt file is adopted", func(t *testing.T) {
		path := testPath(t)
		_ = os.MkdirAll(filepath.Dir(path), 0o700)
		boltEdit(t, path, func(*bolt.Tx) error { return nil })
		openAt(t, path, Options{})
	})
}

func TestMigrationHook(t *testing.T) {
	path := testPath(t)
	db := openAt(t, path, Options{})
	if err := db.Commit(t.Context(), sampleCommit(0, 3)); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	runs := 0
	next := uint64(len(shippedMigrations()) + 1)
	withV2 := append(shippedMigrations(), migration{version: next, name: "test extra bucket", up: func(tx *bolt.Tx) error {
		runs++
		_, err := tx.CreateBucket([]byte("extra"))
		return err
	}})
	for i := range 3 {
		db := openAt(t, path, Options{migrations: withV2})
		info, err := db.Info()
		if err != nil || info.Schema != next {
			t.Errorf("open %d: Info = %+v, %v; want schema %d", i, info, err, next)
		}
		if _, err := db.Alert("al-00000001"); err != nil {
			t.Errorf("open %d: data lost by migration: %v", i, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if runs != 1 {
		t.Errorf("migration 2 ran %d times, want 1", runs)
	}
	// The shipped binary (schema 1) now refuses the migrated file.
	if db, err := Open(path, Options{}); !errors.Is(err, ErrTooNew) {
		if err == nil {
			_ = db.Close()
		}
		t.Errorf("Open(v2 file) with v1 binary = %v, want ErrTooNew", err)
	}
	t.Run("failing step rolls back", func(t *testing.T) {
		path := testPath(t)
		failing := append(shippedMigrations(), migration{version: next, name: "broken", up: func(*bolt.Tx) error {
			return errors.New("boom")
		}})
		if db, err := Open(path, Options{migrations: failing}); err == nil || !strings.Contains(err.Error(), "boom") {
			if err == nil {
				_ = db.Close()
			}
			t.Fatalf("Open with failing migration = %v, want boom", err)
		}
		// Nothing of version 1 landed either: one transaction.
		b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		_ = b.View(func(tx *bolt.Tx) error {
			if tx.Bucket([]byte(bucketMeta)) != nil {
				t.Error("meta bucket exists after a failed migration, want rolled back")
			}
			return nil
		})
	})
}

func TestUnknownSchemaByte(t *testing.T) {
	path := testPath(t)
	db := openAt(t, path, Options{})
	if err := db.Commit(t.Context(), sampleCommit(0, 3)); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	boltEdit(t, path, func(tx *bolt.Tx) error {
		ids := tx.Bucket([]byte(bucketAlertIDs))
		b := tx.Bucket([]byte(bucketAlerts))
		k := ids.Get([]byte("al-00000001"))
		v := bytes.Clone(b.Get(k))
		v[0] = 9
		return b.Put(k, v)
	})
	db = openAt(t, path, Options{})
	if _, err := db.Alert("al-00000001"); !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "0x09") {
		t.Errorf("Alert(schema 9) = %v, want ErrSchema naming the byte", err)
	}
	if _, err := db.Alerts(AlertQuery{}); !errors.Is(err, ErrSchema) {
		t.Errorf("Alerts with a schema-9 value = %v, want ErrSchema", err)
	}
}
