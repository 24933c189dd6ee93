//go:build !unix

package filter

import "os/exec"

// ownProcessGroup: without process groups the timeout kills the command
// only (exec.CommandContext's default).
func ownProcessGroup(cmd *exec.Cmd) {}
