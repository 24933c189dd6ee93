//go:build !linux

package spool

import "golang.org/x/sys/unix"

// datasync falls back to fsync where fdatasync is missing. Durability on
// these systems is best effort (macOS needs F_FULLFSYNC for a real flush);
// hikyaku's guarantee is stated for Linux.
func datasync(fd int) error { return unix.Fsync(fd) }
