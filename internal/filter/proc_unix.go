//go:build unix

package filter

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup puts the command in a new process group and makes the
// timeout kill the whole group, so a shell script's children die with it.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
