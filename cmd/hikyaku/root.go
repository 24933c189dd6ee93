package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/hikyaku/hikyaku/internal/config"
)

// cli is one command line's state: where output goes and the --config
// every command takes.
type cli struct {
	stdout, stderr io.Writer
	cfgPath        string
}

// config loads --config, else $HIKYAKU_CONFIG, else the embedded defaults.
func (a *cli) config() (*config.Config, error) { return config.LoadEnv(a.cfgPath) }

// withConfig is a RunE that loads the configuration and calls fn.
func (a *cli) withConfig(fn func(cfg *config.Config, args []string) error) func(*cobra.Command, []string) error {
	return func(_ *cobra.Command, args []string) error {
		cfg, err := a.config()
		if err != nil {
			return err
		}
		return fn(cfg, args)
	}
}

// withSignals is withConfig with a context that SIGINT and SIGTERM end.
func (a *cli) withSignals(fn func(ctx context.Context, cfg *config.Config, args []string) error) func(*cobra.Command, []string) error {
	return a.withConfig(func(cfg *config.Config, args []string) error {
		ctx, cancel := interruptible()
		defer cancel()
		return fn(ctx, cfg, args)
	})
}

// interruptible is a context that SIGINT and SIGTERM end: a campaign
// stops cleanly, handing its claims back.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// newRoot builds the whole command tree; a new one per run, so that flag
// values never leak from one run to the next (the tests run many).
func newRoot(stdout, stderr io.Writer) *cobra.Command {
	a := &cli{stdout: stdout, stderr: stderr}
	root := group(&cobra.Command{
		Use:   "hikyaku",
		Short: "the mail transfer system: SMTP receiver, delivery queue, campaigns",
		Long: "hikyaku is a mail transfer system: the SMTP receiver, the delivery queue, bulk\n" +
			"campaigns with per-recipient result codes, and the commands that run them.\n\n" +
			"Every command takes --config FILE (or $HIKYAKU_CONFIG; without either, the\n" +
			"embedded defaults). `hikyaku COMMAND --help` shows a command's options.",
	})
	root.PersistentFlags().StringVar(&a.cfgPath, "config", "", "configuration `FILE` (default $HIKYAKU_CONFIG, else embedded defaults)")
	root.SetOut(stdout)
	root.SetErr(stderr)
	// Errors are printed once, by report, with the usage only for usage
	// errors.
	root.SilenceErrors, root.SilenceUsage = true, true
	root.DisableAutoGenTag = true
	// A group's usage names its commands, not a run of its own: it has
	// none (group).
	root.SetUsageTemplate(strings.Replace(root.UsageTemplate(), "{{if .Runnable}}", "{{if not .HasAvailableSubCommands}}", 1))
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err.Error()} })
	root.AddCommand(a.serveCmd(), a.sendCmd(), a.explainCmd(), a.userCmd(), a.aliasCmd(), a.queueCmd(),
		a.campaignCmd(), a.bounceCmd(), a.dkimCmd(), a.configCmd(), versionCmd(), manCmd(root))
	// Made now rather than at Execute, so that the tree the tests walk is
	// the whole tree.
	root.SetHelpCommand(helpCmd())
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	return root
}

// group makes c a command that only holds others: without one, or with an
// unknown one, it is a usage error (exit 2), not cobra's help (exit 0).
func group(c *cobra.Command, subs ...*cobra.Command) *cobra.Command {
	c.Args = cobra.ArbitraryArgs
	c.SuggestionsMinimumDistance = 2
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usagef("%s needs a command", cmd.CommandPath())
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += " (did you mean " + strings.Join(s, ", ") + "?)"
		}
		return usageError{msg}
	}
	c.AddCommand(subs...)
	return c
}

// exactArgs, minArgs and maxArgs check the arguments' count; what they
// report is a usage error with msg.
func exactArgs(n int, msg string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{msg}
		}
		return nil
	}
}

func minArgs(n int, msg string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) < n {
			return usageError{msg}
		}
		return nil
	}
}

func maxArgs(n int, msg string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) > n {
			return usageError{msg}
		}
		return nil
	}
}

// negativeMark keeps an argument such as -500 (a result code) from being
// read as flags; explain takes it off again.
const negativeMark = "\x00"

var (
	negativeNumber = regexp.MustCompile(`^-[0-9]+$`)
	singleDashLong = regexp.MustCompile(`^-([a-zA-Z][a-zA-Z0-9-]+)(=.*)?$`)
)

// compatArgs rewrites what the standard flag package read and pflag would
// not: -name and -name=value for a long flag (scripts written for the
// command line before cobra), and, for explain, negative result codes as
// arguments (`hikyaku explain -500 250`). Nothing after "--" changes.
func compatArgs(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		return args
	}
	out := make([]string, len(args))
	copy(out, args)
	for i, s := range out {
		if s == "--" {
			break
		}
		if cmd.Name() == "explain" && negativeNumber.MatchString(s) {
			out[i] = negativeMark + s
			continue
		}
		if m := singleDashLong.FindStringSubmatch(s); m != nil {
			name := m[1]
			if name == "help" || cmd.Flags().Lookup(name) != nil || cmd.InheritedFlags().Lookup(name) != nil {
				out[i] = "-" + s
			}
		}
	}
	return out
}

// helpCmd is `hikyaku help [COMMAND…]`: cobra's, save that an unknown
// topic is a usage error (exit 2) rather than the root's usage and 0.
func helpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return usagef("unknown help topic %q", strings.Join(args, " "))
			}
			return cmd.Help()
		},
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			cmd, _, err := c.Root().Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []string
			for _, s := range cmd.Commands() {
				if s.IsAvailableCommand() && strings.HasPrefix(s.Name(), toComplete) {
					out = append(out, s.Name()+"\t"+s.Short)
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
	}
}
