//go:build !unix

package main

import "os"

// readInto reads the file at path (buf is not reused here).
func readInto(path string, buf []byte) ([]byte, error) { return os.ReadFile(path) }
