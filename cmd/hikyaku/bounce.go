package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/hikyaku/hikyaku/internal/bouncefile"
	"github.com/hikyaku/hikyaku/internal/config"
)

func (a *cli) bounceCmd() *cobra.Command {
	var asJSON bool
	parse := &cobra.Command{
		Use:   "parse [--json] FILE…|-",
		Short: "print what saved bounce mails say, one line per recipient",
		Long:  "parse reads messages, mbox files, Maildir or other folders (- is standard input)\nand prints, per recipient: file, recipient, result code, status, reason, blame,\ncommand and reply. Nothing is recorded.",
		Args:  minArgs(1, "bounce parse needs at least one FILE, folder or - (stdin)"),
		RunE: a.withConfig(func(cfg *config.Config, args []string) error {
			return bouncefile.Parse(cfg, args, asJSON, a.stdout, a.stderr)
		}),
	}
	parse.Flags().BoolVar(&asJSON, "json", false, "one JSON object per recipient: the reader's result and the file")
	imp := &cobra.Command{
		Use:   "import FILE…|-",
		Short: "record saved bounce mails against their campaign rows",
		Long:  "import reads saved bounce mails (messages, mbox files, Maildir or other folders)\nand records each recipient against its campaign row, as serve's intake does.\nImporting the same mails again records nothing new.",
		Args:  minArgs(1, "bounce import needs at least one FILE, folder or - (stdin)"),
		RunE: a.withSignals(func(ctx context.Context, cfg *config.Config, args []string) error {
			return bouncefile.Import(ctx, cfg, args, a.stdout, a.stderr)
		}),
	}
	return group(&cobra.Command{Use: "bounce", Short: "bounce mails: parse FILE… prints what they say, import FILE… records them"}, parse, imp)
}
