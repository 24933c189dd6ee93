package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

// exit statuses (docs/spec.md §1).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError makes main exit 2 and print the command's usage.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func main() {
	os.Exit(profiled(func() int { return run(os.Args[1:], os.Stdout, os.Stderr) }))
}

// profiled runs fn under a CPU profile written to $HIKYAKU_CPUPROFILE, when
// set: how the benchmarks find where a command's time goes
// (go tool pprof -top FILE).
func profiled(fn func() int) int {
	path := os.Getenv("HIKYAKU_CPUPROFILE")
	if path == "" {
		return fn()
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "hikyaku: HIKYAKU_CPUPROFILE: %v\n", err)
		return fn()
	}
	defer f.Close()
	defer pprof.StopCPUProfile()
	return fn()
}

// run runs one command line and gives the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(compatArgs(root, args))
	cmd, err := root.ExecuteC()
	return exitStatus(cmd, err, stderr)
}

// exitStatus prints an error the way docs/spec.md §1 asks and chooses the exit
// status: a usage error with the command's usage, a system error with its
// code first.
func exitStatus(cmd *cobra.Command, err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "hikyaku: %s\n", ue.msg)
		if cmd != nil {
			fmt.Fprint(stderr, "\n"+cmd.UsageString())
		}
		return exitUsage
	}
	fmt.Fprintf(stderr, "hikyaku: %s\n", errorText(err))
	return exitFailure
}
