//go:build !unix

package ingest

import "io/fs"

// inode returns 0: without inodes, rotation is detected only by truncation.
func inode(fs.FileInfo) uint64 { return 0 }
