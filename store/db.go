// Package store is phantomsoc's bbolt persistence: one bucket per entity,
// schema-prefixed values, ordered migrations run at open, a hash-chained
// audit trail and retention.
//
// A *DB implements engine.Store. Every write is one bbolt transaction that
// carries its own audit records; nothing read from a transaction escapes it.
package store

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrLocked means another process (a phantomsoc daemon or console)
	// holds the database file.
	ErrLocked = errors.New("database is in use by another phantomsoc process")
	// ErrNotDatabase means the file is not a bbolt database (text, random
	// bytes, empty or truncated).
	ErrNotDatabase = errors.New("not a phantomsoc database")
	// ErrForeign means the file is a bbolt database written by something
	// other than phantomsoc.
	ErrForeign = errors.New("bbolt database not written by phantomsoc")
	// ErrTooNew means the file's schema is newer than this binary knows.
	ErrTooNew = errors.New("database schema is newer than this phantomsoc")
	// ErrNeedsMigration means a read-only open found an older schema,
	// which only a read-write open migrates.
	ErrNeedsMigration = errors.New("database schema is older than this phantomsoc")
	// ErrNotFound means the requested record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrSchema means a stored value carries an unknown schema byte.
	ErrSchema = errors.New("unknown value schema")
	// ErrCorrupt means bbolt failed on the file's contents (it panicked or
	// faulted); the file needs `bbolt check` or a restore from backup.
	ErrCorrupt = errors.New("database file is corrupt")
)

// Defaults applied by Open.
const (
	DefaultTimeout    = time.Second
	DefaultMaxRejects = 10_000
)

// Options configure Open. The zero value is a durable read-write store.
type Options struct {
	// ReadOnly opens the file with a shared lock; writes fail.
	ReadOnly bool
	// Timeout bounds the wait for the file lock (default DefaultTimeout).
	Timeout time.Duration
	// Logger receives lifecycle logs (default: discarded).
	Logger *slog.Logger
	// MaxRejects caps the dead-letter bucket; the oldest rejects are
	// deleted past it (default DefaultMaxRejects).
	MaxRejects int
	// Now is the clock for records without an event time (created-at,
	// analyst audit records, prune). Default time.Now.
	Now func() time.Time
	// NoSync skips fsync after each commit. Only for throwaway files, such
	// as a replay into a temporary database: a crash loses or corrupts
	// data. Never set it for the live database.
	NoSync bool

	// migrations replaces the shipped migration list (tests only).
	migrations []migration
}

// DB is phantomsoc's store. Its methods are safe for concurrent use.
type DB struct {
	bolt       *bolt.DB
	path       string
	log        *slog.Logger
	now        func() time.Time
	maxRejects int
	version    uint64
	// arena holds Commit's values; bbolt's single writer lock guards it.
	arena valueArena
}

// Open opens (creating it if needed) the database at path, takes its file
// lock and brings its schema up to date.
func Open(path string, o Options) (*DB, error) {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxRejects <= 0 {
		o.MaxRejects = DefaultMaxRejects
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.migrations == nil {
		o.migrations = shippedMigrations()
	}
	if err := checkMigrations(o.migrations); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if !o.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("open %s: create directory: %w", path, err)
		}
	}
	// bbolt would silently initialise an existing empty file; an empty file
	// we did not create is more likely a wrong --db than a database.
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
		return nil, fmt.Errorf("open %s: %w: the file is empty (remove it to start a new database)", path, ErrNotDatabase)
	}

	bdb, err := openBolt(path, o)
	if err != nil {
		return nil, err
	}
	db := &DB{
		bolt:       bdb,
		path:       path,
		log:        o.Logger.With("component", "store"),
		now:        o.Now,
		maxRejects: o.MaxRejects,
	}
	if err := db.prepare(o); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.log.Info("store opened", "path", path, "schema", db.version, "read_only", o.ReadOnly)
	return db, nil
}

// openBolt opens the bbolt file, turning lock timeouts, bad files and bbolt
// panics or memory faults on corrupt files into errors.
func openBolt(path string, o Options) (bdb *bolt.DB, err error) {
	var file *os.File
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			// bbolt never returned a *DB; release the lock it took.
			if file != nil {
				_ = file.Close()
			}
			bdb = nil
			err = fmt.Errorf("open %s: %w: %w: %v", path, ErrNotDatabase, ErrCorrupt, r)
		}
	}()
	bdb, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout:  o.Timeout,
		ReadOnly: o.ReadOnly,
		NoSync:   o.NoSync,
		// A throwaway file needs no fsync when it grows either, nor a
		// freelist written with every commit for a restart it never has.
		NoGrowSync:     o.NoSync,
		NoFreelistSync: o.NoSync,
		FreelistType:   bolt.FreelistMapType,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			file = f
			return f, err
		},
	})
	switch {
	case err == nil:
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("open %s: %w (a daemon or console): use that process, or stop it and retry", path, ErrLocked)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch),
		errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrInvalidMapping),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		strings.Contains(err.Error(), "file size too small"):
		return nil, fmt.Errorf("open %s: %w: %v", path, ErrNotDatabase, err)
	default:
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// A truncated file maps pages past its end; touching them faults.
	if fi, serr := os.Stat(path); serr == nil {
		var size int64
		if verr := bdb.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil }); verr == nil && size > fi.Size() {
			_ = bdb.Close()
			return nil, fmt.Errorf("open %s: %w: file is truncated (%d bytes, meta says %d)", path, ErrNotDatabase, fi.Size(), size)
		}
	}
	return bdb, nil
}

// Close releases the file lock.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("close %s: %w", db.path, err)
	}
	return nil
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// view runs fn in a read transaction, turning a bbolt panic or memory fault
// on a corrupt file into an ErrCorrupt error.
func (db *DB) view(what string, fn func(tx *bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer db.recoverInto(&err, what)
	if err := db.bolt.View(fn); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// update runs fn in one write transaction, with the same recovery as view.
func (db *DB) update(what string, fn func(tx *bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer db.recoverInto(&err, what)
	if err := db.bolt.Update(fn); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func (db *DB) recoverInto(err *error, what string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s: %s: %w: %v", what, db.path, ErrCorrupt, r)
	}
}

// bucket returns the named bucket or an error naming it; a missing bucket
// in a migrated file means someone edited it.
func bucket(tx *bolt.Tx, name string) (*bolt.Bucket, error) {
	b := tx.Bucket([]byte(name))
	if b == nil {
		return nil, fmt.Errorf("%w: bucket %q missing", ErrCorrupt, name)
	}
	if appendOnly(name) {
		// Keys arrive in time order: pages split at bbolt's default 50%
		// would stay half empty forever.
		b.FillPercent = 0.95
	}
	return b, nil
}

// appendOnly reports the buckets whose keys grow with time.
func appendOnly(name string) bool {
	switch name {
	case bucketAlerts, bucketDecisions, bucketAudit, bucketRejects:
		return true
	}
	return false
}
