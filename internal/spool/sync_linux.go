package spool

import "golang.org/x/sys/unix"

// datasync flushes a segment's data and the metadata needed to read it back
// (its size), skipping timestamps.
func datasync(fd int) error { return unix.Fdatasync(fd) }
