//go:build unix

package ingest

import (
	"io/fs"
	"syscall"
)

// inode returns the file's inode number, 0 when the platform has none.
func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino) //nolint:unconvert // Ino is uint32 on some unixes
	}
	return 0
}
