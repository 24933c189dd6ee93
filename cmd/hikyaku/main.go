package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sort"
	"strings"

	"github.com/hikyaku/hikyaku/internal/config"
)

// exit statuses (docs/spec.md §1).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// command is one sub-command.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands []command

func init() {
	commands = []command{
		{"serve", "run the SMTP receiver and the delivery queue", runServe},
		{"send", "deliver one message now to the recipients' mail hosts", runSend},
		{"explain", "explain reply codes, enhanced status codes and result codes", runExplain},
		{"user", "manage local users: add, del, list, passwd", runUser},
		{"alias", "manage aliases and lists: add, del, list", runAlias},
		{"queue", "the relay queue: list, show, hold, release, retry, delete", runQueue},
		{"campaign", "bulk campaigns: run, worker, status, report, list, export, rules", runCampaign},
		{"bounce", "bounce mails: parse FILE… prints what they say, import FILE… records them", runBounce},
		{"dkim", "DKIM keys: keygen DOMAIN prints the DNS record to publish", runDKIM},
		{"config", "print the documented configuration keys and their defaults", runConfig},
	}
}

// usageError makes main exit 2.
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

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(args[1:], stdout, stderr)
		return report(err, stderr)
	}
	fmt.Fprintf(stderr, "hikyaku: unknown command %q\n", args[0])
	printUsage(stderr)
	return exitUsage
}

// report prints an error the way docs/spec.md §1 asks: a system error with its
// code first, and chooses the exit status.
func report(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "hikyaku: %s\n", ue.msg)
		return exitUsage
	}
	fmt.Fprintf(stderr, "hikyaku: %s\n", err)
	return exitFailure
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: hikyaku COMMAND [options] [args]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery command takes --config FILE (or $HIKYAKU_CONFIG); `hikyaku COMMAND --help` for its options.")
}

// newFlags builds a flag set that reports errors instead of exiting.
func newFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("hikyaku "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: hikyaku %s\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses and turns a flag error into a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}

// configFlag adds --config to a flag set.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "", "configuration file (default $HIKYAKU_CONFIG, else embedded defaults)")
}

func loadConfig(path string) (*config.Config, error) {
	return config.LoadEnv(path)
}

// subcommand dispatches "user add", "queue list" and the like.
func subcommand(group string, args []string, subs map[string]func([]string) error, stderr io.Writer) error {
	names := make([]string, 0, len(subs))
	for n := range subs {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 0 {
		return usagef("usage: hikyaku %s %s [options]", group, strings.Join(names, "|"))
	}
	f, ok := subs[args[0]]
	if !ok {
		return usagef("unknown %s command %q (want %s)", group, args[0], strings.Join(names, ", "))
	}
	return f(args[1:])
}
